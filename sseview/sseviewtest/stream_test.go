package sseviewtest_test

import (
	"context"
	"errors"
	"io"
	"iter"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

type viewFunc func(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error]

func (f viewFunc) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
	return f(ctx, r, p)
}

// events is a view that yields evs and then waits for its client to leave.
func events(evs ...sseview.Event) viewFunc {
	return func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			for _, ev := range evs {
				if !yield(ev, nil) {
					return
				}
			}
			<-ctx.Done()
		}
	}
}

var quiet = slog.New(slog.DiscardHandler)

// router puts routes behind the middleware a real application has.
func router(route func(chi.Router)) *chi.Mux {
	r := chi.NewRouter()
	// The client's address as a proxy in front (one on this machine, or
	// httptest's 192.0.2.1) reports it.
	r.Use(middleware.RequestID, middleware.ClientIPFromXFF("127.0.0.0/8", "192.0.2.0/24"),
		middleware.RequestLogger(&middleware.DefaultLogFormatter{Logger: log.New(io.Discard, "", 0), NoColor: true}),
		middleware.Recoverer)
	route(r)
	return r
}

func TestOpenReadsWhatEventSourceWould(t *testing.T) {
	view := events(
		sseview.Text{Type: "weather", Data: "12.5", ID: "1"},
		sseview.Text{Data: "line one\r\nline two\rthree"}, // no id: the last one carries forward
		sseview.Comment("a note"),
		sseview.JSON{Type: "reading", Data: map[string]int{"t": 3}},
		sseview.Text{Data: "soon", Retry: 2500 * time.Millisecond, ID: "2"},
		sseview.Text{Data: "reset", ID: ""},
	)
	r := router(func(r chi.Router) {
		r.Get("/weather/{lat},{lng}/", (&sseview.Handler{View: view, Retry: time.Second}).ServeHTTP)
	})
	s := sseviewtest.OpenT(t, r, httptest.NewRequest(http.MethodGet, "/weather/51.51,-0.13/", nil))

	resp := s.Response()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))

	s.Expect(t,
		sseviewtest.Event{Type: "weather", Data: "12.5", ID: "1"},
		sseviewtest.Event{Type: "message", Data: "line one\nline two\nthree", ID: "1"},
		sseviewtest.Event{Type: "reading", Data: `{"t":3}`, ID: "1"},
		sseviewtest.Event{Type: "message", Data: "soon", ID: "2", Retry: 2500 * time.Millisecond},
	)
	retry, set := s.Retry()
	assert.True(t, set)
	assert.Equal(t, 2500*time.Millisecond, retry, "the event's retry replaces the Handler's")
	assert.Equal(t, "2", s.LastEventID())

	// sseview writes no id line for an empty ID, so the id carries on.
	s.Expect(t, sseviewtest.Event{Type: "message", Data: "reset", ID: "2"})
}

func TestHandlerRetryIsInForceBeforeAnyEvent(t *testing.T) {
	s := sseviewtest.OpenT(t, &sseview.Handler{View: events(sseview.Text{Data: "x"}), Retry: 1500 * time.Millisecond},
		httptest.NewRequest(http.MethodGet, "/", nil))
	s.Expect(t, sseviewtest.Event{Type: "message", Data: "x"}) // Retry is not the event's own
	retry, set := s.Retry()
	assert.True(t, set)
	assert.Equal(t, 1500*time.Millisecond, retry)
}

func TestCommentsOnRequest(t *testing.T) {
	view := events(sseview.Comment("one"), sseview.Text{Data: "x"}, sseview.Comment("two\nlines"))
	t.Run("skipped by default", func(t *testing.T) {
		s := sseviewtest.OpenT(t, sseview.AsView(view), httptest.NewRequest(http.MethodGet, "/", nil))
		s.Expect(t, sseviewtest.Event{Type: "message", Data: "x"})
	})
	t.Run("in stream order", func(t *testing.T) {
		s := sseviewtest.OpenT(t, sseview.AsView(view), httptest.NewRequest(http.MethodGet, "/", nil))
		s.Comments = true
		s.Expect(t,
			sseviewtest.Event{Comment: ": one"},
			sseviewtest.Event{Type: "message", Data: "x"},
			sseviewtest.Event{Comment: ": two"},
			sseviewtest.Event{Comment: ": lines"},
		)
	})
}

func TestEventsIterator(t *testing.T) {
	ended := viewFunc(func(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			for _, d := range []string{"a", "b", "c"} {
				if !yield(sseview.Text{Data: d}, nil) {
					return
				}
			}
		}
	})
	s := sseviewtest.OpenT(t, sseview.AsView(ended), httptest.NewRequest(http.MethodGet, "/", nil))
	var got []string
	for ev, err := range s.Events() {
		require.NoError(t, err)
		got = append(got, ev.Data)
		if ev.Data == "a" {
			break // the stream stays open; the next loop goes on from here
		}
	}
	for ev, err := range s.Events() {
		require.NoError(t, err)
		got = append(got, ev.Data)
	}
	assert.Equal(t, []string{"a", "b", "c"}, got, "the iterator ends without an error at the end of the stream")
	_, err := s.Next()
	assert.Equal(t, io.EOF, err)
}

func TestEventsYieldsTheErrorLast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := sseviewtest.OpenT(t, sseview.AsView(events(sseview.Text{Data: "a"})), httptest.NewRequest(http.MethodGet, "/", nil))
		s.Timeout = time.Second
		var got []string
		var last error
		for ev, err := range s.Events() {
			if err != nil {
				last = err
				continue // there is nothing after it
			}
			got = append(got, ev.Data)
		}
		assert.Equal(t, []string{"a"}, got)
		assert.ErrorIs(t, last, sseviewtest.ErrTimeout)
	})
}

// TestRequestAsSent: any method, headers and body reach the handler as they
// would over the network, through the middleware, and the body is sent
// again on Reconnect.
func TestRequestAsSent(t *testing.T) {
	type seen struct {
		method, auth, accept, body, remote, lastEventID string
	}
	got := make(chan seen, 2)
	r := router(func(r chi.Router) {
		r.Post("/search", func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			got <- seen{r.Method, r.Header.Get("Authorization"), r.Header.Get("Accept"), string(body),
				middleware.GetClientIP(r.Context()), r.Header.Get("Last-Event-ID")}
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "id: 5\ndata: found\n\n")
		})
	})
	for _, mode := range []string{"Open", "Dial"} {
		t.Run(mode, func(t *testing.T) {
			var s *sseviewtest.Stream
			var err error
			switch mode {
			case "Open":
				req := httptest.NewRequest(http.MethodPost, "/search", strings.NewReader("q=rain"))
				req.Header.Set("Authorization", "Bearer token")
				req.Header.Set("X-Forwarded-For", "203.0.113.7")
				s, err = sseviewtest.Open(r, req)
			case "Dial":
				srv := httptest.NewServer(r)
				defer srv.Close()
				req, reqErr := http.NewRequest(http.MethodPost, srv.URL+"/search", strings.NewReader("q=rain"))
				require.NoError(t, reqErr)
				req.Header.Set("Authorization", "Bearer token")
				req.Header.Set("X-Forwarded-For", "203.0.113.7")
				s, err = sseviewtest.Dial(nil, req)
			}
			require.NoError(t, err)
			defer func() { assert.NoError(t, s.Close()) }()
			s.Expect(t, sseviewtest.Event{Type: "message", Data: "found", ID: "5"})
			s.ExpectEnd(t)
			assert.Equal(t, seen{"POST", "Bearer token", "text/event-stream", "q=rain", "203.0.113.7", ""}, <-got)

			require.NoError(t, s.Reconnect())
			s.Expect(t, sseviewtest.Event{Type: "message", Data: "found", ID: "5"})
			assert.Equal(t, seen{"POST", "Bearer token", "text/event-stream", "q=rain", "203.0.113.7", "5"}, <-got)
		})
	}
}

// TestReconnectLikeEventSource: the Last-Event-ID sent is the last event
// ID string as the standard keeps it, including an id-only block and an
// empty id that resets it; the new connection's events carry it forward;
// the reconnection time stays.
func TestReconnectLikeEventSource(t *testing.T) {
	bodies := []string{
		"retry: 1500\nid: 7\ndata: a\n\nid: 8\n\n",
		"data: b\n\n",
		"id\ndata: c\n\n",
		"data: d\n\n",
	}
	sent := make(chan string, len(bodies))
	n := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := r.Header["Last-Event-Id"]
		if !ok {
			id = []string{"(none)"}
		}
		sent <- id[0]
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		_, _ = io.WriteString(w, bodies[n])
		n++
	})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Last-Event-ID", "6")
	s := sseviewtest.OpenT(t, h, req)
	assert.Equal(t, "6", s.LastEventID(), "a Last-Event-ID of the first request is where the stream starts")
	s.Expect(t, sseviewtest.Event{Type: "message", Data: "a", ID: "7", Retry: 1500 * time.Millisecond})
	s.ExpectEnd(t)
	assert.Equal(t, "8", s.LastEventID(), "an id-only block still sets the last event ID")

	require.NoError(t, s.Reconnect())
	s.Expect(t, sseviewtest.Event{Type: "message", Data: "b", ID: "8"})
	s.ExpectEnd(t)
	require.NoError(t, s.Reconnect())
	s.Expect(t, sseviewtest.Event{Type: "message", Data: "c"})
	s.ExpectEnd(t)
	require.NoError(t, s.Reconnect())
	s.Expect(t, sseviewtest.Event{Type: "message", Data: "d"})

	assert.Equal(t, []string{"6", "8", "8", "(none)"}, []string{<-sent, <-sent, <-sent, <-sent})
	retry, set := s.Retry()
	assert.True(t, set)
	assert.Equal(t, 1500*time.Millisecond, retry, "the reconnection time outlives its connection")
}

func TestDialAgainstAServer(t *testing.T) {
	r := router(func(r chi.Router) {
		r.Get("/feed", sseview.AsView(events(sseview.Text{Type: "a", Data: "1", ID: "x"})))
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/feed", nil)
	require.NoError(t, err)
	s, err := sseviewtest.Dial(srv.Client(), req)
	require.NoError(t, err)
	s.Expect(t, sseviewtest.Event{Type: "a", Data: "1", ID: "x"})
	assert.Equal(t, "HTTP/1.1", s.Response().Proto)
	require.NoError(t, s.Reconnect())
	s.Expect(t, sseviewtest.Event{Type: "a", Data: "1", ID: "x"})
	require.NoError(t, s.Close())
	srv.Client().CloseIdleConnections()
	_, err = s.Next()
	assert.Error(t, err, "reads after Close fail")
}

// TestCloseEndsTheView: Close is a client leaving: the view's context is
// done, and Close returns once the handler has.
func TestCloseEndsTheView(t *testing.T) {
	returned := make(chan struct{})
	view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			defer close(returned)
			yield(sseview.Text{Data: "x"}, nil)
			<-ctx.Done()
		}
	})
	s, err := sseviewtest.Open(router(func(r chi.Router) { r.Get("/", sseview.AsView(view)) }),
		httptest.NewRequest(http.MethodGet, "/", nil))
	require.NoError(t, err)
	s.Expect(t, sseviewtest.Event{Type: "message", Data: "x"})
	require.NoError(t, s.Close())
	select {
	case <-returned:
	default:
		t.Fatal("Close returned before the view did")
	}
	require.NoError(t, s.Close(), "a second Close is harmless")
	_, err = s.Next()
	assert.ErrorContains(t, err, "sseviewtest: the stream is closed")
	assert.Error(t, s.Reconnect())
}

// TestCloseWhileNextWaits: Close from another goroutine ends a read that
// waits.
func TestCloseWhileNextWaits(t *testing.T) {
	s, err := sseviewtest.Open(sseview.AsView(events()), httptest.NewRequest(http.MethodGet, "/", nil))
	require.NoError(t, err)
	read := make(chan error, 1)
	go func() {
		_, err := s.Next()
		read <- err
	}()
	require.NoError(t, s.Close())
	select {
	case err := <-read:
		assert.ErrorContains(t, err, "closed")
	case <-time.After(10 * time.Second):
		t.Fatal("Next still waits after Close")
	}
}

func TestHeadOfAFlushedStreamWithoutEvents(t *testing.T) {
	// A stream that has sent only its headers is open, not failed.
	s := sseviewtest.OpenT(t, sseview.AsView(events()), httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, "keep-alive", s.Response().Header.Get("Connection"))
}

func TestPanicsEndTheStream(t *testing.T) {
	boom := viewFunc(func(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			yield(sseview.Text{Data: "before"}, nil)
			panic("boom")
		}
	})
	t.Run("behind Recoverer the response ends", func(t *testing.T) {
		r := router(func(r chi.Router) { r.Get("/", sseview.AsView(boom)) })
		// Recoverer prints the panic; that is its job, not a failure here.
		s := sseviewtest.OpenT(t, r, httptest.NewRequest(http.MethodGet, "/", nil))
		s.Expect(t, sseviewtest.Event{Type: "message", Data: "before"})
		s.ExpectEnd(t)
	})
	t.Run("bare, the connection breaks", func(t *testing.T) {
		s, err := sseviewtest.Open(sseview.AsView(boom), httptest.NewRequest(http.MethodGet, "/", nil))
		require.NoError(t, err)
		s.Expect(t, sseviewtest.Event{Type: "message", Data: "before"})
		_, err = s.Next()
		assert.ErrorContains(t, err, `sseviewtest: the handler panicked: "boom"`)
		assert.ErrorContains(t, s.Close(), `the handler panicked: "boom"`)
	})
	t.Run("ErrAbortHandler aborts quietly", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: x\n\n")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		})
		s := sseviewtest.OpenT(t, h, httptest.NewRequest(http.MethodGet, "/", nil))
		s.Expect(t, sseviewtest.Event{Type: "message", Data: "x"})
		_, err := s.Next()
		assert.ErrorContains(t, err, "aborted")
		assert.False(t, errors.Is(err, io.EOF))
	})
}

// TestReadsByTheStandard: what a hand-written parser gets wrong, the kit
// reads as EventSource does: a leading BOM, CR and CRLF line ends, one space
// after the colon, an id with a NUL ignored, an unterminated last event
// discarded.
func TestReadsByTheStandard(t *testing.T) {
	h := streamThenEnd("\ufeffdata: a\r\rdata:  two spaces\r\n\r\nid: 1\x002\ndata:b\n\nid: 3\ndata: cut off\n")
	s := sseviewtest.OpenT(t, h, httptest.NewRequest(http.MethodGet, "/", nil))
	s.Expect(t, msg("a", ""), msg(" two spaces", ""), msg("b", ""))
	s.ExpectEnd(t)
	assert.Equal(t, "", s.LastEventID(), "the cut-off event's id never took effect")
}
