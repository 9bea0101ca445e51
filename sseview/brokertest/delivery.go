package brokertest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/sseview/sseview/sseview"
)

func (s *suite) liveFanOut(t *testing.T) {
	b := s.newBroker(t, Limits{})
	topic := s.topic(t)
	subs := make([]*subscription, 20)
	for i := range subs {
		subs[i] = subscribe(t, b, topic, "")
	}
	waitLive(t, b, topic, subs...)
	want := publishN(t, b, topic, 50)
	for i, sub := range subs {
		sub.expect(t, want, fmt.Sprintf("subscriber %d", i))
	}
}

// idBefore is the order the suite requires of a topic's ids.
func idBefore(a, b string) bool {
	return len(a) < len(b) || len(a) == len(b) && a < b
}

func (s *suite) ids(t *testing.T) {
	b := s.newBroker(t, Limits{})
	topics := []string{s.topic(t), s.topic(t)}
	seen := make(map[string]bool)
	last := make(map[string]string)
	for i := range 60 {
		topic := topics[i%2]
		// The event's own id is replaced by the broker's.
		id, err := b.Publish(t.Context(), topic, sseview.Text{ID: "mine", Data: "x"})
		if err != nil {
			t.Fatal(err)
		}
		checkID(t, id, fmt.Sprintf("the id of event %d", i))
		if id == "mine" {
			t.Errorf("the broker kept the event's own id")
		}
		if seen[id] {
			t.Errorf("id %q given twice", id)
		}
		seen[id] = true
		if prev, ok := last[topic]; ok && !idBefore(prev, id) {
			t.Errorf("id %q follows %q in topic %s: ids must increase", id, prev, topic)
		}
		last[topic] = id
	}
}

func (s *suite) fidelity(t *testing.T) {
	b := s.newBroker(t, Limits{})
	topic := s.topic(t)
	sub := subscribe(t, b, topic, "")
	waitLive(t, b, topic, sub)
	cases := []struct {
		name string
		ev   sseview.Event
		want sseview.Text
	}{
		{"text with lines", sseview.Text{Type: "note", ID: "ignored", Data: "line 1\nline 2\n"}, sseview.Text{Type: "note", Data: "line 1\nline 2\n"}},
		{"empty data, default type", sseview.Text{}, sseview.Text{}},
		{"unicode", sseview.Text{Type: "u", Data: "héllo ☃ \x00 end"}, sseview.Text{Type: "u", Data: "héllo ☃ \x00 end"}},
		{"retry", sseview.Text{Type: "r", Data: "x", Retry: 2 * time.Second}, sseview.Text{Type: "r", Data: "x", Retry: 2 * time.Second}},
		{"json", sseview.JSON{Type: "reading", Data: map[string]any{"t": 21.5}}, sseview.Text{Type: "reading", Data: `{"t":21.5}`}},
		{"encoded", mustEncode(t, sseview.Text{Type: "pre", ID: "old", Data: "encoded"}), sseview.Text{Type: "pre", Data: "encoded"}},
		{"keyed", sseview.Keyed{Key: "fidelity-1", Event: sseview.Text{Type: "k", ID: "old", Data: "keyed"}}, sseview.Text{Type: "k", Data: "keyed"}},
		{"pointer to keyed", &sseview.Keyed{Key: "fidelity-2", Event: sseview.JSON{Type: "k", Data: 1}}, sseview.Text{Type: "k", Data: "1"}},
	}
	for _, c := range cases {
		id, err := b.Publish(t.Context(), topic, c.ev)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := sub.next(t)
		if got.err != nil {
			t.Fatalf("%s: %v", c.name, got.err)
		}
		want := c.want
		want.ID = id
		if got.text != want {
			t.Errorf("%s: got %+v, want %+v", c.name, got.text, want)
		}
	}
}

func mustEncode(t *testing.T, e sseview.Event) *sseview.Encoded {
	t.Helper()
	enc, err := sseview.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func (s *suite) invalid(t *testing.T) {
	b := s.newBroker(t, Limits{})
	topic := s.topic(t)
	sub := subscribe(t, b, topic, "")
	waitLive(t, b, topic, sub)
	bad := []struct {
		name string
		ev   sseview.Event
	}{
		{"line break in type", sseview.Text{Type: "a\nb", Data: "x"}},
		// The broker replaces the id, but an event Encode refuses is refused.
		{"id a client could not send back", sseview.Text{ID: "1 ", Data: "x"}},
		{"invalid UTF-8 data", sseview.Text{Data: "\xff"}},
		{"JSON that cannot be encoded", sseview.JSON{Data: make(chan int)}},
		{"comment", sseview.Comment("hi")},
		{"nil", nil},
		{"nil *Text", (*sseview.Text)(nil)},
	}
	for _, c := range bad {
		if _, err := b.Publish(t.Context(), topic, c.ev); !errors.Is(err, sseview.ErrInvalidEvent) {
			t.Errorf("%s: Publish returned %v, want an error wrapping ErrInvalidEvent", c.name, err)
		}
	}
	after := publish(t, b, topic, "valid")
	sub.expect(t, []event{after}, "the first event after the refused ones")
}

func (s *suite) isolation(t *testing.T) {
	const topics, each = 12, 5
	b := s.newBroker(t, Limits{})
	names := make([]string, topics)
	subs := make([]*subscription, topics)
	for i := range names {
		names[i] = s.topic(t)
		// Resuming from an anchor makes the subscription see every later
		// event without waiting for it to go live.
		anchor := publish(t, b, names[i], "anchor")
		subs[i] = subscribe(t, b, names[i], anchor.ID)
	}
	want := make([][]event, topics)
	for j := range each {
		for i, name := range names {
			want[i] = append(want[i], publish(t, b, name, fmt.Sprintf("topic %d event %d", i, j)))
		}
	}
	for i, name := range names {
		want[i] = append(want[i], publish(t, b, name, "end"))
	}
	for i, sub := range subs {
		sub.expect(t, want[i], "topic "+strconv.Itoa(i))
	}
}

func (s *suite) leaving(t *testing.T) {
	b := s.newBroker(t, Limits{})
	t.Run("when its context is cancelled while it waits", func(t *testing.T) {
		topic := s.topic(t)
		sub := subscribe(t, b, topic, "")
		waitLive(t, b, topic, sub)
		sub.stop(t)
	})
	t.Run("when its context is cancelled during a replay", func(t *testing.T) {
		topic := s.topic(t)
		published := publishN(t, b, topic, 300)
		sub := subscribe(t, b, topic, published[0].ID)
		sub.expect(t, published[1:2], "the first replayed event")
		sub.stop(t)
	})
	t.Run("when its context is already cancelled", func(t *testing.T) {
		topic := s.topic(t)
		published := publishN(t, b, topic, 3)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ev, err := range b.Subscribe(ctx, topic, published[0].ID) {
				if err != nil {
					if !errors.Is(err, context.Canceled) {
						t.Errorf("the error of a cancelled subscription is %v, want context.Canceled", err)
					}
					continue
				}
				t.Errorf("an event after the context was cancelled: %v", ev)
			}
		}()
		select {
		case <-done:
		case <-time.After(Wait):
			t.Errorf("the iterator did not return within %v", Wait)
		}
	})
	t.Run("when the caller stops iterating", func(t *testing.T) {
		topic := s.topic(t)
		published := publishN(t, b, topic, 3)
		ctx, cancel := context.WithTimeout(t.Context(), Wait)
		defer cancel()
		n := 0
		for _, err := range b.Subscribe(ctx, topic, published[0].ID) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			break
		}
		if n != 1 {
			t.Fatalf("got %d events, want 1", n)
		}
		// A broker that still yielded to the stopped loop would panic here
		// or on its own goroutine.
		publishN(t, b, topic, 3)
		sub := subscribe(t, b, topic, published[2].ID)
		sub.event(t)
	})
}
