package sseviewtest

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

// Expect reads len(want) events and fails t unless they are want, in order.
// It stops at the first event that differs, and at an error: a timeout (each
// read waits at most Timeout), the end of the stream, a broken connection.
// The failure shows what arrived against what was wanted, line by line:
//
//	sseviewtest: Expect: events differ (- want, + got):
//	  {Type: "chat", Data: "hi", ID: "1"}
//	- {Type: "chat", Data: "bye", ID: "2"}
//	+ {Type: "chat", Data: "hi again", ID: "2"}
//	- {Type: "chat", Data: "later", ID: "3"} (not read)
//
// With Comments set, comments are among the events to want. Expect calls
// t.Fatalf, so call it from the goroutine running the test.
func (s *Stream) Expect(t testing.TB, want ...Event) {
	t.Helper()
	var got []Event
	for i := range want {
		ev, err := s.Next()
		if err != nil {
			t.Fatalf("sseviewtest: Expect: %s", diff(want, got, err))
			return
		}
		got = append(got, ev)
		if ev != want[i] {
			t.Fatalf("sseviewtest: Expect: %s", diff(want, got, nil))
			return
		}
	}
}

// ExpectEnd fails t unless the server ends the stream within Timeout, with
// no event before the end: the check that a stream that should finish, such
// as one whose view failed, does. It calls t.Fatalf, so call it from the
// goroutine running the test.
func (s *Stream) ExpectEnd(t testing.TB) {
	t.Helper()
	ev, err := s.Next()
	switch {
	case err == nil:
		t.Fatalf("sseviewtest: ExpectEnd: want the end of the stream, got %s", ev)
	case errors.Is(err, ErrTimeout):
		t.Fatalf("sseviewtest: ExpectEnd: want the end of the stream, but it is still open: %v", err)
	case err != io.EOF:
		t.Fatalf("sseviewtest: ExpectEnd: want the server to end the stream, but: %v", err)
	}
}

// diff lays out want against got, where got stops at the first difference
// or at err.
func diff(want, got []Event, err error) string {
	var b strings.Builder
	switch {
	case err == io.EOF:
		b.WriteString("the stream ended after ")
		b.WriteString(strconv.Itoa(len(got)))
		b.WriteString(" of the ")
		b.WriteString(strconv.Itoa(len(want)))
		b.WriteString(" wanted (- want, + got):\n")
	case err != nil:
		b.WriteString("reading event ")
		b.WriteString(strconv.Itoa(len(got) + 1))
		b.WriteString(" of ")
		b.WriteString(strconv.Itoa(len(want)))
		b.WriteString(": ")
		b.WriteString(err.Error())
		b.WriteString(" (- want, + got):\n")
	default:
		b.WriteString("events differ (- want, + got):\n")
	}
	var notes []string
	for i, w := range want {
		switch {
		case i < len(got) && got[i] == w:
			b.WriteString("  " + w.String() + "\n")
		case i < len(got):
			b.WriteString("- " + w.String() + "\n")
			b.WriteString("+ " + got[i].String() + "\n")
			if note := firstDifference(w, got[i]); note != "" {
				notes = append(notes, note)
			}
		case i == len(got) && err != nil:
			b.WriteString("- " + w.String() + "\n")
			if err == io.EOF {
				b.WriteString("+ (end of stream)\n")
			} else {
				b.WriteString("+ (nothing)\n")
			}
		default:
			b.WriteString("- " + w.String() + " (not read)\n")
		}
	}
	for _, n := range notes {
		b.WriteString(n + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}
