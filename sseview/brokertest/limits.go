package brokertest

import (
	"errors"
	"strconv"
	"testing"

	"github.com/sseview/sseview/sseview"
)

// slowSubscriber checks the overflow rule: a subscriber that has QueueLen
// events waiting (published after the one it is yielding, or after the
// last it yielded) when one more arrives yields exactly those QueueLen
// events, then ErrSlowSubscriber alone, then nothing; the others are not
// affected, and resuming from its last id catches up.
//
// It knows an event has been offered to the slow subscriber once a fast
// subscriber of the same topic on the same broker has it: a broker that
// fans out one event to its subscribers at different times may fail here.
func (s *suite) slowSubscriber(t *testing.T) {
	for _, c := range []struct {
		name  string
		l     Limits
		queue int
	}{
		{"QueueLen 8", Limits{QueueLen: 8}, 8},
		{"QueueLen zero means 256", Limits{}, 256},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := s.newBroker(t, c.l)
			topic := s.topic(t)
			fast := subscribe(t, b, topic, "")
			slow := pull(t, b, topic, "")
			var slowFirst received
			warm := warmUp(t, b, topic, 2, func(i int) (received, bool) {
				if i == 0 {
					select {
					case r := <-fast.events:
						return r, true
					default:
						return received{}, false
					}
				}
				r, ok := slow.poll()
				slowFirst = r
				return r, ok
			})
			// The slow subscriber is held inside yield with slowFirst: what
			// it has waiting is every warm-up after that one, then the
			// events published now.
			var waiting []event
			for i, id := range warm {
				if id == slowFirst.ev.ID {
					for _, later := range warm[i+1:] {
						waiting = append(waiting, event{ID: later, Type: warmUpType})
					}
				}
			}
			for i := range c.queue + 1 {
				// One at a time, so that the fast subscriber never falls
				// behind.
				e := publish(t, b, topic, "event "+strconv.Itoa(i))
				fast.expect(t, []event{e}, "the fast subscriber")
				waiting = append(waiting, e)
			}
			if len(waiting) <= c.queue {
				t.Fatalf("only %d events waiting, want more than %d", len(waiting), c.queue)
			}
			for i, want := range waiting[:c.queue] {
				r, ok := slow.next(t)
				if !ok || r.err != nil || r.ev != want {
					t.Fatalf("the slow subscriber's element %d of %d: %v, %v (still going: %v); want %v",
						i+1, c.queue, r.ev, r.err, ok, want)
				}
			}
			r, ok := slow.next(t)
			if !ok || !errors.Is(r.err, sseview.ErrSlowSubscriber) {
				t.Fatalf("after its %d queued events the slow subscriber yielded %v, %v (still going: %v); want ErrSlowSubscriber", c.queue, r.ev, r.err, ok)
			}
			if r, ok := slow.next(t); ok {
				t.Fatalf("the slow subscriber yielded %v, %v after ErrSlowSubscriber", r.ev, r.err)
			}
			last := publish(t, b, topic, "after the drop")
			fast.expect(t, []event{last}, "the fast subscriber after the drop")
			again := subscribe(t, b, topic, waiting[c.queue-1].ID)
			again.expect(t, append(waiting[c.queue:], last), "the slow subscriber resuming from its last id")
		})
	}
}

func (s *suite) unboundedQueue(t *testing.T) {
	const n = 600 // more than the default QueueLen
	b := s.newBroker(t, Limits{QueueLen: -1})
	topic := s.topic(t)
	anchor := publish(t, b, topic, "anchor")
	fast := subscribe(t, b, topic, anchor.ID)
	slow := pull(t, b, topic, anchor.ID)
	first := publish(t, b, topic, "first")
	if r, ok := slow.next(t); !ok || r.err != nil || r.ev != first {
		t.Fatalf("the held subscriber's first element: %v, %v; want %v", r.ev, r.err, first)
	}
	fast.expect(t, []event{first}, "the fast subscriber")
	var published []event
	for i := range n {
		e := publish(t, b, topic, "event "+strconv.Itoa(i))
		fast.expect(t, []event{e}, "the fast subscriber")
		published = append(published, e)
	}
	for i, want := range published {
		if r, ok := slow.next(t); !ok || r.err != nil || r.ev != want {
			t.Fatalf("the held subscriber's element %d of %d: %v, %v (still going: %v); want %v", i+1, n, r.ev, r.err, ok, want)
		}
	}
}
