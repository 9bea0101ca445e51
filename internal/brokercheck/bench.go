package brokercheck

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
)

// FanOut publishes b.N events to one topic with 1,000 subscribers on this
// instance, and reports deliveries per second, the publish-to-receive
// latency seen by the subscribers (p50, p99) and the heap each subscriber
// costs while idle. One op is one published event. newBroker returns a
// broker with the given queue length, and closes it when b ends.
func FanOut(b *testing.B, newBroker func(b *testing.B, queueLen int) sseview.Broker) {
	const subscribers = 1000
	broker := newBroker(b, 1024)
	marker, err := broker.Publish(b.Context(), "bench", sseview.Text{Data: "marker"})
	require.NoError(b, err)

	ctx, cancel := context.WithCancel(b.Context())
	var done sync.WaitGroup
	b.Cleanup(func() { cancel(); done.Wait() })

	heapBefore, stackBefore := memInUse()
	ready := make(chan struct{}, subscribers)
	latencies := make([][]time.Duration, subscribers)
	expected := make(chan int, 1) // how many measured events to wait for
	finished := make(chan struct{}, subscribers)
	for i := range subscribers {
		done.Go(func() {
			var lat []time.Duration
			want := -1
			got := 0
			for ev, err := range broker.Subscribe(ctx, "bench", marker) {
				if err != nil {
					b.Errorf("subscriber %d: %v", i, err)
					return
				}
				t, _ := ev.MarshalEvent()
				if t.Type == "warmup" {
					if got == 0 {
						ready <- struct{}{}
					}
					got = -1
					continue
				}
				ns, err := strconv.ParseInt(t.Data, 10, 64)
				if err != nil {
					b.Errorf("subscriber %d: data %q", i, t.Data)
					return
				}
				lat = append(lat, time.Since(time.Unix(0, ns)))
				if want < 0 {
					want = <-expected
					expected <- want
				}
				if len(lat) == want {
					latencies[i] = lat
					finished <- struct{}{}
					<-ctx.Done()
					return
				}
			}
		})
	}
	// Everyone is on the live feed once everyone has a warm-up event.
	_, err = broker.Publish(b.Context(), "bench", sseview.Text{Type: "warmup"})
	require.NoError(b, err)
	for range subscribers {
		select {
		case <-ready:
		case <-time.After(time.Minute):
			b.Fatal("subscribers not ready")
		}
	}
	heapAfter, stackAfter := memInUse()
	heapPerSubscriber := float64(heapAfter-heapBefore) / subscribers
	stackPerSubscriber := float64(stackAfter-stackBefore) / subscribers

	b.ResetTimer()
	start := time.Now()
	expected <- b.N
	for range b.N {
		if _, err := broker.Publish(b.Context(), "bench", sseview.Text{Data: strconv.FormatInt(time.Now().UnixNano(), 10)}); err != nil {
			b.Fatal(err)
		}
	}
	for range subscribers {
		select {
		case <-finished:
		case <-time.After(time.Minute):
			b.Fatal("not every event reached every subscriber")
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()

	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(ms(all[len(all)/2]), "p50-ms")
	b.ReportMetric(ms(all[len(all)*99/100]), "p99-ms")
	b.ReportMetric(heapPerSubscriber, "heap-B/subscriber")
	// The goroutine reading each subscription is the benchmark's; in a
	// server it is the request's own goroutine.
	b.ReportMetric(stackPerSubscriber, "stack-B/subscriber")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func memInUse() (heap, stack uint64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.StackInuse
}

// CatchUp resumes a subscription 1,000 events back and reads them all: one
// op is one resumed subscription. newBroker returns a broker that keeps at
// least maxEvents events of a topic, and closes it when b ends.
func CatchUp(b *testing.B, newBroker func(b *testing.B, maxEvents int) sseview.Broker) {
	const history = 1000
	broker := newBroker(b, 2*history)
	from, err := broker.Publish(b.Context(), "bench", sseview.Text{Data: "from"})
	require.NoError(b, err)
	for range history {
		_, err := broker.Publish(b.Context(), "bench", sseview.Text{Data: "x"})
		require.NoError(b, err)
	}
	b.ResetTimer()
	for range b.N {
		ctx, cancel := context.WithCancel(b.Context())
		n := 0
		for _, err := range broker.Subscribe(ctx, "bench", from) {
			if err != nil {
				b.Fatal(err)
			}
			if n++; n == history {
				break
			}
		}
		cancel()
	}
	b.ReportMetric(float64(b.N*history)/b.Elapsed().Seconds(), "events/s")
}
