package brokercheck

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
)

// observerRecorder is a BrokerObserver that keeps what it heard as lines,
// with the lags of the deliveries, and tells of each call.
type observerRecorder struct {
	mu      sync.Mutex
	calls   []string
	lags    []time.Duration
	changed chan struct{} // a signal after each call
}

func newObserverRecorder() *observerRecorder {
	return &observerRecorder{changed: make(chan struct{}, 1)}
}

func (o *observerRecorder) note(format string, args ...any) {
	call := fmt.Sprintf(format, args...)
	o.mu.Lock()
	o.calls = append(o.calls, call)
	o.mu.Unlock()
	select {
	case o.changed <- struct{}{}:
	default: // a signal is pending
	}
}

func (o *observerRecorder) Published(_ context.Context, topic string, duplicate bool) {
	o.note("published %s duplicate=%v", topic, duplicate)
}

func (o *observerRecorder) Delivered(_ context.Context, topic string, published time.Time) {
	o.mu.Lock()
	o.lags = append(o.lags, time.Since(published))
	o.mu.Unlock()
	o.note("delivered %s", topic)
}

func (o *observerRecorder) Reset(_ context.Context, topic string) { o.note("reset %s", topic) }

func (o *observerRecorder) CaughtUp(_ context.Context, topic string, events int) {
	o.note("caught up %s %d", topic, events)
}

func (o *observerRecorder) Dropped(_ context.Context, topic string) { o.note("dropped %s", topic) }

// waitFor waits until the observer has heard call, since the last take.
func (o *observerRecorder) waitFor(t *testing.T, call string) {
	t.Helper()
	deadline := time.After(wait)
	for !o.heard(call) {
		select {
		case <-o.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %q", call)
		}
	}
}

func (o *observerRecorder) heard(call string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.calls {
		if c == call {
			return true
		}
	}
	return false
}

// take returns what was heard so far, and forgets it.
func (o *observerRecorder) take() ([]string, []time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	calls, lags := o.calls, o.lags
	o.calls, o.lags = nil, nil
	return calls, lags
}

// Observer checks the calls a broker makes to its observer: publishes
// (and duplicates), a catch-up then a live delivery with its lag, a reset,
// and a slow subscriber dropped. newBroker returns a broker with queue
// length 1 that tells obs, and closes it when t ends. unknownID is not an
// id of the broker's, so a subscription from it resets; clockNote says
// whose clock a delivery's publish time is, for the failure messages.
func Observer(t *testing.T, newBroker func(t *testing.T, obs sseview.BrokerObserver) sseview.Broker, unknownID, clockNote string) {
	rec := newObserverRecorder()
	b := newBroker(t, rec)
	ctx := t.Context()
	keyed := sseview.Keyed{Key: "k1", Event: sseview.Text{Data: "1"}}
	first, err := b.Publish(ctx, "room", keyed)
	require.NoError(t, err)
	again, err := b.Publish(ctx, "room", keyed)
	require.NoError(t, err)
	require.Equal(t, first, again)
	publish(t, b, "room", "2")
	calls, _ := rec.take()
	assert.Equal(t, []string{"published room duplicate=false", "published room duplicate=true", "published room duplicate=false"}, calls)

	t.Run("catch-up then live", func(t *testing.T) {
		s := subscribe(t, b, "room", first)
		assert.Equal(t, "2", s.next().Data, "replayed")
		rec.waitFor(t, "caught up room 1")
		before := time.Now()
		publish(t, b, "room", "3")
		assert.Equal(t, "3", s.next().Data, "live")
		rec.waitFor(t, "delivered room")
		took := time.Since(before)
		s.stop()
		calls, lags := rec.take()
		assert.Equal(t, []string{"caught up room 1", "published room duplicate=false", "delivered room"}, calls)
		require.Len(t, lags, 1)
		assert.GreaterOrEqual(t, lags[0], -time.Millisecond, "by the store's clock%s", clockNote)
		assert.LessOrEqual(t, lags[0], took+time.Millisecond, "the lag runs from the publish%s", clockNote)
	})
	t.Run("reset", func(t *testing.T) {
		s := subscribe(t, b, "room", unknownID)
		assert.Equal(t, sseview.ResetEventType, s.next().Type)
		s.stop()
		calls, _ := rec.take()
		assert.Equal(t, []string{"reset room"}, calls)
	})
	t.Run("slow subscriber", func(t *testing.T) {
		last := publish(t, b, "slow", "0")
		rec.take()
		s := subscribe(t, b, "slow", last)
		rec.waitFor(t, "caught up slow 0")
		// The subscriber reads nothing meanwhile: it holds one event for
		// the test, one more fills its queue (QueueLen 1), and it is
		// dropped after them.
		const n = 10
		for i := range n {
			publish(t, b, "slow", fmt.Sprint(i))
		}
		read := 0
		for r := s.nextResult(); r.err == nil; r = s.nextResult() {
			read++
		}
		rec.waitFor(t, "dropped slow")
		s.stop()
		assert.Less(t, read, n)
		want := []string{"caught up slow 0"}
		for range n {
			want = append(want, "published slow duplicate=false")
		}
		for range read {
			want = append(want, "delivered slow")
		}
		calls, _ := rec.take()
		assert.Equal(t, append(want, "dropped slow"), calls)
	})
}
