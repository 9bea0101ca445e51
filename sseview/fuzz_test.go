package sseview

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sseview/sseview/internal/eventstream"
	"github.com/sseview/sseview/internal/testutil"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

// FuzzRoundTrip encodes arbitrary events and reads them back with the
// independent WHATWG parser in internal/eventstream. Every event either comes
// back as written (line breaks as LF) or is refused with a reason that its
// fields really have; no input ever produces a field of its own.
//
// The id the parser ends with is what a client sends back when it
// reconnects, so the test sends it as the Last-Event-ID header of a real
// request (Go client, net/http server, Handler, read with the public test
// kit), and then as the
// lastEventId query parameter, and requires LastEventID to see it
// unchanged: whatever the encoder writes, a client can resume from.
// MemoryBroker.Publish must refuse exactly the events the encoder refuses.
func FuzzRoundTrip(f *testing.F) {
	resume := newResumeServer(f)
	broker := &MemoryBroker{MaxEvents: 1}
	f.Add("weather", "42", "data\n\r with\nmultiple \rline\r\nbreaks", int64(1500), "note")
	f.Add("", "", "LF at end\n", int64(0), "")
	f.Add("a\rdata: injected", "1", "x", int64(0), "")
	f.Add("a", "1\ndata: injected", "x", int64(0), "a\nb")
	f.Add("t", "1\x002", "", int64(-5), "\r\n")
	f.Add(" spaced", " id", " data", int64(3), ":")
	f.Add("\ufefft", "é", "\x00\ufeff", int64(1), "\xff")
	f.Add("t", edgeID, "x", int64(0), "")
	f.Add("t", edgeID+"a", "x", int64(0), "")
	f.Add("t", "a\tb", "x", int64(0), "")
	f.Add("t", "a\x7f", "x", int64(0), "")
	f.Add("t", "1 ", "x", int64(0), "")
	f.Add("t", "\u00a0nbsp\u3000", "x", int64(0), "")
	f.Fuzz(func(t *testing.T, typ, id, data string, retryMs int64, comment string) {
		ev := Text{Type: typ, ID: id, Data: data, Retry: time.Duration(retryMs) * time.Millisecond}
		wire, err := appendEvent(nil, ev)
		_, pubErr := broker.Publish(t.Context(), "fuzz", ev)
		if (pubErr == nil) != (err == nil) {
			t.Fatalf("encoder and MemoryBroker.Publish disagree on %#v: %v, %v", ev, err, pubErr)
		}
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

		events, retry, retrySet := eventstream.ParseString(string(wire))
		if len(events) != 2 {
			t.Fatalf("want 2 events, got %d from %q", len(events), wire)
		}
		want := eventstream.Event{Type: typ, Data: lineBreaksToLF(data), LastEventID: id}
		if typ == "" {
			want.Type = "message"
		}
		if events[0] != want {
			t.Fatalf("round trip:\n got  %#v\n want %#v\n wire %q", events[0], want, wire)
		}
		if after := (eventstream.Event{Type: "after", Data: "sentinel", LastEventID: id}); events[1] != after {
			t.Fatalf("the next event was disturbed: %#v", events[1])
		}
		if retrySet != (ev.Retry > 0) || (retrySet && retry != ev.Retry) {
			t.Fatalf("retry: got %v (set %v), want %v", retry, retrySet, ev.Retry)
		}
		if id != "" {
			sent := events[1].LastEventID
			if got := resume.lastEventID(t, "", http.Header{"Last-Event-Id": {sent}}); got != id {
				t.Fatalf("id %q came back in the header as %q", id, got)
			}
			if got := resume.lastEventID(t, "?lastEventId="+url.QueryEscape(sent), nil); got != id {
				t.Fatalf("id %q came back in the query as %q", id, got)
			}
		}
	})
}

// resumeServer is a Handler over HTTP whose view sends the request's
// LastEventID back as its only event.
type resumeServer struct {
	url    string
	client *http.Client
}

func newResumeServer(tb testing.TB) *resumeServer {
	view := viewFunc(func(_ context.Context, r *http.Request, _ Params) iter.Seq2[Event, error] {
		return events(Text{Data: LastEventID(r)})
	})
	srv := testutil.Serve(tb, &Handler{View: view})
	transport := http.DefaultTransport.(*http.Transport).Clone()
	tb.Cleanup(transport.CloseIdleConnections)
	return &resumeServer{url: srv.URL, client: &http.Client{Transport: transport}}
}

// lastEventID reconnects with the query and header that carry the id a
// client holds and returns what the view saw. Any failure on the way is the
// test's.
func (s *resumeServer) lastEventID(t *testing.T, query string, header http.Header) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.url+"/"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	id := query + fmt.Sprint(header)
	stream, err := sseviewtest.Dial(s.client, req)
	if err != nil {
		t.Fatalf("reconnect with id %q: %v", id, err)
	}
	defer stream.Close()
	ev, err := stream.Next()
	if err != nil {
		t.Fatalf("reconnect with id %q: %v", id, err)
	}
	stream.ExpectEnd(t)
	return ev.Data
}

// refusal says what makes ev impossible to write as it is, or "".
func refusal(ev Text) string {
	switch {
	case strings.ContainsAny(ev.Type, "\r\n"):
		return "a line break in the type"
	case strings.ContainsFunc(ev.ID, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "an ASCII control character in the id"
	case len(ev.ID) > 256:
		return "an id too long to come back"
	case strings.HasPrefix(ev.ID, " ") || strings.HasSuffix(ev.ID, " "):
		return "a space around the id, which header parsing trims"
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
