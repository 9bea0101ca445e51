package sseview

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sseview/sseview/internal/testutil"
)

// FuzzRoundTrip encodes arbitrary events and reads them back with the
// independent WHATWG parser in internal/testutil. Every event either comes
// back as written (line breaks as LF) or is refused with a reason that its
// fields really have; no input ever produces a field of its own.
func FuzzRoundTrip(f *testing.F) {
	f.Add("weather", "42", "data\n\r with\nmultiple \rline\r\nbreaks", int64(1500), "note")
	f.Add("", "", "LF at end\n", int64(0), "")
	f.Add("a\rdata: injected", "1", "x", int64(0), "")
	f.Add("a", "1\ndata: injected", "x", int64(0), "a\nb")
	f.Add("t", "1\x002", "", int64(-5), "\r\n")
	f.Add(" spaced", " id", " data", int64(3), ":")
	f.Add("\ufefft", "é", "\x00\ufeff", int64(1), "\xff")
	f.Fuzz(func(t *testing.T, typ, id, data string, retryMs int64, comment string) {
		ev := Text{Type: typ, ID: id, Data: data, Retry: time.Duration(retryMs) * time.Millisecond}
		wire, err := appendEvent(nil, ev)
		if err != nil {
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("error without ErrInvalidEvent: %v", err)
			}
			if why := refusal(ev); why == "" {
				t.Fatalf("refused a valid event %#v: %v", ev, err)
			}
			if len(wire) != 0 {
				t.Fatalf("wrote %q for a refused event", wire)
			}
			return
		}
		if why := refusal(ev); why != "" {
			t.Fatalf("accepted an event with %s: %#v", why, ev)
		}
		// A comment before and a second event after show that nothing the
		// fields held leaks into the fields around them.
		wire, err = appendEvent(wire, Comment(strings.ToValidUTF8(comment, "?")))
		if err != nil {
			t.Fatal(err)
		}
		wire, err = appendEvent(wire, Text{Type: "after", Data: "sentinel"})
		if err != nil {
			t.Fatal(err)
		}

		events, retry, retrySet := testutil.ParseString(string(wire))
		if len(events) != 2 {
			t.Fatalf("want 2 events, got %d from %q", len(events), wire)
		}
		want := testutil.Event{Type: typ, Data: lineBreaksToLF(data), LastEventID: id}
		if typ == "" {
			want.Type = "message"
		}
		if events[0] != want {
			t.Fatalf("round trip:\n got  %#v\n want %#v\n wire %q", events[0], want, wire)
		}
		if after := (testutil.Event{Type: "after", Data: "sentinel", LastEventID: id}); events[1] != after {
			t.Fatalf("the next event was disturbed: %#v", events[1])
		}
		if retrySet != (ev.Retry > 0) || (retrySet && retry != ev.Retry) {
			t.Fatalf("retry: got %v (set %v), want %v", retry, retrySet, ev.Retry)
		}
	})
}

// refusal says what makes ev impossible to write as it is, or "".
func refusal(ev Text) string {
	switch {
	case strings.ContainsAny(ev.Type, "\r\n"):
		return "a line break in the type"
	case strings.ContainsAny(ev.ID, "\r\n\x00"):
		return "a line break or NUL in the id"
	case !utf8.ValidString(ev.Type) || !utf8.ValidString(ev.ID) || !utf8.ValidString(ev.Data):
		return "invalid UTF-8"
	case ev.Retry < 0:
		return "a negative retry"
	}
	return ""
}

func lineBreaksToLF(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}
