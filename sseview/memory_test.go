package sseview_test

import (
	"context"
	"iter"
	"regexp"
	"strconv"
	"sync"
	"testing"
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

// pollUntil polls cond until it holds, failing after brokertest.Wait.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(brokertest.Wait)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		require.True(t, time.Now().Before(deadline), "%s: not within %v", what, brokertest.Wait)
		<-tick.C
	}
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

func TestMemoryBrokerZeroValue(t *testing.T) {
	var b sseview.MemoryBroker
	ids := make([]string, 1001)
	for i := range ids {
		ids[i] = mustPublish(t, &b, "t", strconv.Itoa(i))
	}
	t.Run("ids are an epoch and a sequence number", func(t *testing.T) {
		idForm := regexp.MustCompile(`^[0-9a-z]{1,13}-[1-9][0-9]*$`)
		for _, id := range ids {
			require.Regexp(t, idForm, id)
		}
	})
	t.Run("keeps 1000 events", func(t *testing.T) {
		assert.Equal(t, 1000, b.KeptCount("t"))
		next := pullSubscription(t, &b, "t", ids[0])
		first, err, _ := next()
		require.NoError(t, err)
		assert.Equal(t, "1", first.Data, "after the newest evicted event")
		next = pullSubscription(t, &b, "t", ids[1])
		first, err, _ = next()
		require.NoError(t, err)
		assert.Equal(t, "2", first.Data)
	})
	t.Run("an id from before the history resets", func(t *testing.T) {
		mustPublish(t, &b, "t", "1001")
		next := pullSubscription(t, &b, "t", ids[0])
		first, err, _ := next()
		require.NoError(t, err)
		assert.Equal(t, sseview.ResetEventType, first.Type)
	})
}

func TestMemoryBrokerIDsOfAnotherBrokerReset(t *testing.T) {
	before := &sseview.MemoryBroker{}
	old := mustPublish(t, before, "t", "before the restart")
	after := &sseview.MemoryBroker{}
	newest := mustPublish(t, after, "t", "after the restart")

	cases := []struct{ name, id string }{
		{"an id of the broker before a restart", old},
		{"a known sequence number with a leading zero", newest[:len(newest)-1] + "01"},
		{"a position with an empty sequence number", newest[:len(newest)-1]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			next := pullSubscription(t, after, "t", c.id)
			first, err, _ := next()
			require.NoError(t, err)
			assert.Equal(t, sseview.Text{Type: sseview.ResetEventType, ID: newest}, first)
		})
	}
	assert.NotEqual(t, old[:len(old)-1], newest[:len(newest)-1], "two brokers share an epoch")
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
}

func TestMemoryBrokerSlowSubscriber(t *testing.T) {
	const queueLen = 4
	b := &sseview.MemoryBroker{QueueLen: queueLen}
	first := mustPublish(t, b, "t", "0")
	mustPublish(t, b, "t", "1")

	// The slow subscriber takes event 1 from the history and is then live
	// but reads no more; the fast one reads everything.
	slow := pullSubscription(t, b, "t", first)
	got, err, _ := slow()
	require.NoError(t, err)
	require.Equal(t, "1", got.Data)
	fast := pullSubscription(t, b, "t", first)
	got, err, _ = fast()
	require.NoError(t, err)
	require.Equal(t, "1", got.Data)
	require.Equal(t, 2, b.SubscriberCount("t"))

	var published []string
	for i := 2; i < 2+queueLen; i++ {
		published = append(published, mustPublish(t, b, "t", strconv.Itoa(i)))
		got, err, _ := fast()
		require.NoError(t, err)
		require.Equal(t, strconv.Itoa(i), got.Data)
	}
	assert.Equal(t, 2, b.SubscriberCount("t"), "a full queue is not yet an overflow")

	// The next event overflows the slow queue: Publish drops the slow
	// subscriber at once instead of waiting, and the fast one is unaffected.
	overflow := mustPublish(t, b, "t", "overflow")
	assert.Equal(t, 1, b.SubscriberCount("t"), "the slow subscriber is still registered")
	got, err, _ = fast()
	require.NoError(t, err)
	assert.Equal(t, overflow, got.ID)

	// The slow subscriber still gets what was queued, in order, then the
	// error and the end.
	var last string
	for i := range queueLen {
		got, err, _ := slow()
		require.NoError(t, err)
		require.Equal(t, published[i], got.ID)
		last = got.ID
	}
	_, err, ok := slow()
	require.True(t, ok)
	require.ErrorIs(t, err, sseview.ErrSlowSubscriber)
	_, _, ok = slow()
	assert.False(t, ok, "the iterator went on after its error")

	// Reconnecting from the last id it got catches up from the history.
	again := pullSubscription(t, b, "t", last)
	got, err, _ = again()
	require.NoError(t, err)
	assert.Equal(t, overflow, got.ID)
}

func TestMemoryBrokerForgetsIdleTopics(t *testing.T) {
	t.Run("a topic nobody published on, when its last subscriber leaves", func(t *testing.T) {
		b := &sseview.MemoryBroker{}
		ctx, cancel := context.WithCancel(t.Context())
		next, stop := iter.Pull2(b.Subscribe(ctx, "t", ""))
		defer stop()
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _, ok := next()
			assert.False(t, ok)
		}()
		pollUntil(t, "subscribed", func() bool { return b.SubscriberCount("t") == 1 })
		cancel()
		<-done
		assert.Equal(t, 0, b.TopicCount())
	})

	t.Run("a topic whose history aged out, with no subscriber", func(t *testing.T) {
		b := &sseview.MemoryBroker{MaxAge: 200 * time.Millisecond}
		a := mustPublish(t, b, "t", "a")
		mustPublish(t, b, "t", "b")
		mustPublish(t, b, "kept", "c")
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range b.Subscribe(ctx, "kept", "") {
			}
		}()
		defer func() { cancel(); <-done }()
		pollUntil(t, "subscribed", func() bool { return b.SubscriberCount("kept") == 1 })

		pollUntil(t, "topic t forgotten, topic kept's history expired", func() bool {
			return b.TopicCount() == 1 && b.KeptCount("kept") == 0
		})
		assert.Equal(t, 1, b.SubscriberCount("kept"), "the subscribed topic was forgotten")

		// Event b is gone with the topic: resuming from before it is a
		// reset, even though the topic is new.
		c := mustPublish(t, b, "t", "c")
		next := pullSubscription(t, b, "t", a)
		first, err, _ := next()
		require.NoError(t, err)
		assert.Equal(t, sseview.ResetEventType, first.Type)
		assert.Equal(t, c, first.ID)
	})

	t.Run("not with no age limit", func(t *testing.T) {
		b := &sseview.MemoryBroker{MaxAge: -1, MaxEvents: 2}
		for i := range 3 {
			mustPublish(t, b, "t", strconv.Itoa(i))
		}
		assert.Equal(t, 2, b.KeptCount("t"))
		assert.Equal(t, 1, b.TopicCount())
	})
}

func TestMemoryBrokerResumeAfterForgottenTopicNeedsNoReset(t *testing.T) {
	b := &sseview.MemoryBroker{MaxAge: 200 * time.Millisecond}
	mustPublish(t, b, "t", "a")
	newest := mustPublish(t, b, "t", "b")
	pollUntil(t, "topic forgotten", func() bool { return b.TopicCount() == 0 })
	c := mustPublish(t, b, "t", "c")
	// The client had everything up to b: nothing it lacks was lost.
	next := pullSubscription(t, b, "t", newest)
	first, err, _ := next()
	require.NoError(t, err)
	assert.Equal(t, sseview.Text{ID: c, Data: "c"}, first)
}

func TestMemoryBrokerForgottenTopicsDoNotResetOthers(t *testing.T) {
	b := &sseview.MemoryBroker{MaxAge: 200 * time.Millisecond}
	other := "other"
	for i := 0; b.ShareForgottenSlot("quiet", other); i++ {
		other = "other" + strconv.Itoa(i)
	}
	last := mustPublish(t, b, "quiet", "the last of a quiet topic")
	mustPublish(t, b, other, "newer, on another topic")
	pollUntil(t, "both topics forgotten", func() bool { return b.TopicCount() == 0 })

	// The client of the quiet topic had everything: it gets no reset.
	mustPublish(t, b, "quiet", "after")
	next := pullSubscription(t, b, "quiet", last)
	first, err, _ := next()
	require.NoError(t, err)
	assert.Equal(t, "after", first.Data)
}

// TestMemoryBrokerConcurrentChurn runs publishers, subscribers that come
// and go, and topic expiry all at once, for the race detector and for the
// ordering invariant: whatever a subscription yields, its ids increase.
func TestMemoryBrokerConcurrentChurn(t *testing.T) {
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
	pollUntil(t, "every topic forgotten", func() bool { return b.TopicCount() == 0 })
}
