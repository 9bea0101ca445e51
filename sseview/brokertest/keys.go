package brokertest

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/sseview/sseview/sseview"
)

func keyed(key, data string) sseview.Keyed {
	return sseview.Keyed{Key: key, Event: sseview.Text{Type: "test", Data: data}}
}

func (s *suite) keyedOnce(t *testing.T) {
	b := s.newBroker(t, Limits{})
	topic := s.topic(t)
	anchor := publish(t, b, topic, "anchor")
	live := subscribe(t, b, topic, anchor.ID)

	first := publishEvent(t, b, topic, keyed("reading-1", "first"), event{Type: "test", Data: "first"})
	// A repeat is the same logical event whatever it carries: the first
	// copy stays, and its id is returned again.
	for _, again := range []sseview.Event{keyed("reading-1", "first"), keyed("reading-1", "other data"), &sseview.Keyed{Key: "reading-1", Event: sseview.Text{Data: "x"}}} {
		id, err := b.Publish(t.Context(), topic, again)
		if err != nil {
			t.Fatalf("publishing a repeat: %v", err)
		}
		if id != first.ID {
			t.Errorf("a repeat of key reading-1 got id %q, want the first copy's %q", id, first.ID)
		}
	}
	second := publishEvent(t, b, topic, &sseview.Keyed{Key: "reading-2", Event: sseview.Text{Type: "test", Data: "second"}}, event{Type: "test", Data: "second"})
	if second.ID == first.ID {
		t.Fatalf("two keys got one id %q", first.ID)
	}
	plain := publish(t, b, topic, "not keyed")
	want := []event{first, second, plain}
	live.expect(t, want, "a live subscriber")
	resumed := subscribe(t, b, topic, anchor.ID)
	resumed.expect(t, want, "a subscriber resuming from before the repeats")
}

func (s *suite) keysPerTopic(t *testing.T) {
	b := s.newBroker(t, Limits{})
	topics := []string{s.topic(t), s.topic(t)}
	var subs []*subscription
	for _, topic := range topics {
		anchor := publish(t, b, topic, "anchor")
		subs = append(subs, subscribe(t, b, topic, anchor.ID))
	}
	var got []event
	for _, topic := range topics {
		got = append(got, publishEvent(t, b, topic, keyed("same-key", topic), event{Type: "test", Data: topic}))
	}
	for i, sub := range subs {
		sub.expect(t, got[i:i+1], "the keyed event of topic "+topics[i])
	}
}

func (s *suite) keyedConcurrently(t *testing.T) {
	const publishers = 8
	b := s.newBroker(t, Limits{})
	topic := s.topic(t)
	anchor := publish(t, b, topic, "anchor")
	sub := subscribe(t, b, topic, anchor.ID)
	ids := make([]string, publishers)
	var wg sync.WaitGroup
	for i := range publishers {
		wg.Go(func() {
			id, err := b.Publish(t.Context(), topic, keyed("once", "from several instances"))
			if err != nil {
				t.Errorf("publisher %d: %v", i, err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	for i, id := range ids {
		if id != ids[0] {
			t.Fatalf("publisher %d got id %q, publisher 0 got %q: one key, two events", i, id, ids[0])
		}
	}
	end := publish(t, b, topic, "end")
	sub.expect(t, []event{{ID: ids[0], Type: "test", Data: "from several instances"}, end}, "one copy of the keyed event")
}

func (s *suite) invalidKeys(t *testing.T) {
	b := s.newBroker(t, Limits{})
	topic := s.topic(t)
	anchor := publish(t, b, topic, "anchor")
	sub := subscribe(t, b, topic, anchor.ID)
	bad := []struct {
		name string
		ev   sseview.Event
	}{
		{"an empty key", keyed("", "x")},
		{"a space in the key", keyed("a b", "x")},
		{"a key ending in a space", keyed("a ", "x")},
		{"a line break in the key", keyed("a\nb", "x")},
		{"a NUL in the key", keyed("a\x00", "x")},
		{"DEL in the key", keyed("a\x7f", "x")},
		{"non-ASCII in the key", keyed("é", "x")},
		{"a key of 129 bytes", keyed(strings.Repeat("k", 129), "x")},
		{"a key of 100 KB", keyed(strings.Repeat("k", 100_000), "x")},
		{"an invalid event with a valid key", sseview.Keyed{Key: "valid-key", Event: sseview.Text{Type: "a\nb"}}},
		{"no event", sseview.Keyed{Key: "valid-key"}},
		{"a comment", sseview.Keyed{Key: "valid-key", Event: sseview.Comment("c")}},
		{"a keyed event inside a keyed event", sseview.Keyed{Key: "valid-key", Event: keyed("inner", "x")}},
		{"a nil *Keyed", (*sseview.Keyed)(nil)},
	}
	for _, c := range bad {
		_, err := b.Publish(t.Context(), topic, c.ev)
		checkRefusal(t, "Publish of "+c.name, err, sseview.ErrInvalidEvent)
		if errors.Is(err, sseview.ErrInvalidTopic) {
			t.Errorf("Publish of %s: the error %v blames the topic", c.name, err)
		}
	}
	// A refused event did not take its key.
	ok := publishEvent(t, b, topic, keyed("valid-key", "valid"), event{Type: "test", Data: "valid"})
	long := publishEvent(t, b, topic, keyed(strings.Repeat("k", 128)+"", "128 bytes"), event{Type: "test", Data: "128 bytes"})
	punct := publishEvent(t, b, topic, keyed("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "punctuation"), event{Type: "test", Data: "punctuation"})
	sub.expect(t, []event{ok, long, punct}, "the events after the refused ones")
}
