package natsbroker_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/natsbroker"
	"github.com/sseview/sseview/natsbroker/internal/natstest"
	"github.com/sseview/sseview/sseview"
)

func TestCatchUpWhileLiveOverflows(t *testing.T) {
	b := newBroker(t, natstest.Start(t), natsbroker.Config{QueueLen: 2})
	var want []string
	for i := range 200 {
		want = append(want, publish(t, b, "c", strconv.Itoa(i)))
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
		s := subscribe(t, b, "c", last)
		for {
			r := s.nextResult()
			if errors.Is(r.err, sseview.ErrSlowSubscriber) {
				break
			}
			require.NoError(t, r.err)
			got = append(got, r.ev.ID)
			last = r.ev.ID
			if len(got) == len(want)+100 {
				break
			}
		}
		s.stop()
	}
	for id := range more {
		want = append(want, id)
	}
	assert.Equal(t, want, got)
}

func TestSlowCatchUpHoldsNoTurn(t *testing.T) {
	b := newBroker(t, natstest.Start(t), natsbroker.Config{CatchUps: 1})
	var ids []string
	for i := range 300 {
		ids = append(ids, publish(t, b, "turns", strconv.Itoa(i)))
	}
	// Each of these reads one event of its catch-up, then its reader stops.
	for range 3 {
		stalled := subscribe(t, b, "turns", ids[0])
		require.Equal(t, ids[1], stalled.next().ID)
	}
	// This one still gets the only catch-up turn, batch after batch.
	s := subscribe(t, b, "turns", ids[0])
	for _, id := range ids[1:] {
		require.Equal(t, id, s.next().ID)
	}
}

// TestResumeWhilePublishing starts subscriptions from ids published
// moments ago while a publisher keeps going, so that reading the history
// and joining the live feed race with it. A subscriber dropped as slow
// resumes from the last id it got, as a client would.
func TestResumeWhilePublishing(t *testing.T) {
	const total, starts = 300, 10
	b := newBroker(t, natstest.Start(t), natsbroker.Config{QueueLen: 16})
	ids := make(chan string, total)
	go func() {
		defer close(ids)
		for i := range total {
			id, err := b.Publish(t.Context(), "busy", sseview.Text{Type: "t", Data: strconv.Itoa(i)})
			if !assert.NoError(t, err) {
				return
			}
			ids <- id
		}
	}()
	type result struct {
		from int
		got  []string
		err  error
	}
	results := make(chan result, starts)
	var published []string
	for id := range ids {
		published = append(published, id)
		if n := len(published); n%(total/starts) == 1 {
			go func() {
				got, err := follow(t.Context(), b, "busy", id, strconv.Itoa(total-1))
				results <- result{n - 1, got, err}
			}()
		}
	}
	require.Len(t, published, total)
	for range starts {
		select {
		case r := <-results:
			require.NoError(t, r.err, "subscriber from event %d", r.from)
			assert.Equal(t, published[r.from+1:], r.got, "subscriber from event %d", r.from)
		case <-time.After(wait):
			t.Fatal("a subscriber did not get to the last event")
		}
	}
}

// follow collects the ids of the topic's events after lastEventID until
// the one whose data is last, resuming after ErrSlowSubscriber.
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
