package sseviewotel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/sseview/sseview/sseview"
)

// ScopeName is the instrumentation scope of the meter the instruments
// belong to.
const ScopeName = "github.com/sseview/sseview/sseviewotel"

// The attributes the instruments record.
const (
	routeKey       = attribute.Key("http.route")
	transportKey   = attribute.Key("sseview.transport")
	closeReasonKey = attribute.Key("sseview.stream.close_reason")
	brokerKindKey  = attribute.Key("sseview.broker.kind")
	duplicateKey   = attribute.Key("sseview.broker.duplicate")
)

// transport is the value of sseview.transport, as SignalR's conventions
// name the transport.
var transport = transportKey.String("server_sent_events")

var (
	durationBuckets = []float64{0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 43200, 86400}
	lagBuckets      = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
)

// closeReasons are the reasons a stream ends, for a route's attribute sets.
var closeReasons = []sseview.CloseReason{
	sseview.CloseCompleted, sseview.CloseClientLeft, sseview.CloseWriteTimeout, sseview.CloseSlowSubscriber,
	sseview.CloseInvalidEvent, sseview.CloseViewError, sseview.CloseShutdown, sseview.CloseMaxLifetime,
}

// Config configures [New]. Its zero value records on the global
// MeterProvider.
type Config struct {
	// MeterProvider makes the meter of the instruments. Nil means
	// otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
}

// Metrics records the metrics of streams and brokers (see the package
// doc). It is an [sseview.Observer]: set it as a Handler's Observer; its
// Broker method gives the observer of a broker. It is safe for concurrent
// use, and one Metrics serves every Handler and broker of a program.
type Metrics struct {
	active    metric.Int64UpDownCounter
	duration  metric.Float64Histogram
	lag       metric.Float64Histogram
	events    metric.Int64ObservableCounter
	written   metric.Int64ObservableCounter
	keepAlive metric.Int64ObservableCounter
	published metric.Int64ObservableCounter
	resets    metric.Int64ObservableCounter
	catchups  metric.Int64ObservableCounter
	replayed  metric.Int64ObservableCounter
	dropped   metric.Int64ObservableCounter

	routes  sync.Map // route pattern → *route
	brokers sync.Map // kind → *broker

	// mu guards live and each route's counts of ended streams, so that a
	// collection sees a stream that ends either open or ended, never both
	// or neither.
	mu   sync.Mutex
	live map[*stream]struct{}
}

var _ sseview.Observer = (*Metrics)(nil)

// New makes the instruments on cfg's meter provider.
func New(cfg Config) (*Metrics, error) {
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(ScopeName)
	m := &Metrics{live: make(map[*stream]struct{})}
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	m.active, err = meter.Int64UpDownCounter("sseview.stream.active", metric.WithUnit("{stream}"),
		metric.WithDescription("Event streams open now."))
	check(err)
	m.duration, err = meter.Float64Histogram("sseview.stream.duration", metric.WithUnit("s"),
		metric.WithDescription("How long event streams lasted, by why they ended."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	check(err)
	m.events, err = meter.Int64ObservableCounter("sseview.stream.events", metric.WithUnit("{event}"),
		metric.WithDescription("Events written to event streams."))
	check(err)
	m.keepAlive, err = meter.Int64ObservableCounter("sseview.stream.keepalives", metric.WithUnit("{comment}"),
		metric.WithDescription("Keep-alive comments written to event streams."))
	check(err)
	m.written, err = meter.Int64ObservableCounter("sseview.stream.written", metric.WithUnit("By"),
		metric.WithDescription("Bytes of events and keep-alives written to event streams."))
	check(err)
	m.published, err = meter.Int64ObservableCounter("sseview.broker.published", metric.WithUnit("{event}"),
		metric.WithDescription("Events published to a broker."))
	check(err)
	m.lag, err = meter.Float64Histogram("sseview.broker.lag", metric.WithUnit("s"),
		metric.WithDescription("Time from an event's publish to its delivery to a live subscriber."),
		metric.WithExplicitBucketBoundaries(lagBuckets...))
	check(err)
	m.resets, err = meter.Int64ObservableCounter("sseview.broker.resets", metric.WithUnit("{subscription}"),
		metric.WithDescription("Subscriptions that started with a reset event."))
	check(err)
	m.catchups, err = meter.Int64ObservableCounter("sseview.broker.catchups", metric.WithUnit("{subscription}"),
		metric.WithDescription("Subscriptions that resumed from a Last-Event-ID and caught up."))
	check(err)
	m.replayed, err = meter.Int64ObservableCounter("sseview.broker.replayed", metric.WithUnit("{event}"),
		metric.WithDescription("Events replayed to subscriptions catching up."))
	check(err)
	m.dropped, err = meter.Int64ObservableCounter("sseview.broker.dropped", metric.WithUnit("{subscription}"),
		metric.WithDescription("Subscribers dropped for falling behind."))
	check(err)
	if len(errs) > 0 {
		return nil, fmt.Errorf("sseviewotel: %w", errors.Join(errs...))
	}
	if _, err := meter.RegisterCallback(m.observe, m.events, m.keepAlive, m.written,
		m.published, m.resets, m.catchups, m.replayed, m.dropped); err != nil {
		return nil, fmt.Errorf("sseviewotel: %w", err)
	}
	return m, nil
}

// route is the attributes of one route pattern, made once, and the counts
// of its streams that ended.
type route struct {
	set   metric.MeasurementOption
	add   []metric.AddOption      // set, ready to pass on: no slice per call
	ended [][]metric.RecordOption // set and each close reason, by reason

	// guarded by Metrics.mu
	events, written, keepAlives int64
}

func (m *Metrics) route(pattern string) *route {
	if rt, ok := m.routes.Load(pattern); ok {
		return rt.(*route)
	}
	base := []attribute.KeyValue{transport}
	if pattern != "" {
		base = append(base, routeKey.String(pattern))
	}
	set := metric.WithAttributeSet(attribute.NewSet(base...))
	rt := &route{set: set, add: []metric.AddOption{set}, ended: make([][]metric.RecordOption, len(closeReasons))}
	for _, reason := range closeReasons {
		kv := append(base[:len(base):len(base)], closeReasonKey.String(reason.String()))
		rt.ended[reason] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
	}
	actual, _ := m.routes.LoadOrStore(pattern, rt)
	return actual.(*route)
}

// routePattern is the pattern of the route that matched r: chi's, or
// net/http's ServeMux's; "" when there is none.
func routePattern(r *http.Request) string {
	if rctx := chi.RouteContext(r.Context()); rctx != nil {
		if p := rctx.RoutePattern(); p != "" {
			return p
		}
	}
	return r.Pattern
}

// StreamStarted implements [sseview.Observer].
func (m *Metrics) StreamStarted(r *http.Request) sseview.StreamObserver {
	s := &stream{m: m, ctx: r.Context(), route: m.route(routePattern(r)), start: time.Now()}
	if span := trace.SpanFromContext(s.ctx); span.IsRecording() {
		s.span = span
		span.AddEvent("sseview.stream.start")
	}
	m.mu.Lock()
	m.live[s] = struct{}{}
	m.mu.Unlock()
	m.active.Add(s.ctx, 1, s.route.add...)
	return s
}

// stream is the observer of one stream. Its counts are atomic because a
// collection reads them while the stream writes.
type stream struct {
	m     *Metrics
	ctx   context.Context // the request's
	route *route
	start time.Time
	span  trace.Span // the request's, if recording, or nil

	// counts packs the events written (the top 24 bits) and the bytes (the
	// low 40) since the last fold, so that an event costs one atomic add,
	// some 2 ns, where two cost 5 to 7 (BenchmarkStream writes an event in
	// about 80 ns). It is folded into events and written, under Metrics.mu,
	// long before either part could overflow into the other.
	counts          atomic.Uint64
	events, written int64 // folded counts; guarded by Metrics.mu
	keepAlives      atomic.Int64
}

const (
	eventShift = 40
	bytesMask  = 1<<eventShift - 1
	// A fold is due when either part of counts reaches half its range: an
	// add of less than 2^39 bytes (512 GiB) cannot carry over then.
	foldEvents = 1 << 63
	foldBytes  = 1 << (eventShift - 1)
)

func (s *stream) EventWritten(bytes int) {
	if v := s.counts.Add(1<<eventShift | uint64(bytes)); v >= foldEvents || v&bytesMask >= foldBytes {
		s.fold()
	}
}

func (s *stream) KeepAliveWritten(bytes int) {
	s.keepAlives.Add(1)
	if v := s.counts.Add(uint64(bytes)); v&bytesMask >= foldBytes {
		s.fold()
	}
}

// fold moves counts into events and written.
func (s *stream) fold() {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.foldLocked()
}

func (s *stream) foldLocked() {
	v := s.counts.Swap(0)
	s.events += int64(v >> eventShift)
	s.written += int64(v & bytesMask)
}

// totals returns the stream's counts so far; Metrics.mu must be held.
func (s *stream) totals() (events, written int64) {
	v := s.counts.Load()
	return s.events + int64(v>>eventShift), s.written + int64(v&bytesMask)
}

func (s *stream) StreamEnded(reason sseview.CloseReason) {
	m := s.m
	m.mu.Lock()
	delete(m.live, s)
	s.foldLocked()
	s.route.events += s.events
	s.route.written += s.written
	s.route.keepAlives += s.keepAlives.Load()
	m.mu.Unlock()
	m.active.Add(s.ctx, -1, s.route.add...)
	ended := []metric.RecordOption{s.route.set}
	if int(reason) < len(s.route.ended) {
		ended = s.route.ended[reason]
	}
	m.duration.Record(s.ctx, time.Since(s.start).Seconds(), ended...)
	if s.span != nil {
		s.span.AddEvent("sseview.stream.end", trace.WithAttributes(
			closeReasonKey.String(reason.String()),
			attribute.Int64("sseview.stream.events", s.events),
			attribute.Int64("sseview.stream.written", s.written),
		))
	}
}

// observe reports the counts of every route's streams, open and ended.
func (m *Metrics) observe(_ context.Context, o metric.Observer) error {
	type counts struct{ events, written, keepAlives int64 }
	m.mu.Lock()
	sums := make(map[*route]counts)
	m.routes.Range(func(_, v any) bool {
		rt := v.(*route)
		sums[rt] = counts{rt.events, rt.written, rt.keepAlives}
		return true
	})
	for s := range m.live {
		c := sums[s.route]
		events, written := s.totals()
		c.events += events
		c.written += written
		c.keepAlives += s.keepAlives.Load()
		sums[s.route] = c
	}
	m.mu.Unlock()
	for rt, c := range sums {
		o.ObserveInt64(m.events, c.events, rt.set)
		o.ObserveInt64(m.written, c.written, rt.set)
		o.ObserveInt64(m.keepAlive, c.keepAlives, rt.set)
	}
	m.brokers.Range(func(_, v any) bool {
		b := v.(*broker)
		o.ObserveInt64(m.published, b.published[0].Load(), b.publishedSets[0])
		o.ObserveInt64(m.published, b.published[1].Load(), b.publishedSets[1])
		o.ObserveInt64(m.resets, b.resets.Load(), b.set)
		o.ObserveInt64(m.catchups, b.catchups.Load(), b.set)
		o.ObserveInt64(m.replayed, b.replayed.Load(), b.set)
		o.ObserveInt64(m.dropped, b.dropped.Load(), b.set)
		return true
	})
	return nil
}

// Broker returns the observer of the brokers of the given kind, the value
// of the sseview.broker.kind attribute: "memory", "nats" or "redis" for the
// brokers of sseview, or a name of your own for another. Brokers of one
// kind share its observer and its counts.
func (m *Metrics) Broker(kind string) sseview.BrokerObserver {
	if b, ok := m.brokers.Load(kind); ok {
		return b.(*broker)
	}
	kindAttr := brokerKindKey.String(kind)
	set := metric.WithAttributeSet(attribute.NewSet(kindAttr))
	b := &broker{
		m:      m,
		set:    set,
		record: []metric.RecordOption{set},
		publishedSets: [2]metric.ObserveOption{
			metric.WithAttributeSet(attribute.NewSet(kindAttr, duplicateKey.Bool(false))),
			metric.WithAttributeSet(attribute.NewSet(kindAttr, duplicateKey.Bool(true))),
		},
	}
	actual, _ := m.brokers.LoadOrStore(kind, b)
	return actual.(*broker)
}

// broker is the observer of the brokers of one kind. Its counts are summed
// at collection, like a stream's: the lag alone is recorded as it comes.
type broker struct {
	m             *Metrics
	set           metric.MeasurementOption
	record        []metric.RecordOption   // set, ready to pass on: no slice per call
	publishedSets [2]metric.ObserveOption // not a duplicate, a duplicate

	published                           [2]atomic.Int64 // not a duplicate, a duplicate
	resets, catchups, replayed, dropped atomic.Int64
}

func (b *broker) Published(_ context.Context, _ string, duplicate bool) {
	i := 0
	if duplicate {
		i = 1
	}
	b.published[i].Add(1)
}

func (b *broker) Delivered(ctx context.Context, _ string, published time.Time) {
	// Enabled spares the clock when a View drops the lag.
	if b.m.lag.Enabled(ctx) {
		b.m.lag.Record(ctx, max(time.Since(published).Seconds(), 0), b.record...)
	}
}

func (b *broker) Reset(context.Context, string) { b.resets.Add(1) }

func (b *broker) CaughtUp(_ context.Context, _ string, events int) {
	b.catchups.Add(1)
	b.replayed.Add(int64(events))
}

func (b *broker) Dropped(context.Context, string) { b.dropped.Add(1) }
