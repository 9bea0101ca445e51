package sseviewtest_test

import (
	"context"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

// refusing is a view that refuses every request with status.
type refusing int

func (v refusing) Accept(*http.Request, sseview.Params) error {
	return sseview.Refuse(int(v), "sseview: go away")
}

func (refusing) Stream(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
	return nil
}

func writes(contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		_, _ = io.WriteString(w, body)
	}
}

// TestNotAStream: a response EventSource would fail is an error from Open
// and Dial, naming what was expected and quoting the start of the body.
func TestNotAStream(t *testing.T) {
	tests := []struct {
		name string
		h    http.Handler
		want string
	}{
		{"refused with 500", &sseview.Handler{View: refusing(http.StatusServiceUnavailable), Logger: quiet},
			`GET "/x": status "503 Service Unavailable", want "200 OK", body "{\"error\":\"sseview: go away\"}\n"`},
		{"told to stop with 204", &sseview.Handler{View: refusing(http.StatusNoContent)},
			`GET "/x": status "204 No Content", want "200 OK" (204 tells EventSource to stop reconnecting), no body`},
		{"no route", router(func(chi.Router) {}),
			`GET "/x": status "404 Not Found", want "200 OK", body "404 page not found\n"`},
		{"sniffed as text", writes("", "data: x\n\n"),
			`GET "/x": Content-Type "text/plain; charset=utf-8", want "text/event-stream", body "data: x\n\n"`},
		{"JSON", writes("application/json", `{"a":1}`),
			`GET "/x": Content-Type "application/json", want "text/event-stream", body "{\"a\":1}"`},
		{"another charset", writes("text/event-stream; charset=iso-8859-1", "data: x\n\n"),
			`GET "/x": Content-Type "text/event-stream; charset=iso-8859-1": an event stream is UTF-8`},
		{"nothing written", writes("", ""),
			`GET "/x": Content-Type "", want "text/event-stream", no body`},
		{"a long body is cut", writes("text/html", strings.Repeat("<p>", 1000)),
			`GET "/x": Content-Type "text/html", want "text/event-stream", body starting "<p><p>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sseviewtest.Open(tt.h, httptest.NewRequest(http.MethodGet, "/x", nil))
			assert.Nil(t, s)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "sseviewtest: "+tt.want)
			assert.Less(t, len(err.Error()), 1000, "the error quotes a bounded part of the body")

			srv := httptest.NewServer(tt.h)
			defer srv.Close()
			req, reqErr := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
			require.NoError(t, reqErr)
			s, err = sseviewtest.Dial(nil, req)
			assert.Nil(t, s)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "sseviewtest: "+tt.want)
		})
	}
}

func TestDialConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	req, err := http.NewRequest(http.MethodGet, url+"/x", nil)
	require.NoError(t, err)
	_, err = sseviewtest.Dial(nil, req)
	assert.ErrorContains(t, err, `sseviewtest: GET "/x": `)
}

// TestNoHeaders: a handler that never flushes its headers, because it
// writes nothing or forgets to flush what it wrote, makes Open fail after
// its 10 s, on the fake clock here, instead of hanging.
func TestNoHeaders(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"never writes": func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
		"never flushes": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: stuck in the buffer\n\n")
			<-r.Context().Done()
		},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				s, err := sseviewtest.Open(h, httptest.NewRequest(http.MethodGet, "/x", nil))
				assert.Nil(t, s)
				assert.EqualError(t, err, `sseviewtest: GET "/x": no response headers within 10s `+
					`(a stream must flush them at once, before its first event)`)
				assert.Equal(t, 10*time.Second, time.Since(start))
			})
		})
	}
}

func TestPanicBeforeHeaders(t *testing.T) {
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("no stream today") })
	_, err := sseviewtest.Open(h, httptest.NewRequest(http.MethodGet, "/x", nil))
	assert.ErrorContains(t, err, `sseviewtest: GET "/x": no response: sseviewtest: the handler panicked: "no stream today"`)
}

// stream serves body, flushed, and then holds the stream open.
func stream(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, body)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
}

// streamThenEnd serves body and ends the response.
func streamThenEnd(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, body)
	}
}

func msg(data, id string) sseviewtest.Event {
	return sseviewtest.Event{Type: "message", Data: data, ID: id}
}

// expectFailure opens h, runs check with a recording TB, and returns the
// failure it recorded. It runs in a synctest bubble, so the 10 s timeouts
// take no real time.
func expectFailure(t *testing.T, h http.Handler, check func(tb testing.TB, s *sseviewtest.Stream)) string {
	t.Helper()
	var fatal string
	synctest.Test(t, func(t *testing.T) {
		s := sseviewtest.OpenT(t, h, httptest.NewRequest(http.MethodGet, "/", nil))
		var errs []string
		fatal, errs = runTB(func(tb testing.TB) { check(tb, s) })
		assert.Empty(t, errs)
	})
	return fatal
}

// TestExpectFailures: each way a stream can disappoint fails the test
// with the whole picture, and none hangs.
func TestExpectFailures(t *testing.T) {
	tests := []struct {
		name  string
		h     http.Handler
		check func(tb testing.TB, s *sseviewtest.Stream)
		want  string
	}{
		{
			name: "an event differs",
			h:    stream("id: 1\ndata: hi\n\nid: 2\ndata: hi again\n\n"),
			check: func(tb testing.TB, s *sseviewtest.Stream) {
				s.Expect(tb, msg("hi", "1"), sseviewtest.Event{Type: "chat", Data: "bye", ID: "2"}, msg("later", "3"))
			},
			want: `sseviewtest: Expect: events differ (- want, + got):
  {Type: "message", Data: "hi", ID: "1"}
- {Type: "chat", Data: "bye", ID: "2"}
+ {Type: "message", Data: "hi again", ID: "2"}
- {Type: "message", Data: "later", ID: "3"} (not read)`,
		},
		{
			name: "the stream ends early",
			h:    streamThenEnd("data: one\n\ndata: cut off\n"),
			check: func(tb testing.TB, s *sseviewtest.Stream) {
				s.Expect(tb, msg("one", ""), msg("two", ""), msg("three", ""))
			},
			want: `sseviewtest: Expect: the stream ended after 1 of the 3 wanted (- want, + got):
  {Type: "message", Data: "one"}
- {Type: "message", Data: "two"}
+ (end of stream)
- {Type: "message", Data: "three"} (not read)`,
		},
		{
			name: "an event never ends",
			h:    stream("data: one\n\nid: 2\ndata: half an event\n"),
			check: func(tb testing.TB, s *sseviewtest.Stream) {
				s.Expect(tb, msg("one", ""), msg("half an event", "2"))
			},
			want: `sseviewtest: Expect: reading event 2 of 2: sseviewtest: timed out: no event within 10s; ` +
				`1 arrived, the last {Type: "message", Data: "one"}; ` +
				`then 26 bytes that make no event yet (an event ends with a blank line), ending "id: 2\ndata: half an event\n" (- want, + got):
  {Type: "message", Data: "one"}
- {Type: "message", Data: "half an event", ID: "2"}
+ (nothing)`,
		},
		{
			name: "nothing at all",
			h:    stream(""),
			check: func(tb testing.TB, s *sseviewtest.Stream) {
				s.Expect(tb, msg("one", ""))
			},
			want: `sseviewtest: Expect: reading event 1 of 1: sseviewtest: timed out: no event within 10s; none arrived yet (- want, + got):
- {Type: "message", Data: "one"}
+ (nothing)`,
		},
		{
			name: "a long value differs late",
			h:    stream("data: " + strings.Repeat("a", 300) + "b\n\n"),
			check: func(tb testing.TB, s *sseviewtest.Stream) {
				s.Expect(tb, msg(strings.Repeat("a", 300)+"c", ""))
			},
			want: `sseviewtest: Expect: events differ (- want, + got):
- {Type: "message", Data: "` + strings.Repeat("a", 200) + `"... (301 bytes)}
+ {Type: "message", Data: "` + strings.Repeat("a", 200) + `"... (301 bytes)}
Data differs from byte 300: want ..."aaaaaaaac", got ..."aaaaaaaab"`,
		},
		{
			name:  "ExpectEnd gets an event",
			h:     streamThenEnd("data: more\n\n"),
			check: func(tb testing.TB, s *sseviewtest.Stream) { s.ExpectEnd(tb) },
			want:  `sseviewtest: ExpectEnd: want the end of the stream, got {Type: "message", Data: "more"}`,
		},
		{
			name:  "ExpectEnd on a stream that stays open",
			h:     stream(": just a comment\n"),
			check: func(tb testing.TB, s *sseviewtest.Stream) { s.ExpectEnd(tb) },
			want: `sseviewtest: ExpectEnd: want the end of the stream, but it is still open: ` +
				`sseviewtest: timed out: no event within 10s; none arrived yet`,
		},
		{
			name: "a comment where an event was wanted",
			h:    stream(": keep-alive\n\ndata: x\n\n"),
			check: func(tb testing.TB, s *sseviewtest.Stream) {
				s.Comments = true
				s.Expect(tb, msg("x", ""))
			},
			want: `sseviewtest: Expect: events differ (- want, + got):
- {Type: "message", Data: "x"}
+ {Comment: ": keep-alive"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, expectFailure(t, tt.h, tt.check))
		})
	}
}

func TestExpectPasses(t *testing.T) {
	fatal := expectFailure(t, stream("id: 1\ndata: a\n\ndata: b\n\n"), func(tb testing.TB, s *sseviewtest.Stream) {
		s.Expect(tb, msg("a", "1"), msg("b", "1"))
	})
	assert.Empty(t, fatal)
	fatal = expectFailure(t, streamThenEnd("data: a\n\n"), func(tb testing.TB, s *sseviewtest.Stream) {
		s.Expect(tb, msg("a", ""))
		s.ExpectEnd(tb)
	})
	assert.Empty(t, fatal)
}

// TestHandlerIgnoringItsContext: Close does not hang on a handler that never
// returns; it says so.
func TestHandlerIgnoringItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release) // lets the bubble end
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.(http.Flusher).Flush()
			<-release // not r.Context().Done()
		})
		s, err := sseviewtest.Open(h, httptest.NewRequest(http.MethodGet, "/", nil))
		require.NoError(t, err)
		start := time.Now()
		assert.EqualError(t, s.Close(),
			"sseviewtest: the handler did not return within 10s of its request's context being cancelled")
		assert.Equal(t, 10*time.Second, time.Since(start))
	})
}

func TestBadArguments(t *testing.T) {
	_, err := sseviewtest.Open(nil, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.EqualError(t, err, "sseviewtest: Open with a nil handler")
	_, err = sseviewtest.Open(http.NotFoundHandler(), nil)
	assert.EqualError(t, err, "sseviewtest: nil request")
	_, err = sseviewtest.Dial(nil, nil)
	assert.EqualError(t, err, "sseviewtest: nil request")
}
