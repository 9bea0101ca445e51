package sseviewotel_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
	"github.com/sseview/sseview/sseviewotel"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// wait bounds every wait for a signal.
const wait = 5 * time.Second

const route = "/rooms/{room}"

// metrics is a Metrics on the real SDK, read with a manual reader.
type metrics struct {
	*sseviewotel.Metrics
	reader *sdkmetric.ManualReader
}

func newMetrics(t *testing.T) metrics {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	m, err := sseviewotel.New(sseviewotel.Config{MeterProvider: provider})
	require.NoError(t, err)
	return metrics{m, reader}
}

// collect returns what the reader collects now, by instrument name.
func (m metrics) collect(t *testing.T) collected {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, m.reader.Collect(t.Context(), &rm))
	got := collected{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, sseviewotel.ScopeName, sm.Scope.Name)
		for _, md := range sm.Metrics {
			got[md.Name] = md
		}
	}
	return got
}

type collected map[string]metricdata.Metrics

// sum returns the value of the sum name has for exactly attrs, and
// whether there is one.
func (c collected) sum(t *testing.T, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	want := attribute.NewSet(attrs...)
	md, ok := c[name]
	if !ok {
		return 0
	}
	s, ok := md.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is a %T", name, md.Data)
	for _, dp := range s.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value
		}
	}
	return 0
}

// histogram returns the data point name has for exactly attrs.
func (c collected) histogram(t *testing.T, name string, attrs ...attribute.KeyValue) metricdata.HistogramDataPoint[float64] {
	t.Helper()
	want := attribute.NewSet(attrs...)
	md, ok := c[name]
	if !ok {
		return metricdata.HistogramDataPoint[float64]{}
	}
	h, ok := md.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "%s is a %T", name, md.Data)
	for _, dp := range h.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp
		}
	}
	return metricdata.HistogramDataPoint[float64]{}
}

var (
	sse       = attribute.String("sseview.transport", "server_sent_events")
	roomRoute = attribute.String("http.route", route)
)

func reason(r string) attribute.KeyValue { return attribute.String("sseview.stream.close_reason", r) }

// signalling passes an Observer's calls on, and tells when streams start,
// write an event and end.
type signalling struct {
	sseview.Observer
	started, written chan struct{}
	ended            chan sseview.CloseReason
}

func signal(o sseview.Observer) *signalling {
	return &signalling{Observer: o, started: make(chan struct{}, 8),
		written: make(chan struct{}, 10_000), ended: make(chan sseview.CloseReason, 8)}
}

func (o *signalling) StreamStarted(r *http.Request) sseview.StreamObserver {
	s := o.Observer.StreamStarted(r)
	o.started <- struct{}{}
	return streamSignals{s, o}
}

type streamSignals struct {
	sseview.StreamObserver
	o *signalling
}

func (s streamSignals) EventWritten(n int) {
	s.StreamObserver.EventWritten(n)
	select {
	case s.o.written <- struct{}{}:
	default: // nobody waits for so many
	}
}

func (s streamSignals) StreamEnded(r sseview.CloseReason) {
	s.StreamObserver.StreamEnded(r)
	s.o.ended <- r
}

// brokerSignals passes a BrokerObserver's calls on, and tells of
// catch-ups and drops.
type brokerSignals struct {
	sseview.BrokerObserver
	caughtUp, dropped chan struct{}
}

func signalBroker(o sseview.BrokerObserver) *brokerSignals {
	return &brokerSignals{BrokerObserver: o, caughtUp: make(chan struct{}, 8), dropped: make(chan struct{}, 8)}
}

func (o *brokerSignals) CaughtUp(ctx context.Context, topic string, events int) {
	o.BrokerObserver.CaughtUp(ctx, topic, events)
	o.caughtUp <- struct{}{}
}

func (o *brokerSignals) Dropped(ctx context.Context, topic string) {
	o.BrokerObserver.Dropped(ctx, topic)
	o.dropped <- struct{}{}
}

func recv(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(wait):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func (o *signalling) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-o.started:
	case <-time.After(wait):
		t.Fatal("timed out waiting for a stream to start")
	}
}

func (o *signalling) waitEnded(t *testing.T) sseview.CloseReason {
	t.Helper()
	select {
	case r := <-o.ended:
		return r
	case <-time.After(wait):
		t.Fatal("timed out waiting for a stream to end")
		return 0
	}
}

// router is a chi router with a service's usual middleware, the request
// logger writing nowhere, serving h on route.
func router(h http.Handler) *chi.Mux {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.ClientIPFromRemoteAddr,
		middleware.RequestLogger(&middleware.DefaultLogFormatter{Logger: log.New(io.Discard, "", 0), NoColor: true}),
		middleware.Recoverer)
	r.Handle(route, h)
	return r
}

// serve serves h behind chi with EndStreamsOnShutdown.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(router(h))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	sseview.EndStreamsOnShutdown(ts.Config, time.Second)
	ts.Start()
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
	})
	return ts
}

type viewFunc func(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error]

func (f viewFunc) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
	return f(ctx, r, p)
}

// yielding yields evs, then err if it is not nil, then waits for ctx when
// hold is set.
func yielding(hold bool, err error, evs ...sseview.Event) viewFunc {
	return func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			for _, ev := range evs {
				if !yield(ev, nil) {
					return
				}
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if hold {
				<-ctx.Done()
			}
		}
	}
}

func dial(t *testing.T, url string) *sseviewtest.Stream {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	s, err := sseviewtest.Dial(nil, req)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// dialRaw sends a stream's request over raw TCP with a small receive
// window, and reads nothing.
func dialRaw(t *testing.T, ts *httptest.Server) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.(*net.TCPConn).SetReadBuffer(4096))
	_, err = fmt.Fprintf(conn, "GET /rooms/lobby HTTP/1.1\r\nHost: test\r\n\r\n")
	require.NoError(t, err)
	return conn
}

var quiet = slog.New(slog.DiscardHandler)

func TestStreamMetricsByCloseReason(t *testing.T) {
	hello := sseview.Text{Data: "hello"} // 13 bytes on the wire
	big := sseview.Text{Data: strings.Repeat("x", 64<<10)}
	bigLen := int64(len(big.Data) + len("data: \n\n"))
	tests := []struct {
		reason string
		h      sseview.Handler
		// drive ends the stream once it started. s is nil for a client
		// that reads nothing.
		drive  func(t *testing.T, ts *httptest.Server, s *sseviewtest.Stream)
		raw    bool
		events int64 // -1: some, of big
	}{{
		reason: "completed",
		h:      sseview.Handler{View: yielding(false, nil, hello, hello)},
		drive: func(t *testing.T, _ *httptest.Server, s *sseviewtest.Stream) {
			s.Expect(t, sseviewtest.Event{Type: "message", Data: "hello"}, sseviewtest.Event{Type: "message", Data: "hello"})
			s.ExpectEnd(t)
		},
		events: 2,
	}, {
		reason: "client_left",
		h:      sseview.Handler{View: yielding(true, nil, hello)},
		drive: func(t *testing.T, _ *httptest.Server, s *sseviewtest.Stream) {
			s.Expect(t, sseviewtest.Event{Type: "message", Data: "hello"})
			require.NoError(t, s.Close())
		},
		events: 1,
	}, {
		reason: "write_timeout",
		h: sseview.Handler{View: viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
			return func(yield func(sseview.Event, error) bool) {
				for range 10_000 { // far more than loopback buffers hold
					if !yield(big, nil) {
						return
					}
				}
			}
		}), WriteTimeout: 100 * time.Millisecond},
		raw:    true,
		events: -1,
	}, {
		reason: "view_error",
		h:      sseview.Handler{View: yielding(false, errors.New("the database is gone"), hello)},
		drive: func(t *testing.T, _ *httptest.Server, s *sseviewtest.Stream) {
			s.Expect(t, sseviewtest.Event{Type: "message", Data: "hello"})
			s.ExpectEnd(t)
		},
		events: 1,
	}, {
		reason: "invalid_event",
		h:      sseview.Handler{View: yielding(true, nil, hello, sseview.Text{ID: "a\nb"})},
		drive: func(t *testing.T, _ *httptest.Server, s *sseviewtest.Stream) {
			s.Expect(t, sseviewtest.Event{Type: "message", Data: "hello"})
			s.ExpectEnd(t)
		},
		events: 1,
	}, {
		reason: "shutdown",
		h:      sseview.Handler{View: yielding(true, nil, hello)},
		drive: func(t *testing.T, ts *httptest.Server, s *sseviewtest.Stream) {
			s.Expect(t, sseviewtest.Event{Type: "message", Data: "hello"})
			ctx, cancel := context.WithTimeout(t.Context(), wait)
			defer cancel()
			require.NoError(t, ts.Config.Shutdown(ctx))
			s.ExpectEnd(t)
		},
		events: 1,
	}, {
		reason: "max_lifetime",
		h:      sseview.Handler{View: yielding(true, nil, hello), MaxLifetime: 100 * time.Millisecond},
		drive: func(t *testing.T, _ *httptest.Server, s *sseviewtest.Stream) {
			s.Expect(t, sseviewtest.Event{Type: "message", Data: "hello"})
			s.ExpectEnd(t)
		},
		events: 1,
	}}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			m := newMetrics(t)
			obs := signal(m)
			h := tt.h
			h.Observer, h.Logger = obs, quiet
			ts := serve(t, &h)
			var s *sseviewtest.Stream
			began := time.Now()
			if tt.raw {
				dialRaw(t, ts)
			} else {
				s = dial(t, ts.URL+"/rooms/lobby")
			}
			obs.waitStarted(t)
			if tt.drive != nil {
				tt.drive(t, ts, s)
			}
			assert.Equal(t, tt.reason, obs.waitEnded(t).String())
			took := time.Since(began)

			got := m.collect(t)
			assert.Equal(t, int64(0), got.sum(t, "sseview.stream.active", sse, roomRoute), "open now")
			d := got.histogram(t, "sseview.stream.duration", sse, roomRoute, reason(tt.reason))
			assert.Equal(t, uint64(1), d.Count, "one stream ended for %s", tt.reason)
			assert.Greater(t, d.Sum, 0.0)
			assert.LessOrEqual(t, d.Sum, took.Seconds())
			if tt.reason == "max_lifetime" {
				assert.GreaterOrEqual(t, d.Sum, 0.09, "90%% of MaxLifetime at least")
			}
			events := got.sum(t, "sseview.stream.events", sse, roomRoute)
			written := got.sum(t, "sseview.stream.written", sse, roomRoute)
			if tt.events >= 0 {
				assert.Equal(t, tt.events, events)
				assert.Equal(t, 13*tt.events, written)
			} else {
				assert.Positive(t, events)
				assert.Equal(t, events*bigLen, written)
			}
			assert.Equal(t, int64(0), got.sum(t, "sseview.stream.keepalives", sse, roomRoute))
		})
	}
}

func TestStreamMetricsOfASlowSubscriber(t *testing.T) {
	// A client that reads more slowly than events are published: its
	// stream's writes block while the broker queues for it, until the
	// queue overflows; the client then reads what was queued.
	m := newMetrics(t)
	obs := signal(m)
	brokerObs := signalBroker(m.Broker("memory"))
	b := &sseview.MemoryBroker{QueueLen: 4, MaxEvents: 8, Observer: brokerObs}
	view := viewFunc(func(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return b.Subscribe(ctx, "room."+chi.URLParam(r, "room"), "")
	})
	ts := serve(t, &sseview.Handler{View: view, Observer: obs, Logger: quiet})
	conn := dialRaw(t, ts)
	obs.waitStarted(t)

	big := sseview.Text{Data: strings.Repeat("x", 64<<10)}
	// The subscription ends with the drop only once its client has read
	// what was queued, so the broker's overflow is seen through the writes
	// of its queue: the client starts reading once the stream's writes have
	// long been blocked. Events published before the subscription joined
	// the topic do not reach it.
	published := 0
	for ; published < 200; published++ { // 13 MB, far more than loopback buffers hold
		_, err := b.Publish(t.Context(), "room.lobby", big)
		require.NoError(t, err)
	}
	go func() { _, _ = io.Copy(io.Discard, conn) }()
	recv(t, brokerObs.dropped, "the subscriber to be dropped")
	assert.Equal(t, sseview.CloseSlowSubscriber, obs.waitEnded(t))

	got := m.collect(t)
	memory := attribute.String("sseview.broker.kind", "memory")
	assert.Equal(t, uint64(1), got.histogram(t, "sseview.stream.duration", sse, roomRoute, reason("slow_subscriber")).Count)
	assert.Equal(t, int64(1), got.sum(t, "sseview.broker.dropped", memory))
	assert.Equal(t, int64(published), got.sum(t, "sseview.broker.published", memory, attribute.Bool("sseview.broker.duplicate", false)))
	events := got.sum(t, "sseview.stream.events", sse, roomRoute)
	assert.Positive(t, events)
	assert.Less(t, events, int64(published), "some events never reached the dropped client")
	lag := got.histogram(t, "sseview.broker.lag", memory)
	assert.Equal(t, uint64(events), lag.Count, "each event written was delivered live")
}

func TestStreamMetricsWhileStreamsAreOpen(t *testing.T) {
	// The counts of an open stream are in every collection, and never go
	// back when it ends.
	m := newMetrics(t)
	obs := signal(m)
	more := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
	view := viewFunc(func(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		room := more[chi.URLParam(r, "room")]
		return func(yield func(sseview.Event, error) bool) {
			for {
				select {
				case <-ctx.Done():
					return
				case <-room:
				}
				if !yield(sseview.Text{Data: "hello"}, nil) {
					return
				}
			}
		}
	})
	ts := serve(t, &sseview.Handler{View: view, Observer: obs, Logger: quiet})
	first, second := dial(t, ts.URL+"/rooms/a"), dial(t, ts.URL+"/rooms/b")
	obs.waitStarted(t)
	obs.waitStarted(t)
	for i := range 3 {
		room, s := "a", first
		if i%2 == 1 {
			room, s = "b", second
		}
		more[room] <- struct{}{}
		_, err := s.Next()
		require.NoError(t, err)
		recv(t, obs.written, "the event to be counted")
	}
	got := m.collect(t)
	assert.Equal(t, int64(2), got.sum(t, "sseview.stream.active", sse, roomRoute))
	assert.Equal(t, int64(3), got.sum(t, "sseview.stream.events", sse, roomRoute), "two open streams, three events")
	assert.Equal(t, int64(3*13), got.sum(t, "sseview.stream.written", sse, roomRoute))

	require.NoError(t, first.Close())
	assert.Equal(t, sseview.CloseClientLeft, obs.waitEnded(t))
	got = m.collect(t)
	assert.Equal(t, int64(1), got.sum(t, "sseview.stream.active", sse, roomRoute))
	assert.Equal(t, int64(3), got.sum(t, "sseview.stream.events", sse, roomRoute), "one ended, one open")
	assert.Equal(t, int64(3*13), got.sum(t, "sseview.stream.written", sse, roomRoute))
}

func TestStreamMetricsCountKeepAlives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMetrics(t)
		obs := signal(m)
		h := &sseview.Handler{View: yielding(true, nil), Observer: obs}
		s, err := sseviewtest.Open(router(h), httptest.NewRequest(http.MethodGet, "/rooms/lobby", nil))
		require.NoError(t, err)
		defer s.Close()
		s.Comments, s.Timeout = true, time.Minute
		for range 3 {
			s.Expect(t, sseviewtest.Event{Comment: ": keep-alive"})
		}
		synctest.Wait() // for the keep-alive's goroutine to count it
		got := m.collect(t)
		assert.Equal(t, int64(3), got.sum(t, "sseview.stream.keepalives", sse, roomRoute))
		assert.Equal(t, int64(3*len(": keep-alive\n\n")), got.sum(t, "sseview.stream.written", sse, roomRoute))
		assert.Equal(t, int64(0), got.sum(t, "sseview.stream.events", sse, roomRoute))
		require.NoError(t, s.Close())
		assert.Equal(t, sseview.CloseClientLeft, obs.waitEnded(t))
		d := m.collect(t).histogram(t, "sseview.stream.duration", sse, roomRoute, reason("client_left"))
		assert.Equal(t, uint64(1), d.Count)
		assert.Equal(t, 45.0, d.Sum, "three keep-alives 15 s apart, on the bubble's clock")
	})
}

func TestStreamMetricsWithoutARoute(t *testing.T) {
	// A Handler used as it is, with no router: no http.route attribute.
	m := newMetrics(t)
	obs := signal(m)
	s, err := sseviewtest.Open(&sseview.Handler{View: yielding(false, nil, sseview.Text{Data: "hello"}), Observer: obs},
		httptest.NewRequest(http.MethodGet, "/anything/42", nil))
	require.NoError(t, err)
	defer s.Close()
	s.Expect(t, sseviewtest.Event{Type: "message", Data: "hello"})
	s.ExpectEnd(t)
	assert.Equal(t, sseview.CloseCompleted, obs.waitEnded(t))
	got := m.collect(t)
	assert.Equal(t, int64(1), got.sum(t, "sseview.stream.events", sse))
	assert.Equal(t, uint64(1), got.histogram(t, "sseview.stream.duration", sse, reason("completed")).Count)
}

func TestServeMuxRoutePattern(t *testing.T) {
	m := newMetrics(t)
	obs := signal(m)
	mux := http.NewServeMux()
	mux.Handle("GET /rooms/{room}", &sseview.Handler{View: yielding(false, nil, sseview.Text{Data: "hello"}), Observer: obs})
	s, err := sseviewtest.Open(mux, httptest.NewRequest(http.MethodGet, "/rooms/lobby", nil))
	require.NoError(t, err)
	defer s.Close()
	s.Expect(t, sseviewtest.Event{Type: "message", Data: "hello"})
	s.ExpectEnd(t)
	obs.waitEnded(t)
	assert.Equal(t, int64(1), m.collect(t).sum(t, "sseview.stream.events", sse, attribute.String("http.route", "GET /rooms/{room}")))
}

func TestBrokerMetrics(t *testing.T) {
	ctx := t.Context()
	m := newMetrics(t)
	brokerObs := signalBroker(m.Broker("memory"))
	b := &sseview.MemoryBroker{Observer: brokerObs}
	memory := attribute.String("sseview.broker.kind", "memory")
	publish := func(e sseview.Event) string {
		t.Helper()
		id, err := b.Publish(ctx, "room.1", e)
		require.NoError(t, err)
		return id
	}
	first := publish(sseview.Keyed{Key: "k1", Event: sseview.Text{Data: "1"}})
	publish(sseview.Keyed{Key: "k1", Event: sseview.Text{Data: "1"}})
	publish(sseview.Text{Data: "2"})
	publish(sseview.Text{Data: "3"})

	// A resume from first replays 2 and 3, then takes 4 live.
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	got, done := make(chan string, 3), make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range b.Subscribe(subCtx, "room.1", first) {
			if !assert.NoError(t, err) {
				return
			}
			text, _ := ev.MarshalEvent()
			got <- text.Data
		}
	}()
	for _, want := range []string{"2", "3"} {
		select {
		case data := <-got:
			assert.Equal(t, want, data)
		case <-time.After(wait):
			t.Fatal("timed out waiting for the replay")
		}
	}
	recv(t, brokerObs.caughtUp, "the catch-up to end")
	before := time.Now()
	publish(sseview.Text{Data: "4"})
	select {
	case data := <-got:
		assert.Equal(t, "4", data)
	case <-time.After(wait):
		t.Fatal("timed out waiting for the live event")
	}
	cancel()
	<-done
	took := time.Since(before)

	// An unknown id resets.
	for ev := range b.Subscribe(ctx, "room.1", "unknown-1") {
		text, _ := ev.MarshalEvent()
		assert.Equal(t, sseview.ResetEventType, text.Type)
		break
	}

	c := m.collect(t)
	assert.Equal(t, int64(4), c.sum(t, "sseview.broker.published", memory, attribute.Bool("sseview.broker.duplicate", false)))
	assert.Equal(t, int64(1), c.sum(t, "sseview.broker.published", memory, attribute.Bool("sseview.broker.duplicate", true)))
	assert.Equal(t, int64(1), c.sum(t, "sseview.broker.catchups", memory))
	assert.Equal(t, int64(2), c.sum(t, "sseview.broker.replayed", memory))
	assert.Equal(t, int64(1), c.sum(t, "sseview.broker.resets", memory))
	assert.Equal(t, int64(0), c.sum(t, "sseview.broker.dropped", memory))
	lag := c.histogram(t, "sseview.broker.lag", memory)
	assert.Equal(t, uint64(1), lag.Count, "only the live event has a lag")
	assert.GreaterOrEqual(t, lag.Sum, 0.0)
	assert.LessOrEqual(t, lag.Sum, took.Seconds())
}

func TestSpanEvents(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	// What an HTTP tracing middleware such as otelhttp does.
	traced := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, span := tp.Tracer("test").Start(r.Context(), "GET "+route)
			defer span.End()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
	m := newMetrics(t)
	obs := signal(m)
	h := &sseview.Handler{View: yielding(false, errors.New("boom"), sseview.Text{Data: "hello"}), Observer: obs, Logger: quiet}
	s, err := sseviewtest.Open(router(traced(h)), httptest.NewRequest(http.MethodGet, "/rooms/lobby", nil))
	require.NoError(t, err)
	defer s.Close()
	s.Expect(t, sseviewtest.Event{Type: "message", Data: "hello"})
	s.ExpectEnd(t)
	assert.Equal(t, sseview.CloseViewError, obs.waitEnded(t))
	require.NoError(t, s.Close())

	ended := spans.Ended()
	require.Len(t, ended, 1, "one span, the request's: none of its own")
	events := ended[0].Events()
	require.Len(t, events, 2)
	assert.Equal(t, "sseview.stream.start", events[0].Name)
	assert.Equal(t, "sseview.stream.end", events[1].Name)
	assert.ElementsMatch(t, []attribute.KeyValue{
		reason("view_error"),
		attribute.Int64("sseview.stream.events", 1),
		attribute.Int64("sseview.stream.written", 13),
	}, events[1].Attributes)
}

func TestCountsOfHugeStreams(t *testing.T) {
	// A stream's counts fold into wider ones long before they overflow.
	m := newMetrics(t)
	s := m.StreamStarted(httptest.NewRequest(http.MethodGet, "/", nil))
	const events, size = 10, 1 << 38 // 2.5 TiB in all
	for range events {
		s.EventWritten(size)
	}
	s.KeepAliveWritten(15)
	for _, when := range []string{"open", "ended"} {
		got := m.collect(t)
		assert.Equal(t, int64(events), got.sum(t, "sseview.stream.events", sse), when)
		assert.Equal(t, int64(events*size+15), got.sum(t, "sseview.stream.written", sse), when)
		assert.Equal(t, int64(1), got.sum(t, "sseview.stream.keepalives", sse), when)
		s.StreamEnded(sseview.CloseCompleted)
	}
}
