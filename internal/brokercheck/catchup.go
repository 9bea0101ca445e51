package brokercheck

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
)

// ResumeWhilePublishing publishes total events to one topic on publisher
// and meanwhile starts starts subscriptions on subscriber (the same broker,
// or another instance on the same store), each from an id published
// moments ago, so that reading the history and joining the live feed race
// with the publisher. A subscriber dropped as slow resumes from the last id
// it got, as a client would; each must get every event after its id once,
// in order. Both brokers keep at least total events of a topic.
func ResumeWhilePublishing(t *testing.T, total, starts int, publisher, subscriber sseview.Broker) {
	ids := make(chan string, total)
	go func() {
		defer close(ids)
		for i := range total {
			id, err := publisher.Publish(t.Context(), "busy", sseview.Text{Type: "t", Data: strconv.Itoa(i)})
			if !assert.NoError(t, err) {
				return
			}
			ids <- id
		}
	}()
	type followed struct {
		from int
		got  []string
		err  error
	}
	results := make(chan followed, starts)
	var published []string
	for id := range ids {
		published = append(published, id)
		if n := len(published); n%(total/starts) == 1 {
			go func() {
				got, err := follow(t.Context(), subscriber, "busy", id, strconv.Itoa(total-1))
				results <- followed{n - 1, got, err}
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

// CatchUpTurnsAreBounded checks that subscriptions whose readers stopped
// in the middle of their catch-up hold no catch-up turn: with one turn,
// a fourth subscription still reads its whole catch-up of 299 events.
// newBroker returns a broker with catchUps catch-up turns, and closes it
// when t ends.
func CatchUpTurnsAreBounded(t *testing.T, newBroker func(t *testing.T, catchUps int) sseview.Broker) {
	b := newBroker(t, 1)
	var ids []string
	for i := range 300 {
		ids = append(ids, Publish(t, b, "turns", strconv.Itoa(i)))
	}
	// Each of these reads one event of its catch-up, then its reader stops.
	for range 3 {
		stalled := Subscribe(t, b, "turns", ids[0])
		require.Equal(t, ids[1], stalled.Next().ID)
	}
	// This one still gets the only catch-up turn, batch after batch.
	s := Subscribe(t, b, "turns", ids[0])
	for _, id := range ids[1:] {
		require.Equal(t, id, s.Next().ID)
	}
}
