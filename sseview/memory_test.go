package sseview_test

import (
	"context"
	"iter"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/brokertest"
)

func TestMemoryBroker(t *testing.T) {
	brokertest.Run(t, func(t *testing.T, l brokertest.Limits) sseview.Broker {
		return &sseview.MemoryBroker{MaxEvents: l.MaxEvents, MaxAge: l.MaxAge, QueueLen: l.QueueLen}
	})
}

func mustPublish(t *testing.T, b sseview.Broker, topic, data string) string {
	t.Helper()
	id, err := b.Publish(t.Context(), topic, sseview.Text{Data: data})
	require.NoError(t, err)
	return id
}

// pullSubscription starts a subscription that advances only when next is called, like
// a client that stops reading.
func pullSubscription(t *testing.T, b sseview.Broker, topic, lastEventID string) func() (sseview.Text, error, bool) {
	t.Helper()
	next, stop := iter.Pull2(b.Subscribe(t.Context(), topic, lastEventID))
	t.Cleanup(stop)
	return func() (sseview.Text, error, bool) {
		ev, err, ok := next()
		if !ok || err != nil {
			return sseview.Text{}, err, ok
		}
		text, merr := ev.MarshalEvent()
		require.NoError(t, merr)
		return text, nil, true
	}
}

func TestMemoryBrokerEncodesOnce(t *testing.T) {
	b := &sseview.MemoryBroker{}
	anchor := mustPublish(t, b, "t", "anchor")
	subs := make([]func() (sseview.Event, error, bool), 3)
	for i := range subs {
		next, stop := iter.Pull2(b.Subscribe(t.Context(), "t", anchor))
		t.Cleanup(stop)
		subs[i] = next
	}
	_, err := b.Publish(t.Context(), "t", sseview.JSON{Data: []int{1, 2, 3}})
	require.NoError(t, err)
	var first sseview.Event
	for i, next := range subs {
		ev, err, ok := next()
		require.True(t, ok)
		require.NoError(t, err)
		require.IsType(t, &sseview.Encoded{}, ev)
		if i == 0 {
			first = ev
		}
		assert.Same(t, first, ev, "subscriber %d got its own encoding", i)
	}
}

func TestMemoryBrokerPublishRefusesDoneContext(t *testing.T) {
	b := &sseview.MemoryBroker{}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := b.Publish(ctx, "t", sseview.Text{Data: "x"})
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorContains(t, err, "sseview: ")
	assert.Zero(t, b.KeptCount("t"))
}

// TestMemoryBrokerConcurrentChurn runs publishers, subscribers that come
// and go, and topic expiry all at once, for the race detector and for the
// ordering invariant: whatever a subscription yields, its ids increase. It
// runs on a synctest bubble's clock, so topics expire without waiting.
func TestMemoryBrokerConcurrentChurn(t *testing.T) {
	synctest.Test(t, concurrentChurn)
}

func concurrentChurn(t *testing.T) {
	const topics, publishers, subscribers, rounds = 4, 3, 6, 150
	b := &sseview.MemoryBroker{MaxEvents: 16, MaxAge: 100 * time.Millisecond, QueueLen: 4}
	topic := func(i int) string { return "churn." + strconv.Itoa(i%topics) }
	ids := make(chan string, publishers*rounds)
	// Subscribers waiting for events leave once the publishers are done.
	published, allPublished := context.WithCancel(t.Context())
	var pubs, subs sync.WaitGroup
	for p := range publishers {
		pubs.Go(func() {
			for i := range rounds {
				id, err := b.Publish(t.Context(), topic(p+i), sseview.Text{Data: strconv.Itoa(i)})
				if !assert.NoError(t, err) {
					return
				}
				ids <- id
			}
		})
	}
	for s := range subscribers {
		subs.Go(func() {
			for i := range rounds / 10 {
				from := ""
				select {
				case from = <-ids:
				default:
				}
				ctx, cancel := context.WithCancel(published)
				var prev string
				n := 0
				for ev, err := range b.Subscribe(ctx, topic(s+i), from) {
					if err != nil {
						assert.ErrorIs(t, err, sseview.ErrSlowSubscriber)
						break
					}
					text, _ := ev.MarshalEvent()
					if prev != "" {
						assert.True(t, len(prev) < len(text.ID) || len(prev) == len(text.ID) && prev < text.ID,
							"id %s after %s", text.ID, prev)
					}
					prev = text.ID
					if n++; n == 5 {
						break
					}
				}
				cancel()
			}
		})
	}
	pubs.Wait()
	allPublished()
	subs.Wait()
	time.Sleep(time.Second) // the bubble's clock: every history ages out
	synctest.Wait()
	assert.Zero(t, b.TopicCount(), "topics left once every history aged out")
}
