//go:build !race

package sseview_test

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
)

// An idle MemoryBroker subscription, one that has had its event and waits
// for the next, holds little more than its queue: no channel of its own
// (its topic's subscribers share one wake-up), and its end and catch-up
// state only when it has them. Measured over 1,000 subscribers, after a
// first round that leaves the runtime's free goroutines and wait records
// (sudogs) behind, so that the second counts what the broker and this
// test's subscriber keep: 430-458 B each before the shared wake-up and the
// smaller queue, 283-331 B after. (Not run under the race detector, which
// allocates on its own.)
func TestIdleSubscriptionHeap(t *testing.T) {
	idleSubscriptionHeap(t) // warms the runtime up
	perSub := idleSubscriptionHeap(t)
	assert.LessOrEqual(t, perSub, 370.0, "heap bytes per idle subscription")
	t.Logf("%.0f heap bytes per idle subscription", perSub)
}

// idleSubscriptionHeap holds 1,000 subscriptions that have had one event
// and returns the heap per subscription that they hold.
func idleSubscriptionHeap(t *testing.T) float64 {
	t.Helper()
	const subs, topic = 1000, "idle"
	broker := &sseview.MemoryBroker{}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	got := make(chan struct{}, subs)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range subs {
		wg.Go(func() {
			for _, err := range broker.Subscribe(ctx, topic, "") {
				if err != nil {
					return
				}
				got <- struct{}{}
			}
		})
	}
	pollUntil(t, "every subscriber", func() bool { return broker.SubscriberCount(topic) == subs })
	_, err := broker.Publish(ctx, topic, sseview.Text{Data: "the one event"})
	require.NoError(t, err)
	for range subs {
		<-got
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	return (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / subs
}
