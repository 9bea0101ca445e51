package natsbroker_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/brokercheck"
	"github.com/sseview/sseview/natsbroker"
	"github.com/sseview/sseview/natsbroker/internal/natstest"
	"github.com/sseview/sseview/sseview"
)

func TestCatchUpWhileLiveOverflows(t *testing.T) {
	b := newBroker(t, natstest.Start(t), natsbroker.Config{QueueLen: 2})
	var want []string
	for i := range 200 {
		want = append(want, brokercheck.Publish(t, b, "c", strconv.Itoa(i)))
	}
	last := want[0]
	want = want[1:]
	more := make(chan string, 100)
	go func() {
		defer close(more)
		for i := range 100 {
			id, err := b.Publish(t.Context(), "c", sseview.Text{Data: strconv.Itoa(200 + i)})
			if err != nil {
				return
			}
			more <- id
		}
	}()
	// The subscriber reads its catch-up while live events overflow its tiny
	// queue: it reads those from the stream too. When it is dropped as slow
	// it resumes from the last id it got, as a client would, and in the end
	// it has every event exactly once, in order.
	var got []string
	for len(got) < len(want)+100 {
		s := brokercheck.Subscribe(t, b, "c", last)
		for {
			r := s.NextResult()
			if errors.Is(r.Err, sseview.ErrSlowSubscriber) {
				break
			}
			require.NoError(t, r.Err)
			got = append(got, r.Event.ID)
			last = r.Event.ID
			if len(got) == len(want)+100 {
				break
			}
		}
		s.Stop()
	}
	for id := range more {
		want = append(want, id)
	}
	assert.Equal(t, want, got)
}

// TestSlowCatchUpHoldsNoTurn runs the catch-up turns check both broker
// modules share.
func TestSlowCatchUpHoldsNoTurn(t *testing.T) {
	brokercheck.CatchUpTurnsAreBounded(t, func(t *testing.T, catchUps int) sseview.Broker {
		return newBroker(t, natstest.Start(t), natsbroker.Config{CatchUps: catchUps})
	})
}

// TestResumeWhilePublishing runs the check both broker modules share (see
// brokercheck.ResumeWhilePublishing) on one broker.
func TestResumeWhilePublishing(t *testing.T) {
	b := newBroker(t, natstest.Start(t), natsbroker.Config{QueueLen: 16})
	brokercheck.ResumeWhilePublishing(t, 300, 10, b, b)
}
