package natsbroker_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/brokercheck"
	"github.com/sseview/sseview/natsbroker"
	"github.com/sseview/sseview/natsbroker/internal/natstest"
	"github.com/sseview/sseview/sseview"
)

// TestCloseReturnsAfterItsConsumersStopped holds a subscriber inside
// yield, as a stream writing to a stalled client is, so that it cannot
// leave its live feed itself: Close must stop and delete the feed's
// consumer before it returns all the same.
func TestCloseReturnsAfterItsConsumersStopped(t *testing.T) {
	srv := natstest.Start(t)
	nc := srv.Connect(t)
	b, err := natsbroker.New(t.Context(), nc, natsbroker.Config{Logger: quiet})
	require.NoError(t, err)
	marker := brokercheck.Publish(t, b, "room.1", "marker")
	held := brokercheck.Subscribe(t, b, "room.1", marker)
	witness := brokercheck.Subscribe(t, b, "room.1", marker)
	id := brokercheck.Publish(t, b, "room.1", "1")
	require.Equal(t, id, held.Next().ID)
	require.Equal(t, id, witness.Next().ID)
	// Once the witness has event 2, the held subscriber has it too: it
	// waits inside yield with it.
	id = brokercheck.Publish(t, b, "room.1", "2")
	require.Equal(t, id, witness.Next().ID)
	require.Equal(t, 1, streamInfo(t, nc).State.Consumers, "the live feed's consumer")

	require.NoError(t, b.Close())
	assert.Zero(t, streamInfo(t, nc).State.Consumers, "consumers left on the server when Close returned")
	_, feed := b.Subscribers("room.1")
	assert.False(t, feed, "a live feed still runs")

	// The subscriber, once let go, ends with ErrClosed after what it had.
	assert.Equal(t, "2", held.Next().Data)
	assert.ErrorIs(t, held.NextResult().Err, natsbroker.ErrClosed)
}

func TestCloseEndsSubscriptions(t *testing.T) {
	srv := natstest.Start(t)
	nc := srv.Connect(t)
	b, err := natsbroker.New(t.Context(), nc, natsbroker.Config{Logger: quiet})
	require.NoError(t, err)
	marker := brokercheck.Publish(t, b, "x", "m")
	s := brokercheck.Subscribe(t, b, "x", marker)
	id := brokercheck.Publish(t, b, "x", "1")
	require.Equal(t, id, s.Next().ID)
	require.NoError(t, b.Close())
	require.NoError(t, b.Close())
	assert.ErrorIs(t, s.NextResult().Err, natsbroker.ErrClosed)
	_, err = b.Publish(t.Context(), "x", sseview.Text{})
	assert.ErrorIs(t, err, natsbroker.ErrClosed)
	for _, err := range b.Subscribe(t.Context(), "x", "") {
		assert.ErrorIs(t, err, natsbroker.ErrClosed)
	}
}

func TestConnectionClosedEndsSubscriptions(t *testing.T) {
	srv := natstest.Start(t)
	nc := srv.Connect(t)
	b, err := natsbroker.New(t.Context(), nc, natsbroker.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	marker := brokercheck.Publish(t, b, "x", "m")
	s := brokercheck.Subscribe(t, b, "x", marker)
	id := brokercheck.Publish(t, b, "x", "1")
	require.Equal(t, id, s.Next().ID)
	nc.Close()
	r := s.NextResult()
	assert.ErrorIs(t, r.Err, natsbroker.ErrConnClosed)
}
