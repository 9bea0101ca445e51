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

// ObserverRecorder is a BrokerObserver that keeps what it heard as lines,
// with the lags of the deliveries, and tells of each call. Make one with
// NewObserverRecorder.
type ObserverRecorder struct {
	mu      sync.Mutex
	calls   []string
	lags    []time.Duration
	changed chan struct{} // a signal after each call
}

var _ sseview.BrokerObserver = (*ObserverRecorder)(nil)

// NewObserverRecorder returns an ObserverRecorder that has heard nothing.
func NewObserverRecorder() *ObserverRecorder {
	return &ObserverRecorder{changed: make(chan struct{}, 1)}
}

func (o *ObserverRecorder) note(format string, args ...any) {
	call := fmt.Sprintf(format, args...)
	o.mu.Lock()
	o.calls = append(o.calls, call)
	o.mu.Unlock()
	select {
	case o.changed <- struct{}{}:
	default: // a signal is pending
	}
}

func (o *ObserverRecorder) Published(_ context.Context, topic string, duplicate bool) {
	o.note("published %s duplicate=%v", topic, duplicate)
}

func (o *ObserverRecorder) Delivered(_ context.Context, topic string, published time.Time) {
	o.mu.Lock()
	o.lags = append(o.lags, time.Since(published))
	o.mu.Unlock()
	o.note("delivered %s", topic)
}

func (o *ObserverRecorder) Reset(_ context.Context, topic string) { o.note("reset %s", topic) }

func (o *ObserverRecorder) CaughtUp(_ context.Context, topic string, events int) {
	o.note("caught up %s %d", topic, events)
}

func (o *ObserverRecorder) Dropped(_ context.Context, topic string) { o.note("dropped %s", topic) }

// WaitFor waits until the observer has heard call, since the last Take,
// and fails the test if it does not in time.
func (o *ObserverRecorder) WaitFor(t *testing.T, call string) {
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

func (o *ObserverRecorder) heard(call string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.calls {
		if c == call {
			return true
		}
	}
	return false
}

// Take returns the calls heard so far, and the lags of the deliveries
// among them, and forgets them.
func (o *ObserverRecorder) Take() ([]string, []time.Duration) {
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
	rec := NewObserverRecorder()
	b := newBroker(t, rec)
	ctx := t.Context()
	keyed := sseview.Keyed{Key: "k1", Event: sseview.Text{Data: "1"}}
	first, err := b.Publish(ctx, "room", keyed)
	require.NoError(t, err)
	again, err := b.Publish(ctx, "room", keyed)
	require.NoError(t, err)
	require.Equal(t, first, again)
	Publish(t, b, "room", "2")
	calls, _ := rec.Take()
	assert.Equal(t, []string{"published room duplicate=false", "published room duplicate=true", "published room duplicate=false"}, calls)

	t.Run("catch-up then live", func(t *testing.T) {
		s := Subscribe(t, b, "room", first)
		assert.Equal(t, "2", s.Next().Data, "replayed")
		rec.WaitFor(t, "caught up room 1")
		before := time.Now()
		Publish(t, b, "room", "3")
		assert.Equal(t, "3", s.Next().Data, "live")
		rec.WaitFor(t, "delivered room")
		took := time.Since(before)
		s.Stop()
		calls, lags := rec.Take()
		assert.Equal(t, []string{"caught up room 1", "published room duplicate=false", "delivered room"}, calls)
		require.Len(t, lags, 1)
		assert.GreaterOrEqual(t, lags[0], -time.Millisecond, "by the store's clock%s", clockNote)
		assert.LessOrEqual(t, lags[0], took+time.Millisecond, "the lag runs from the publish%s", clockNote)
	})
	t.Run("reset", func(t *testing.T) {
		s := Subscribe(t, b, "room", unknownID)
		assert.Equal(t, sseview.ResetEventType, s.Next().Type)
		s.Stop()
		calls, _ := rec.Take()
		assert.Equal(t, []string{"reset room"}, calls)
	})
	t.Run("slow subscriber", func(t *testing.T) {
		last := Publish(t, b, "slow", "0")
		rec.Take()
		s := Subscribe(t, b, "slow", last)
		rec.WaitFor(t, "caught up slow 0")
		// The subscriber reads nothing meanwhile: it holds one event for
		// the test, one more fills its queue (QueueLen 1), and it is
		// dropped after them.
		const n = 10
		for i := range n {
			Publish(t, b, "slow", fmt.Sprint(i))
		}
		read := 0
		for r := s.NextResult(); r.Err == nil; r = s.NextResult() {
			read++
		}
		rec.WaitFor(t, "dropped slow")
		s.Stop()
		assert.Less(t, read, n)
		want := []string{"caught up slow 0"}
		for range n {
			want = append(want, "published slow duplicate=false")
		}
		for range read {
			want = append(want, "delivered slow")
		}
		calls, _ := rec.Take()
		assert.Equal(t, append(want, "dropped slow"), calls)
	})
}
