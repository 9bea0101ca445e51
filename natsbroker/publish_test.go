package natsbroker_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/brokercheck"
	"github.com/sseview/sseview/natsbroker"
	"github.com/sseview/sseview/natsbroker/internal/natstest"
	"github.com/sseview/sseview/sseview"
)

// TestPublishWhileNATSIsPaused publishes through a connection whose server
// answers nothing, as a NATS stopped with SIGSTOP: Publish gives up at its
// own timeout, not JetStream's 5 s default. The message reaches the server
// once it answers again, so the failed Publish was ambiguous: retrying it
// with the same key stores nothing more and returns the first id.
func TestPublishWhileNATSIsPaused(t *testing.T) {
	srv := natstest.Start(t)
	proxy := srv.Proxy(t)
	const timeout = 300 * time.Millisecond
	b, err := natsbroker.New(t.Context(), proxy.Connect(t), natsbroker.Config{PublishTimeout: timeout, Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	marker := brokercheck.Publish(t, b, "room.1", "marker")
	reading := sseview.Keyed{Key: "sensor-1@09:15", Event: sseview.Text{Type: "t", Data: "21.5"}}

	proxy.Pause()
	start := time.Now()
	_, err = b.Publish(t.Context(), "room.1", reading)
	took := time.Since(start)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.GreaterOrEqual(t, took, timeout)
	assert.Less(t, took, 3*time.Second, "Publish waited JetStream's 5 s default")
	proxy.Resume()

	id, err := b.Publish(t.Context(), "room.1", reading)
	require.NoError(t, err)
	end := brokercheck.Publish(t, b, "room.1", "end")
	s := brokercheck.Subscribe(t, b, "room.1", marker)
	assert.Equal(t, sseview.Text{Type: "t", ID: id, Data: "21.5"}, s.Next())
	assert.Equal(t, end, s.Next().ID, "the reading was stored twice")
}

// TestDuplicateWindowEnds publishes a key again until the stream has
// forgotten it: within DuplicateWindow the repeat returns the first id,
// after it the key is published anew.
func TestDuplicateWindowEnds(t *testing.T) {
	const window = 200 * time.Millisecond
	b := newBroker(t, natstest.Start(t), natsbroker.Config{DuplicateWindow: window})
	reading := sseview.Keyed{Key: "k", Event: sseview.Text{Data: "x"}}
	first, err := b.Publish(t.Context(), "room.1", reading)
	require.NoError(t, err)
	published := time.Now()
	tick := time.NewTicker(window / 4)
	defer tick.Stop()
	for {
		id, err := b.Publish(t.Context(), "room.1", reading)
		require.NoError(t, err)
		if id != first {
			assert.GreaterOrEqual(t, time.Since(published), window, "the key was forgotten before the window ended")
			return
		}
		require.Less(t, time.Since(published), window+wait, "the key was still remembered long after the window")
		<-tick.C
	}
}

func TestPublishAssignsIncreasingIDs(t *testing.T) {
	b := newBroker(t, natstest.Start(t), natsbroker.Config{})
	prev := uint64(0)
	for i := range 5 {
		id := brokercheck.Publish(t, b, "a", strconv.Itoa(i))
		n, err := strconv.ParseUint(id, 10, 64)
		require.NoError(t, err, "id %q", id)
		assert.Equal(t, strconv.FormatUint(n, 10), id, "plain decimal")
		assert.Greater(t, n, prev)
		prev = n
		// Another topic shares the stream's sequence; ids still increase.
		brokercheck.Publish(t, b, "b", "x")
	}
}
