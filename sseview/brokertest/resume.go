package brokertest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sseview/sseview/sseview"
)

func (s *suite) resumeEveryPoint(t *testing.T) {
	b := s.newBroker(t, Limits{})
	topic := s.topic(t)
	published := publishN(t, b, topic, 12)
	for i := range 12 {
		from := published[i]
		sub := subscribe(t, b, topic, from.ID)
		sub.expect(t, published[i+1:], fmt.Sprintf("resuming after event %d", i))
		live := publish(t, b, topic, "live after "+strconv.Itoa(i))
		published = append(published, live)
		sub.expect(t, []event{live}, fmt.Sprintf("resuming after event %d, then live", i))
		sub.stop(t)
	}
}

// resumeUnderLoad subscribes from the newest id while a publisher keeps
// publishing, so the history snapshot and going live race with it. A
// subscriber dropped as slow reconnects from the last id it got, as a
// client does.
func (s *suite) resumeUnderLoad(t *testing.T) {
	const total, starts = 300, 10
	b := s.newBroker(t, Limits{})
	topic := s.topic(t)
	ids := make(chan string, total)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range total {
			id, err := b.Publish(t.Context(), topic, sseview.Text{Type: "test", Data: strconv.Itoa(i)})
			if err != nil {
				t.Errorf("Publish: %v", err)
				return
			}
			ids <- id
		}
	})
	defer wg.Wait()

	var published []string
	type result struct {
		from int
		got  []event
		err  error
	}
	results := make(chan result, starts)
	for len(published) < total {
		select {
		case id := <-ids:
			published = append(published, id)
		case <-time.After(Wait):
			t.Fatalf("the publisher stalled")
		}
		if n := len(published); n%(total/starts) == 1 {
			from, fromID := n-1, published[n-1]
			go func() {
				got, err := follow(t.Context(), b, topic, fromID, strconv.Itoa(total-1))
				results <- result{from, got, err}
			}()
		}
	}
	for range starts {
		var r result
		select {
		case r = <-results:
		case <-time.After(Wait):
			t.Fatalf("a subscriber did not get to the last event")
		}
		if r.err != nil {
			t.Fatalf("subscriber from event %d: %v", r.from, r.err)
		}
		want := make([]event, 0, total)
		for i := r.from + 1; i < total; i++ {
			want = append(want, event{ID: published[i], Type: "test", Data: strconv.Itoa(i)})
		}
		if !equalEvents(r.got, want) {
			t.Errorf("subscriber resuming after event %d got %d events, want %d: first difference %s",
				r.from, len(r.got), len(want), firstDifference(r.got, want))
		}
	}
}

func equalEvents(a, b []event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func firstDifference(got, want []event) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d: got %v, want %v", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("at %d: one list ends", min(len(got), len(want)))
}

// follow subscribes from lastEventID and collects events until one has
// data last, reconnecting from its last id after ErrSlowSubscriber.
func follow(ctx context.Context, b sseview.Broker, topic, lastEventID, last string) ([]event, error) {
	ctx, cancel := context.WithTimeout(ctx, Wait)
	defer cancel()
	var got []event
	for {
		for ev, err := range b.Subscribe(ctx, topic, lastEventID) {
			if errors.Is(err, sseview.ErrSlowSubscriber) {
				break
			}
			r := receive(ev, err)
			if r.err != nil {
				return got, r.err
			}
			got = append(got, r.ev)
			lastEventID = r.ev.ID
			if r.ev.Data == last {
				return got, nil
			}
		}
		if err := ctx.Err(); err != nil {
			return got, fmt.Errorf("brokertest: %d events before the deadline: %w", len(got), err)
		}
	}
}

func (s *suite) emptyID(t *testing.T) {
	b := s.newBroker(t, Limits{})
	topic := s.topic(t)
	publishN(t, b, topic, 3)
	sub := subscribe(t, b, topic, "")
	// waitLive fails if anything but a warm-up event comes first.
	waitLive(t, b, topic, sub)
	after := publish(t, b, topic, "after")
	sub.expect(t, []event{after}, "the first event after going live")
}

func (s *suite) evictedByCount(t *testing.T) {
	const keep, total = 5, 10
	b := s.newBroker(t, Limits{MaxEvents: keep})
	// Events 5..9 are kept; event 4 is the newest evicted.
	cases := []struct {
		name  string
		from  int
		reset bool // true: must reset; false: must replay
		maybe bool // either is right
	}{
		{"the oldest event", 0, true, false},
		{"an event well before the history", 3, true, false},
		{"the newest evicted event", 4, false, true},
		{"the oldest kept event", 5, false, false},
		{"the newest but one event", 8, false, false},
	}
	for _, c := range cases {
		t.Run("resuming after "+c.name, func(t *testing.T) {
			topic := s.topic(t)
			published := publishN(t, b, topic, total)
			expectResume(t, b, topic, published, c.from, c.reset, c.maybe)
		})
	}
}

// expectResume subscribes after published[from] and checks that the
// subscription starts with a reset to the newest event (reset), or with
// the rest of published (!reset), or either (maybe), then goes live. It
// returns the live event it published.
func expectResume(t *testing.T, b sseview.Broker, topic string, published []event, from int, reset, maybe bool) event {
	t.Helper()
	sub := subscribe(t, b, topic, published[from].ID)
	first := sub.event(t)
	isReset := first.Type == sseview.ResetEventType
	if !maybe && reset != isReset {
		t.Fatalf("resuming after event %d of %d: first event %v; want a reset: %v", from, len(published), first, reset)
	}
	if isReset {
		if first.Data != "" {
			t.Errorf("the reset event's data is %q, want none", first.Data)
		}
		if newest := published[len(published)-1]; first.ID != newest.ID {
			t.Errorf("the reset event's id is %q, want the newest kept, %q", first.ID, newest.ID)
		}
	} else {
		want := published[from+1:]
		if first != want[0] {
			t.Fatalf("the first event replayed is %v, want %v", first, want[0])
		}
		sub.expect(t, want[1:], "replayed events")
	}
	live := publish(t, b, topic, "live")
	sub.expect(t, []event{live}, "the first live event")
	sub.stop(t)
	return live
}

func (s *suite) evictedByAge(t *testing.T) {
	const maxAge = 500 * time.Millisecond
	b := s.newBroker(t, Limits{MaxAge: maxAge})
	topic := s.topic(t)
	old := publish(t, b, topic, "old")
	deadline := time.Now().Add(maxAge + Wait)
	tick := time.NewTicker(maxAge / 10)
	defer tick.Stop()
	for {
		if time.Now().After(deadline) {
			t.Fatalf("an event was still kept %v after MaxAge %v", Wait, maxAge)
		}
		<-tick.C
		// fresh is kept when old has aged out, so the reset has its id.
		fresh := publish(t, b, topic, "fresh")
		sub := subscribe(t, b, topic, old.ID)
		first := sub.event(t)
		if first.Type != sseview.ResetEventType {
			if first.Type != "test" {
				t.Fatalf("the first event is neither a reset nor the replay: %v", first)
			}
			sub.stop(t)
			continue
		}
		if first.Data != "" {
			t.Errorf("the reset event's data is %q, want none", first.Data)
		}
		if first.ID != fresh.ID {
			t.Errorf("the reset event's id is %q, want the newest kept, %q", first.ID, fresh.ID)
		}
		live := publish(t, b, topic, "live")
		sub.expect(t, []event{live}, "the first live event")
		return
	}
}

func (s *suite) maxEventsDefaults(t *testing.T) {
	const total = 1002
	t.Run("zero keeps 1000", func(t *testing.T) {
		b := s.newBroker(t, Limits{})
		topic := s.topic(t)
		published := publishN(t, b, topic, total)
		// Events 2..1001 are kept: resuming after event 2 misses nothing.
		live := expectResume(t, b, topic, published, 2, false, false)
		// Resuming after event 0 misses event 1, which was evicted.
		expectResume(t, b, topic, append(published, live), 0, true, false)
	})
	t.Run("negative keeps all", func(t *testing.T) {
		b := s.newBroker(t, Limits{MaxEvents: -1})
		topic := s.topic(t)
		published := publishN(t, b, topic, total)
		expectResume(t, b, topic, published, 0, false, false)
	})
}

func (s *suite) unknownID(t *testing.T) {
	b := s.newBroker(t, Limits{})
	withHistory := s.topic(t)
	published := publishN(t, b, withHistory, 3)
	newest := published[2]
	unknown := []struct{ name, id string }{
		{"garbage", "garbage"},
		{"negative", "-1"},
		{"too long for any integer", strings.Repeat("9", 40)},
		{"from the future", newest.ID + "999999"},
		{"a known id with a space before it", " " + newest.ID},
		{"non-ASCII", "é"},
	}
	for _, c := range unknown {
		t.Run(c.name, func(t *testing.T) {
			sub := subscribe(t, b, withHistory, c.id)
			if id := sub.expectReset(t); id != newest.ID {
				t.Errorf("the reset event's id is %q, want the newest kept, %q", id, newest.ID)
			}
			live := publish(t, b, withHistory, "live")
			newest = live
			sub.expect(t, []event{live}, "the first live event")
		})
	}
	t.Run("on a topic with no history", func(t *testing.T) {
		topic := s.topic(t)
		sub := subscribe(t, b, topic, "garbage")
		id := sub.expectReset(t)
		live := publish(t, b, topic, "live")
		sub.expect(t, []event{live}, "the first live event")
		// The reset's id is a place to resume from.
		again := subscribe(t, b, topic, id)
		again.expect(t, []event{live}, "resuming from the reset's id")
	})
}
