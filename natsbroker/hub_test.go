package natsbroker_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/brokercheck"
	"github.com/sseview/sseview/natsbroker"
	"github.com/sseview/sseview/natsbroker/internal/natstest"
)

func TestManyTopics(t *testing.T) {
	b := newBroker(t, natstest.Start(t), natsbroker.Config{})
	const n = 40
	subs := make([]*brokercheck.Subscription, n)
	for i := range n {
		topic := fmt.Sprintf("room.%d", i)
		subs[i] = brokercheck.Subscribe(t, b, topic, brokercheck.Publish(t, b, topic, "marker"))
	}
	for round := range 3 {
		for i := range n {
			brokercheck.Publish(t, b, fmt.Sprintf("room.%d", i), fmt.Sprintf("%d/%d", i, round))
		}
	}
	for round := range 3 {
		for i, s := range subs {
			assert.Equal(t, fmt.Sprintf("%d/%d", i, round), s.Next().Data)
		}
	}
	assert.Equal(t, n, b.Feeds())
}

func TestLeavingFreesEverything(t *testing.T) {
	srv := natstest.Start(t)
	b := newBroker(t, srv, natsbroker.Config{})
	marker := brokercheck.Publish(t, b, "f", "marker")
	var subs []*brokercheck.Subscription
	for range 5 {
		subs = append(subs, brokercheck.Subscribe(t, b, "f", marker))
	}
	id := brokercheck.Publish(t, b, "f", "x")
	for _, s := range subs {
		require.Equal(t, id, s.Next().ID)
	}
	n, feed := b.Subscribers("f")
	assert.True(t, feed)
	assert.Equal(t, 5, n)
	for _, s := range subs[1:] {
		s.Stop()
	}
	n, _ = b.Subscribers("f")
	assert.Equal(t, 1, n)
	subs[0].Stop()
	_, feed = b.Subscribers("f")
	assert.False(t, feed, "the last subscriber's leaving stops the feed")
	assert.Zero(t, b.Feeds())

	// Nothing is left on the server either: every consumer was deleted.
	nc := srv.Connect(t)
	info := streamInfo(t, nc)
	assert.Zero(t, info.State.Consumers)
}

func TestConcurrentFirstSubscribersShareOneFeed(t *testing.T) {
	b := newBroker(t, natstest.Start(t), natsbroker.Config{})
	marker := brokercheck.Publish(t, b, "crowd", "marker")
	subs := make([]*brokercheck.Subscription, 50)
	for i := range subs {
		subs[i] = brokercheck.Subscribe(t, b, "crowd", marker)
	}
	id := brokercheck.Publish(t, b, "crowd", "x")
	for _, s := range subs {
		assert.Equal(t, id, s.Next().ID)
	}
	n, feed := b.Subscribers("crowd")
	assert.True(t, feed)
	assert.Equal(t, len(subs), n)
	assert.Equal(t, 1, b.Feeds())
}

func TestLeavingAtAnyPoint(t *testing.T) {
	srv := natstest.Start(t)
	b := newBroker(t, srv, natsbroker.Config{})
	var ids []string
	for i := range 300 {
		ids = append(ids, brokercheck.Publish(t, b, "leave", strconv.Itoa(i)))
	}
	t.Run("cancelled during the catch-up", func(t *testing.T) {
		s := brokercheck.Subscribe(t, b, "leave", ids[0])
		require.Equal(t, ids[1], s.Next().ID)
		s.Stop() // waits for the iterator to return
	})
	t.Run("cancelled before it starts", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		for ev, err := range b.Subscribe(ctx, "leave", ids[0]) {
			t.Errorf("yielded %v, %v after the context was cancelled", ev, err)
		}
	})
	t.Run("the caller stops iterating", func(t *testing.T) {
		for ev, err := range b.Subscribe(t.Context(), "leave", ids[0]) {
			require.NoError(t, err)
			text, _ := ev.MarshalEvent()
			require.Equal(t, ids[1], text.ID)
			break
		}
		for ev, err := range b.Subscribe(t.Context(), "leave", ids[len(ids)-2]) {
			require.NoError(t, err)
			text, _ := ev.MarshalEvent()
			require.Equal(t, ids[len(ids)-1], text.ID)
			break
		}
	})
	assert.Zero(t, b.Feeds(), "no live feed is left")
	assert.Zero(t, streamInfo(t, srv.Connect(t)).State.Consumers, "no consumer is left on the server")
}
