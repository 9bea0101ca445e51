package brokertest

import (
	"errors"
	"strings"
	"testing"

	"github.com/sseview/sseview/sseview"
)

// maxErrorLen bounds the error of a refused name: an error must never
// carry the whole of a long value it was given.
const maxErrorLen = 1024

// invalidTopics are topics the contract refuses, made from a valid base
// topic so that a broker that published them anyway could deliver them to
// a subscriber of base or of base + ".x".
func invalidTopics(base string) []struct{ name, topic string } {
	return []struct{ name, topic string }{
		{"empty", ""},
		{"a lone dot", "."},
		{"an empty token", base + "..x"},
		{"a leading dot", "." + base},
		{"a trailing dot", base + "."},
		{"a space", base + ".x y"},
		{"a space at the end", base + " "},
		{"a token wildcard", base + ".*"},
		{"a tail wildcard", base + ".>"},
		{"a slash", base + "/x"},
		{"a colon", base + ":x"},
		{"non-ASCII", base + ".é"},
		{"a NUL", base + ".\x00"},
		{"a tab", base + ".\t"},
		{"a line break", base + ".x\ny"},
		{"256 bytes", base + "." + strings.Repeat("x", 255-len(base))},
		{"100 KB", base + "." + strings.Repeat("x", 100_000)},
	}
}

func (s *suite) invalidTopics(t *testing.T) {
	b := s.newBroker(t, Limits{})
	base := s.topic(t)
	anchors := []string{base, base + ".x"}
	var subs []*subscription
	for _, topic := range anchors {
		anchor := publish(t, b, topic, "anchor")
		subs = append(subs, subscribe(t, b, topic, anchor.ID))
	}
	for _, c := range invalidTopics(base) {
		_, err := b.Publish(t.Context(), c.topic, sseview.Text{Type: "test", Data: "refused"})
		checkRefusal(t, "Publish to a topic with "+c.name, err, sseview.ErrInvalidTopic)
		_, err = b.Publish(t.Context(), c.topic, sseview.Keyed{Key: "k", Event: sseview.Text{Data: "refused"}})
		checkRefusal(t, "Publish of a keyed event to a topic with "+c.name, err, sseview.ErrInvalidTopic)

		got := collect(t, b, c.topic, "")
		if len(got) != 1 || !errors.Is(got[0].err, sseview.ErrInvalidTopic) {
			t.Errorf("Subscribe to a topic with %s yielded %d elements %v; want one error wrapping ErrInvalidTopic, alone", c.name, len(got), got)
		} else {
			checkRefusal(t, "Subscribe to a topic with "+c.name, got[0].err, sseview.ErrInvalidTopic)
		}
	}
	for i, topic := range anchors {
		after := publish(t, b, topic, "after the refused topics")
		subs[i].expect(t, []event{after}, "the first event of "+topic)
	}
}

// checkRefusal checks that err is a refusal wrapping sentinel, with a
// bounded message.
func checkRefusal(t *testing.T, what string, err, sentinel error) {
	t.Helper()
	switch {
	case !errors.Is(err, sentinel):
		t.Errorf("%s: the error is %.200v, want one wrapping %v", what, err, sentinel)
	case len(err.Error()) > maxErrorLen:
		t.Errorf("%s: the error is %d bytes long, more than %d: %.200s...", what, len(err.Error()), maxErrorLen, err)
	}
}

func (s *suite) validTopics(t *testing.T) {
	b := s.newBroker(t, Limits{})
	base := s.topic(t)
	topics := []struct{ name, topic string }{
		{"one token", strings.ReplaceAll(base, ".", "_")},
		{"every kind of byte", base + ".AZaz09_-"},
		{"dashes and underscores alone", base + ".-._"},
		{"255 bytes", base + "." + strings.Repeat("x", 254-len(base))},
	}
	for _, c := range topics {
		if len(c.topic) > 255 {
			t.Fatalf("the test's topic %q is %d bytes", c.topic, len(c.topic))
		}
		anchor := publish(t, b, c.topic, "anchor")
		sub := subscribe(t, b, c.topic, anchor.ID)
		want := publish(t, b, c.topic, c.name)
		sub.expect(t, []event{want}, "a topic with "+c.name)
		sub.stop(t)
	}
}
