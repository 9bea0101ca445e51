package brokercheck

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
)

const wait = 10 * time.Second

// Subscription runs a subscription on its own goroutine and hands each
// element over unbuffered, so a test that stops reading makes the
// subscriber slow.
type Subscription struct {
	t      *testing.T
	out    chan Result
	cancel context.CancelFunc
	done   chan struct{}
}

// Result is one element of a subscription: the event as it marshals, or
// the error the subscription ended with.
type Result struct {
	Event sseview.Text
	Err   error
}

// Subscribe subscribes to topic on b after the id last, and stops the
// subscription when t ends.
func Subscribe(t *testing.T, b sseview.Broker, topic, last string) *Subscription {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	s := &Subscription{t: t, out: make(chan Result), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for ev, err := range b.Subscribe(ctx, topic, last) {
			r := Result{Err: err}
			if err == nil {
				r.Event, r.Err = ev.MarshalEvent()
			}
			select {
			case s.out <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(s.Stop)
	return s
}

// Stop cancels the subscription and waits until its iterator returned.
func (s *Subscription) Stop() {
	s.cancel()
	<-s.done
}

// Next returns the next event, and fails the test on an error, on the end
// of the subscription, or when no event comes in time.
func (s *Subscription) Next() sseview.Text {
	s.t.Helper()
	r := s.NextResult()
	require.NoError(s.t, r.Err)
	return r.Event
}

// NextResult returns the next element, event or error, and fails the test
// on the end of the subscription or when nothing comes in time.
func (s *Subscription) NextResult() Result {
	s.t.Helper()
	select {
	case r := <-s.out:
		return r
	case <-s.done:
		s.t.Fatal("subscription ended")
	case <-time.After(wait):
		s.t.Fatal("no event in time")
	}
	return Result{}
}

// Publish publishes an event of type "t" with data to topic on b, and
// returns its id.
func Publish(t *testing.T, b sseview.Broker, topic string, data string) string {
	t.Helper()
	id, err := b.Publish(t.Context(), topic, sseview.Text{Type: "t", Data: data})
	require.NoError(t, err)
	return id
}

// WaitLive publishes warm-up events until each subscription has one (and
// has read it): from then on each gets every event published.
func WaitLive(t *testing.T, b sseview.Broker, topic string, subs ...*Subscription) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for _, s := range subs {
		for live := false; !live; {
			require.True(t, time.Now().Before(deadline), "no warm-up event in %v", wait)
			_, err := b.Publish(t.Context(), topic, sseview.Text{Type: "warm-up"})
			require.NoError(t, err)
			select {
			case r := <-s.out:
				require.NoError(t, r.Err)
				live = true
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	last := Publish(t, b, topic, "warm-up done")
	for _, s := range subs {
		for s.Next().ID != last {
		}
	}
}

// follow collects the ids of the topic's events after lastEventID until
// the one whose data is last, resuming after ErrSlowSubscriber as a client
// would.
func follow(ctx context.Context, b sseview.Broker, topic, lastEventID, last string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var got []string
	for {
		for ev, err := range b.Subscribe(ctx, topic, lastEventID) {
			if errors.Is(err, sseview.ErrSlowSubscriber) {
				break
			}
			if err != nil {
				return got, err
			}
			text, _ := ev.MarshalEvent()
			got = append(got, text.ID)
			lastEventID = text.ID
			if text.Data == last {
				return got, nil
			}
		}
		if err := ctx.Err(); err != nil {
			return got, err
		}
	}
}
