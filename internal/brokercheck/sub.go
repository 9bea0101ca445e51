package brokercheck

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
)

const wait = 10 * time.Second

// sub runs a subscription on its own goroutine and hands each element over
// unbuffered, so a test that stops reading makes the subscriber slow.
type sub struct {
	t      *testing.T
	out    chan result
	cancel context.CancelFunc
	done   chan struct{}
}

type result struct {
	ev  sseview.Text
	err error
}

func subscribe(t *testing.T, b sseview.Broker, topic, last string) *sub {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	s := &sub{t: t, out: make(chan result), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for ev, err := range b.Subscribe(ctx, topic, last) {
			r := result{err: err}
			if err == nil {
				r.ev, r.err = ev.MarshalEvent()
			}
			select {
			case s.out <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(s.stop)
	return s
}

// stop cancels the subscription and waits until its iterator returned.
func (s *sub) stop() {
	s.cancel()
	<-s.done
}

func (s *sub) next() sseview.Text {
	s.t.Helper()
	r := s.nextResult()
	require.NoError(s.t, r.err)
	return r.ev
}

func (s *sub) nextResult() result {
	s.t.Helper()
	select {
	case r := <-s.out:
		return r
	case <-s.done:
		s.t.Fatal("subscription ended")
	case <-time.After(wait):
		s.t.Fatal("no event in time")
	}
	return result{}
}

func publish(t *testing.T, b sseview.Broker, topic string, data string) string {
	t.Helper()
	id, err := b.Publish(t.Context(), topic, sseview.Text{Type: "t", Data: data})
	require.NoError(t, err)
	return id
}
