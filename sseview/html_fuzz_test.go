package sseview

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/sseview/sseview/internal/eventstream"
)

// FuzzHTML writes arbitrary markup as an HTML event in a stream's buffer
// and reads it back with the independent WHATWG parser: it is one event of
// the type it was given, whose data is the markup with its line breaks as
// LF (the same DOM), followed by an undisturbed sentinel; or, for invalid
// UTF-8, it is refused and nothing is written.
func FuzzHTML(f *testing.F) {
	f.Add("message", "<div>a\rdata: injected\revent: evil</div>")
	f.Add("", "<pre>a\r\nb\rc\nd</pre>\n")
	f.Add("card", "<p title=\"x\ry\">\r\r\n</p>\r")
	f.Add("t", "<b>\xff</b>")
	f.Fuzz(func(t *testing.T, typ, markup string) {
		if !utf8.ValidString(typ) || refusal(Text{Type: typ}) != "" {
			return // the type's own rules are FuzzRoundTrip's
		}
		wire, err := HTML{Type: typ, Fragment: Markup(markup)}.appendRendered(t.Context(), nil)
		if err != nil {
			if !errors.Is(err, ErrInvalidEvent) || utf8.ValidString(markup) || len(wire) != 0 {
				t.Fatalf("refused %q with %v, wrote %q", markup, err, wire)
			}
			return
		}
		wire = append(wire, "event: after\ndata: sentinel\n\n"...)
		events, _, _ := eventstream.ParseString(string(wire))
		want := eventstream.Event{Type: typ, Data: lineBreaksToLF(markup)}
		if typ == "" {
			want.Type = "message"
		}
		if len(events) != 2 || events[0] != want || events[1] != (eventstream.Event{Type: "after", Data: "sentinel"}) {
			t.Fatalf("markup %q came back as %#v from %q", markup, events, wire)
		}
	})
}
