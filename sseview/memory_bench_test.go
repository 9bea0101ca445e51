package sseview_test

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sseview/sseview/sseview"
)

// BenchmarkMemoryBrokerFanout publishes b.N events to one topic with 1,000
// subscribers in the process, each on its own goroutine as behind an HTTP
// handler, and reports deliveries per second and the publish-to-receive
// latency of every delivery. It fails if any subscriber misses an event.
//
// rate=100 and rate=1000 publish at that many events per second; rate=max
// publishes as fast as the subscribers keep up, never more than a quarter
// of a queue ahead of the slowest, to find the delivery ceiling.
func BenchmarkMemoryBrokerFanout(b *testing.B) {
	for _, c := range []struct {
		subs, rate int
	}{{1000, 100}, {1000, 1000}, {1000, 0}} {
		rate := "max"
		if c.rate > 0 {
			rate = strconv.Itoa(c.rate)
		}
		b.Run("subscribers="+strconv.Itoa(c.subs)+"/rate="+rate, func(b *testing.B) {
			benchFanout(b, c.subs, c.rate)
		})
	}
}

func benchFanout(b *testing.B, subs, rate int) {
	const topic, window = "bench", 64
	broker := &sseview.MemoryBroker{}
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	n := b.N
	sentAt := make([]time.Time, n+1) // [0] is the warm-up event
	latencies := make([][]time.Duration, subs)
	windowDone := make([]chan struct{}, n/window+1)
	windowLeft := make([]atomic.Int32, n/window+1)
	for i := range windowDone {
		windowDone[i] = make(chan struct{})
		windowLeft[i].Store(int32(subs))
	}
	var dropped atomic.Int64
	var ready, finished sync.WaitGroup

	anchor, err := broker.Publish(ctx, topic, sseview.Text{Data: "anchor"})
	if err != nil {
		b.Fatal(err)
	}
	for s := range subs {
		ready.Add(1)
		finished.Add(1)
		latencies[s] = make([]time.Duration, 0, n)
		go func() {
			defer finished.Done()
			for ev, err := range broker.Subscribe(ctx, topic, anchor) {
				now := time.Now()
				if err != nil {
					dropped.Add(1)
					return
				}
				text, _ := ev.MarshalEvent()
				i, _ := strconv.Atoi(text.Data)
				if i == 0 {
					ready.Done()
					continue
				}
				latencies[s] = append(latencies[s], now.Sub(sentAt[i]))
				if i%window == 0 && windowLeft[i/window].Add(-1) == 0 {
					close(windowDone[i/window])
				}
				if i == n {
					return
				}
			}
		}()
	}
	// Every subscriber has the warm-up event, so each is live before the
	// clock starts.
	if _, err := broker.Publish(ctx, topic, sseview.Text{Data: "0"}); err != nil {
		b.Fatal(err)
	}
	ready.Wait()

	var tick <-chan time.Time
	if rate > 0 {
		ticker := time.NewTicker(time.Second / time.Duration(rate))
		defer ticker.Stop()
		tick = ticker.C
	}
	b.ResetTimer()
	start := time.Now()
	for i := 1; i <= n; i++ {
		if tick != nil {
			<-tick
		} else if i%window == 0 && i/window >= 2 {
			<-windowDone[i/window-1]
		}
		sentAt[i] = time.Now()
		if _, err := broker.Publish(ctx, topic, sseview.Text{Data: strconv.Itoa(i)}); err != nil {
			b.Fatal(err)
		}
	}
	finished.Wait()
	elapsed := time.Since(start)
	b.StopTimer()

	if d := dropped.Load(); d > 0 {
		b.Fatalf("%d of %d subscribers were dropped as slow", d, subs)
	}
	all := make([]time.Duration, 0, n*subs)
	for s, l := range latencies {
		if len(l) != n {
			b.Fatalf("subscriber %d got %d of %d events", s, len(l), n)
		}
		all = append(all, l...)
	}
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(millis(all[len(all)/2]), "p50-ms")
	b.ReportMetric(millis(all[len(all)*99/100]), "p99-ms")
	b.ReportMetric(millis(all[len(all)-1]), "max-ms")
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkMemoryBrokerSubscriberMemory subscribes 1,000 idle subscribers
// and reports the broker's heap per subscriber (queue and registration).
// It reports no stack figure: stacks freed by an earlier iteration are
// reused by the next, so an in-process delta under-reports them. The
// bench harness's idle scenarios measure stacks in a fresh process.
func BenchmarkMemoryBrokerSubscriberMemory(b *testing.B) {
	const subs, topic = 1000, "mem"
	var heap float64
	for b.Loop() {
		broker := &sseview.MemoryBroker{}
		ctx, cancel := context.WithCancel(b.Context())
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var wg sync.WaitGroup
		for range subs {
			wg.Go(func() {
				for range broker.Subscribe(ctx, topic, "") {
				}
			})
		}
		for broker.SubscriberCount(topic) < subs {
			runtime.Gosched()
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap += float64(after.HeapAlloc) - float64(before.HeapAlloc)
		cancel()
		wg.Wait()
	}
	b.ReportMetric(heap/float64(b.N)/subs, "heap-B/sub")
}
