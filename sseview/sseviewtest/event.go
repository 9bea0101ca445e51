package sseviewtest

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is one thing a stream delivered, as a browser's EventSource sees
// it: an event it dispatches, or, when [Stream.Comments] is set, a comment
// line, which EventSource ignores. Events compare with ==.
type Event struct {
	// Type is the event type: "message" when the stream named none, as
	// EventSource dispatches it. It is never empty for an event, and always
	// empty for a comment.
	Type string

	// Data is the event's data lines joined with LF, without the last LF.
	// Every line break the server sent (CRLF, CR or LF) arrives as LF.
	Data string

	// ID is the last event ID at dispatch, the MessageEvent's lastEventId:
	// the value of the latest id field, carried forward to the events that
	// have none, or "" when none was sent or an empty id reset it. An id
	// holding a NUL is ignored, as the standard says.
	ID string

	// Retry is the reconnection time set by a valid retry field among the
	// event's own lines, or zero. It is there to check an event that was
	// written with one; the reconnection time in force, also set by retry
	// fields outside events, is [Stream.Retry].
	Retry time.Duration

	// Comment is a comment line exactly as sent, from its colon on, without
	// its line end: ": keep-alive" gives ": keep-alive" (the standard
	// removes no space from comments). The colon is kept so that a comment
	// that is a colon alone, ":", is still told apart from the zero Event.
	Comment string
}

// IsComment reports whether e is a comment line rather than an event: it
// has a Comment and no Type. The zero Event, which Next returns with an
// error, is neither.
func (e Event) IsComment() bool { return e.Type == "" && e.Comment != "" }

// maxShown is how much of one field a failure message quotes. The fields
// are the test's own values, but a megabyte of data would bury the message.
const maxShown = 200

// String formats e as a Go-like literal, for failure messages and
// Examples. An event always shows its Type and Data, a comment its Comment,
// and the other fields show when set; the zero Event is {}:
//
//	{Type: "chat", Data: "hi", ID: "7"}
//	{Comment: ": keep-alive"}
func (e Event) String() string {
	if e == (Event{}) {
		return "{}"
	}
	var b strings.Builder
	b.WriteByte('{')
	field := func(name, value string) {
		if b.Len() > 1 {
			b.WriteString(", ")
		}
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(value)
	}
	if e.IsComment() {
		field("Comment", shown(e.Comment))
	} else {
		field("Type", shown(e.Type))
		field("Data", shown(e.Data))
		if e.Comment != "" { // only a hand-made Event has both
			field("Comment", shown(e.Comment))
		}
	}
	if e.ID != "" {
		field("ID", shown(e.ID))
	}
	if e.Retry != 0 {
		field("Retry", e.Retry.String())
	}
	b.WriteByte('}')
	return b.String()
}

// shown quotes s, cut to maxShown bytes at a rune boundary with its whole
// length noted.
func shown(s string) string {
	if len(s) <= maxShown {
		return strconv.Quote(s)
	}
	cut := maxShown
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "... (" + strconv.Itoa(len(s)) + " bytes)"
}

// firstDifference describes where two long field values part, when String
// would cut them before the difference shows.
func firstDifference(want, got Event) string {
	var notes []string
	for _, f := range []struct{ name, want, got string }{
		{"Type", want.Type, got.Type},
		{"Data", want.Data, got.Data},
		{"ID", want.ID, got.ID},
		{"Comment", want.Comment, got.Comment},
	} {
		if f.want == f.got || (len(f.want) <= maxShown && len(f.got) <= maxShown) {
			continue
		}
		i := 0
		for i < len(f.want) && i < len(f.got) && f.want[i] == f.got[i] {
			i++
		}
		notes = append(notes, f.name+" differs from byte "+strconv.Itoa(i)+
			": want "+window(f.want, i)+", got "+window(f.got, i))
	}
	return strings.Join(notes, "; ")
}

// window quotes up to 32 bytes of s from a little before i.
func window(s string, i int) string {
	from := max(0, i-8)
	to := min(len(s), from+32)
	w := strconv.Quote(s[from:to])
	if from > 0 {
		w = "..." + w
	}
	if to < len(s) {
		w += "..."
	}
	return w
}
