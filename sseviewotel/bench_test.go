package sseviewotel_test

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseviewotel"
)

// discard is a ResponseWriter that keeps nothing and flushes for free, so
// that the benchmarks measure the Handler and its observer alone, without
// net/http and the kernel: the setting in which an observer's cost per
// event shows the most.
type discard struct {
	h      http.Header
	writes int
}

func (d *discard) Header() http.Header { return d.h }

func (d *discard) Write(b []byte) (int, error) {
	d.writes++
	return len(b), nil
}

func (d *discard) WriteHeader(int) {}

func (d *discard) Flush() {}

// countView yields ?n= events of ?size= bytes, reusing one *Text, as a hot
// view does (see sseview.Event).
type countView struct{}

func (countView) Stream(_ context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	n, _ := strconv.Atoi(r.URL.Query().Get("n"))
	size, _ := strconv.Atoi(r.URL.Query().Get("size"))
	return func(yield func(sseview.Event, error) bool) {
		ev := &sseview.Text{Data: strings.Repeat("x", size)}
		for range n {
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// otelObserver returns Metrics on the real SDK, read by a manual reader
// that nobody collects from: the cost of recording alone. Views, if any,
// change what is recorded.
func otelObserver(b *testing.B, views ...sdkmetric.View) *sseviewotel.Metrics {
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()), sdkmetric.WithView(views...))
	b.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	m, err := sseviewotel.New(sseviewotel.Config{MeterProvider: provider})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkStream is one per-request stream of b.N events written to a
// writer that costs nothing, without an observer and with the OpenTelemetry
// one: the CPU per event the observer adds. Besides the time per event it
// reports the process's CPU time per event (cpu-ns/op), which what else
// the machine runs disturbs less. Compare runs with benchstat.
func BenchmarkStream(b *testing.B) {
	for _, size := range []int{64, 1024} {
		for _, observer := range []string{"none", "otel"} {
			b.Run(fmt.Sprintf("%dB/%s", size, observer), func(b *testing.B) {
				h := &sseview.Handler{View: countView{}}
				if observer == "otel" {
					h.Observer = otelObserver(b)
				}
				r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/?n=%d&size=%d", b.N, size), nil)
				w := &discard{h: http.Header{}}
				b.ReportAllocs()
				b.ResetTimer()
				cpu := cpuTime()
				h.ServeHTTP(w, r)
				reportCPU(b, cpuTime()-cpu)
				if w.writes < b.N {
					b.Fatalf("%d writes for %d events", w.writes, b.N)
				}
			})
		}
	}
}

// brokerView streams the topic "bench" of a broker, and tells when its
// subscription is live (see sseview.BrokerObserver.CaughtUp).
type brokerView struct{ b sseview.Broker }

func (v brokerView) Stream(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	return v.b.Subscribe(ctx, "bench", r.URL.Query().Get("from"))
}

// liveSignal passes a BrokerObserver's calls on (to none when it is nil),
// closes live at the first catch-up, and all once want events were
// delivered.
type liveSignal struct {
	sseview.BrokerObserver
	live, all chan struct{}
	want      int64
	delivered *atomic.Int64
}

func (o liveSignal) Published(ctx context.Context, topic string, duplicate bool) {
	if o.BrokerObserver != nil {
		o.BrokerObserver.Published(ctx, topic, duplicate)
	}
}

func (o liveSignal) Delivered(ctx context.Context, topic string, published time.Time) {
	if o.BrokerObserver != nil {
		o.BrokerObserver.Delivered(ctx, topic, published)
	}
	if o.delivered.Add(1) == o.want {
		close(o.all)
	}
}

func (o liveSignal) CaughtUp(context.Context, string, int) { close(o.live) }

// BenchmarkBrokerStream is a MemoryBroker subscription's stream of b.N
// live events, published one by one as the stream writes them to a writer
// that costs nothing: the broker's share of the observer's cost (the
// publish-to-delivery lag is recorded per event and subscriber) beside the
// Handler's. otel-nolag drops the lag with a View, as a program can.
func BenchmarkBrokerStream(b *testing.B) {
	dropLag := sdkmetric.NewView(sdkmetric.Instrument{Name: "sseview.broker.lag"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationDrop{}})
	for _, observer := range []string{"none", "otel", "otel-nolag"} {
		b.Run(observer, func(b *testing.B) {
			signals := liveSignal{live: make(chan struct{}), all: make(chan struct{}),
				want: int64(b.N), delivered: new(atomic.Int64)}
			h := &sseview.Handler{}
			if observer != "none" {
				var views []sdkmetric.View
				if observer == "otel-nolag" {
					views = append(views, dropLag)
				}
				m := otelObserver(b, views...)
				signals.BrokerObserver, h.Observer = m.Broker("memory"), m
			}
			broker := &sseview.MemoryBroker{QueueLen: -1, Observer: signals}
			from, err := broker.Publish(b.Context(), "bench", sseview.Text{Data: "start"})
			if err != nil {
				b.Fatal(err)
			}
			h.View = brokerView{broker}
			ctx, cancel := context.WithCancel(b.Context())
			defer cancel()
			r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/?from="+from, nil)
			w := &discard{h: http.Header{}}
			served := make(chan struct{})
			go func() {
				defer close(served)
				h.ServeHTTP(w, r)
			}()
			<-signals.live
			ev := sseview.Text{Data: strings.Repeat("x", 64)}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for range b.N {
				if _, err := broker.Publish(b.Context(), "bench", ev); err != nil {
					b.Fatal(err)
				}
			}
			<-signals.all
			reportCPU(b, cpuTime()-cpu)
			cancel()
			<-served
		})
	}
}

// reportCPU stops b's timer and reports cpu, the process's CPU time for
// b.N operations, per operation.
func reportCPU(b *testing.B, cpu time.Duration) {
	b.StopTimer()
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
