package sseview_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/testutil"
	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

const wait = 5 * time.Second // the most any test waits for a signal

// viewFunc adapts a function to sseview.StreamView.
type viewFunc func(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error]

func (f viewFunc) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
	return f(ctx, r, p)
}

// seq yields evs, then waits for ctx to be done before it returns, like a
// view that has nothing more to say yet.
func seq(ctx context.Context, evs ...sseview.Event) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		for _, ev := range evs {
			if !yield(ev, nil) {
				return
			}
		}
		<-ctx.Done()
	}
}

// finite yields evs and returns.
func finite(evs ...sseview.Event) viewFunc {
	return func(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			for _, ev := range evs {
				if !yield(ev, nil) {
					return
				}
			}
		}
	}
}

// blocking yields evs then waits for ctx; done is closed when its iterator
// has returned.
func blocking(done chan struct{}, evs ...sseview.Event) viewFunc {
	return func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			defer close(done)
			seq(ctx, evs...)(yield)
		}
	}
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func closed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	recv(t, ch, what)
}

type logRecorder struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{}
}

func newLogRecorder() *logRecorder { return &logRecorder{changed: make(chan struct{}, 1)} }

func (l *logRecorder) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (l *logRecorder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(p))
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *logRecorder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "")
}

func (l *logRecorder) waitFor(t *testing.T, want string) string {
	t.Helper()
	deadline := time.After(wait)
	for {
		if s := l.String(); strings.Contains(s, want) {
			return s
		}
		select {
		case <-l.changed:
		case <-deadline:
			t.Fatalf("log never said %q; it holds:\n%s", want, l.String())
		}
	}
}

func TestHeadersArriveBeforeTheFirstEvent(t *testing.T) {
	release := make(chan struct{})
	view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			select {
			case <-release:
			case <-ctx.Done():
				return
			}
			yield(sseview.Text{Data: "first"}, nil)
			<-ctx.Done()
		}
	})
	srv := testutil.Serve(t, sseview.AsView(view))

	// Dial returns once the headers are in; the view is still waiting.
	s := dial(t, nil, srv.URL, nil)
	h := s.Response().Header
	assert.Equal(t, "text/event-stream", h.Get("Content-Type"))
	assert.Equal(t, "no-cache", h.Get("Cache-Control"))
	assert.Equal(t, "no", h.Get("X-Accel-Buffering"))
	assert.Equal(t, "keep-alive", h.Get("Connection"))
	assert.Empty(t, h.Get("Content-Length"))
	close(release)
	s.Expect(t, msg("first", ""))
}

func TestEventsReachTheClient(t *testing.T) {
	enc, err := sseview.Encode(sseview.Text{Type: "shared", ID: "e1", Data: "encoded once"})
	require.NoError(t, err)
	view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return seq(ctx,
			sseview.Text{Data: "line 1\nline 2"},
			sseview.Comment("a note"),
			sseview.JSON{Type: "weather", ID: "7", Data: map[string]int{"temp": 21}},
			sseview.JSON{Type: "ping", Data: nil}, // the seed's hand-written ping
			enc,
			shout("quiet"),
		)
	})
	s := sseviewtest.OpenT(t, &sseview.Handler{View: view, Retry: 1500 * time.Millisecond}, httptest.NewRequest(http.MethodGet, "/", nil))
	s.Comments = true

	s.Expect(t,
		msg("line 1\nline 2", ""),
		sseviewtest.Event{Comment: ": a note"},
		sseviewtest.Event{Type: "weather", Data: `{"temp":21}`, ID: "7"},
		sseviewtest.Event{Type: "ping", Data: "null", ID: "7"},
		sseviewtest.Event{Type: "shared", Data: "encoded once", ID: "e1"},
		sseviewtest.Event{Type: "shout", Data: "QUIET", ID: "e1"},
	)
	retry, set := s.Retry()
	assert.True(t, set, "the retry hint arrived")
	assert.Equal(t, 1500*time.Millisecond, retry)
}

// shout is a user-defined event kind.
type shout string

func (s shout) MarshalEvent() (sseview.Text, error) {
	return sseview.Text{Type: "shout", Data: strings.ToUpper(string(s))}, nil
}

func TestRetryHintIsSentFirst(t *testing.T) {
	rec := httptest.NewRecorder()
	h := &sseview.Handler{View: finite(sseview.Text{Data: "x"}), Retry: 2 * time.Second}
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, "retry: 2000\n\ndata: x\n\n", rec.Body.String())

	rec = httptest.NewRecorder()
	h.Retry = 1500 * time.Microsecond
	h.Logger = slog.New(slog.DiscardHandler)
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusInternalServerError, rec.Code, "a bad Retry setting is a program error")
}

func TestMethods(t *testing.T) {
	ran := false
	view := viewFunc(func(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(func(sseview.Event, error) bool) { ran = true }
	})
	h := sseview.AsView(view)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "text/event-stream", rec.Header().Get("Content-Type"))
	assert.Empty(t, rec.Body.String())
	assert.False(t, ran, "HEAD does not run the stream")

	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "/", nil))
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, method)
		assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"), method)
		assert.JSONEq(t, `{"error":"Method Not Allowed"}`, rec.Body.String())
	}
	assert.False(t, ran)

	// On chi, r.Handle leaves the methods to the Handler; r.Get leaves them to chi.
	r := chi.NewRouter()
	r.Handle("/any", h)
	r.Get("/get", h)
	srv := testutil.Serve(t, r)
	for path, allow := range map[string]string{"/any": "GET, HEAD", "/get": "GET"} {
		resp, err := http.Post(srv.URL+path, "text/plain", nil)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, path)
		assert.Equal(t, allow, resp.Header.Get("Allow"), path)
	}
}

// gate is a view that checks requests before streaming.
type gate struct {
	accept   func(r *http.Request, p sseview.Params) error
	streamed chan struct{}
}

func (g gate) Accept(r *http.Request, p sseview.Params) error { return g.accept(r, p) }

func (g gate) Stream(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
	close(g.streamed)
	return finite(sseview.Text{Data: "welcome"})(nil, nil, sseview.Params{})
}

func TestAcceptorRefuses(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		body   string
		logged string
	}{
		{"forbidden with a body", sseview.Refuse(http.StatusForbidden, map[string]string{"reason": "members only"}),
			http.StatusForbidden, `{"reason":"members only"}`, ""},
		{"a string body is an error message", sseview.Refuse(http.StatusBadRequest, "lat out of range"),
			http.StatusBadRequest, `{"error":"lat out of range"}`, ""},
		{"not found with the default body", sseview.Refuse(http.StatusNotFound, nil),
			http.StatusNotFound, `{"error":"Not Found"}`, ""},
		{"too many requests", fmt.Errorf("busy: %w", sseview.Refuse(http.StatusTooManyRequests, nil)),
			http.StatusTooManyRequests, `{"error":"Too Many Requests"}`, ""},
		{"no content stops EventSource", sseview.Refuse(http.StatusNoContent, "ignored"),
			http.StatusNoContent, "", ""},
		{"param error", &sseview.ParamError{Name: "room", Value: "x", Err: errors.New("no such room")},
			http.StatusBadRequest, `{"error":"sseview: URL param room=\"x\": no such room"}`, ""},
		{"other errors are 500 and never leak", errors.New("db password is hunter2"),
			http.StatusInternalServerError, `{"error":"Internal Server Error"}`, "hunter2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := newLogRecorder()
			g := gate{accept: func(*http.Request, sseview.Params) error { return tt.err }, streamed: make(chan struct{})}
			rec := httptest.NewRecorder()
			(&sseview.Handler{View: g, Logger: logs.logger()}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))

			assert.Equal(t, tt.status, rec.Code)
			assert.NotEqual(t, "text/event-stream", rec.Header().Get("Content-Type"))
			if tt.body == "" {
				assert.Empty(t, rec.Body.String())
			} else {
				assert.JSONEq(t, tt.body, rec.Body.String())
			}
			if tt.logged != "" {
				assert.Contains(t, logs.String(), tt.logged)
			}
			select {
			case <-g.streamed:
				t.Fatal("Stream ran for a refused request")
			default:
			}
		})
	}

	t.Run("nil accepts", func(t *testing.T) {
		g := gate{accept: func(*http.Request, sseview.Params) error { return nil }, streamed: make(chan struct{})}
		rec := httptest.NewRecorder()
		sseview.AsView(g).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "data: welcome\n\n", rec.Body.String())
	})
}

// plainWriter hides every optional interface of the writer it wraps, like
// a middleware wrapper written without Unwrap.
type plainWriter struct{ w http.ResponseWriter }

func (p plainWriter) Header() http.Header         { return p.w.Header() }
func (p plainWriter) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p plainWriter) WriteHeader(code int)        { p.w.WriteHeader(code) }

func TestWriterThatCannotFlushIsCaughtBeforeStreaming(t *testing.T) {
	logs := newLogRecorder()
	h := &sseview.Handler{View: finite(sseview.Text{Data: "never"}), Logger: logs.logger()}
	rec := httptest.NewRecorder()
	rec.Header().Set("X-Request-Id", "r1") // set by a middleware before the Handler
	h.ServeHTTP(plainWriter{rec}, httptest.NewRequest(http.MethodGet, "/events", nil))
	assert.Equal(t, "r1", rec.Header().Get("X-Request-Id"), "other middleware's headers stay")
	assert.Empty(t, rec.Header().Get("Cache-Control"))

	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.NotContains(t, rec.Body.String(), "never")
	assert.Contains(t, logs.String(), "sseview: the response writer cannot flush")
	assert.Contains(t, logs.String(), "path=/events")
}

func TestKeepAliveOverTheNetwork(t *testing.T) {
	done := make(chan struct{})
	h := &sseview.Handler{View: blocking(done), KeepAlive: 20 * time.Millisecond}
	srv := testutil.Serve(t, h)
	s := dial(t, nil, srv.URL, nil)
	s.Comments = true
	keepAlive := sseviewtest.Event{Comment: ": keep-alive"}
	s.Expect(t, keepAlive, keepAlive, keepAlive)
	require.NoError(t, s.Close())
	closed(t, done, "the view to stop")
}

func TestDisconnectStopsTheView(t *testing.T) {
	var (
		stopped  = make(chan struct{})
		returned = make(chan struct{})
		sent     = make(chan int, 1000)
	)
	view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			defer close(stopped)
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				if !yield(sseview.Text{Data: fmt.Sprint(i)}, nil) {
					return
				}
				sent <- i
			}
		}
	})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		sseview.AsView(view).ServeHTTP(w, r)
	})
	srv := testutil.Serve(t, h)
	s := dial(t, nil, srv.URL, nil)
	s.Expect(t, msg("0", ""))
	require.NoError(t, s.Close())
	closed(t, stopped, "the view's cleanup")
	closed(t, returned, "the handler to return")
}

// dialSilent opens an event stream over raw TCP and never reads it.
func dialSilent(t *testing.T, url string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	// A small receive window makes the server's writes block sooner.
	require.NoError(t, conn.(*net.TCPConn).SetReadBuffer(4096))
	_, err = fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n")
	require.NoError(t, err)
	return conn
}

func TestSlowClientIsDropped(t *testing.T) {
	logs := newLogRecorder()
	stopped := make(chan struct{})
	big := strings.Repeat("x", 64<<10)
	view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			defer close(stopped)
			// Bounded: far more than loopback buffers hold, far less than memory.
			for range 10_000 {
				if !yield(sseview.Text{Data: big}, nil) {
					return
				}
			}
			t.Error("every write succeeded: the client never stalled the stream")
		}
	})
	h := &sseview.Handler{View: view, WriteTimeout: 100 * time.Millisecond, Logger: logs.logger()}
	srv := testutil.Serve(t, h)
	dialSilent(t, srv.URL)

	closed(t, stopped, "the stalled stream to be dropped")
	line := logs.waitFor(t, "sseview: client dropped")
	assert.Contains(t, line, "level=WARN")
	assert.Contains(t, line, "i/o timeout")
}

func TestKeepAliveDropsAStalledIdleClient(t *testing.T) {
	// A client that stops reading while the view is idle: the keep-alive
	// write times out and cancels the view's context.
	logs := newLogRecorder()
	stopped := make(chan struct{})
	big := sseview.Text{Data: strings.Repeat("y", 8<<20)}
	h := &sseview.Handler{
		View:         blocking(stopped, big),
		KeepAlive:    10 * time.Millisecond,
		WriteTimeout: 100 * time.Millisecond,
		Logger:       logs.logger(),
	}
	srv := testutil.Serve(t, h)
	dialSilent(t, srv.URL)
	closed(t, stopped, "the idle view to see its context done")
	logs.waitFor(t, "sseview: client dropped")
}

func TestServerTimeoutsDoNotEndHealthyStreams(t *testing.T) {
	const n = 12
	view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			tick := time.NewTicker(25 * time.Millisecond)
			defer tick.Stop()
			for i := range n {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				if !yield(sseview.Text{Data: fmt.Sprint(i)}, nil) {
					return
				}
			}
		}
	})
	ts := httptest.NewUnstartedServer(sseview.AsView(view))
	// Both would end a 300 ms stream after 50 ms without the Handler's care.
	ts.Config.ReadTimeout = 50 * time.Millisecond
	ts.Config.WriteTimeout = 50 * time.Millisecond
	ts.Start()
	t.Cleanup(func() { ts.CloseClientConnections(); ts.Close() })

	s := dial(t, nil, ts.URL, nil)
	for i := range n {
		s.Expect(t, msg(fmt.Sprint(i), ""))
	}
	s.ExpectEnd(t)
}

func TestErrorAfterTheStreamStarted(t *testing.T) {
	secret := errors.New("query failed: password=hunter2")
	view := viewFunc(func(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			if yield(sseview.Text{Data: "before"}, nil) {
				yield(nil, secret)
			}
		}
	})
	for _, tt := range []struct {
		name       string
		errorEvent func(error) sseview.Event
		want       []sseviewtest.Event
	}{
		{"stream just ends by default", nil, []sseviewtest.Event{msg("before", "")}},
		{"optional error event", func(error) sseview.Event { return sseview.Text{Type: "error", Data: "stream failed"} },
			[]sseviewtest.Event{msg("before", ""), {Type: "error", Data: "stream failed"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs := newLogRecorder()
			r := chi.NewRouter()
			r.Get("/rooms/{room}", (&sseview.Handler{View: view, ErrorEvent: tt.errorEvent, Logger: logs.logger()}).ServeHTTP)
			s := sseviewtest.OpenT(t, r, httptest.NewRequest(http.MethodGet, "/rooms/lobby", nil))

			var got []sseviewtest.Event
			var raw strings.Builder
			for ev, err := range s.Events() {
				require.NoError(t, err, "the response ends cleanly")
				got = append(got, ev)
				raw.WriteString(ev.Data)
			}
			assert.Equal(t, tt.want, got)
			assert.NotContains(t, raw.String(), "hunter2")
			line := logs.waitFor(t, "sseview: stream failed")
			assert.Contains(t, line, "level=ERROR")
			assert.Contains(t, line, "path=/rooms/lobby")
			assert.Contains(t, line, "route=/rooms/{room}")
			assert.Contains(t, line, "hunter2", "the log has the whole error")
		})
	}
}

func TestEncodeErrorEndsTheStreamLikeAViewError(t *testing.T) {
	logs := newLogRecorder()
	view := finite(sseview.Text{Data: "good"}, sseview.Text{ID: "1\ndata: injected", Data: "bad"}, sseview.Text{Data: "never"})
	s := sseviewtest.OpenT(t, &sseview.Handler{View: view, Logger: logs.logger()}, httptest.NewRequest(http.MethodGet, "/", nil))
	s.Expect(t, msg("good", ""))
	s.ExpectEnd(t)
	assert.Contains(t, logs.waitFor(t, "sseview: stream failed"), "sseview: invalid event: id contains")
}

func TestPanicInOneViewLeavesOtherStreamsAlone(t *testing.T) {
	for _, recoverer := range []bool{false, true} {
		t.Run(fmt.Sprintf("chi Recoverer %v", recoverer), func(t *testing.T) {
			tick := make(chan string)
			r := chi.NewRouter()
			if recoverer {
				// Recoverer reports the panic to the request logger.
				r.Use(middleware.RequestLogger(&middleware.DefaultLogFormatter{Logger: discardLog{}, NoColor: true}))
				r.Use(middleware.Recoverer)
			}
			r.Get("/ok", sseview.AsView(viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
				return func(yield func(sseview.Event, error) bool) {
					for {
						select {
						case <-ctx.Done():
							return
						case data := <-tick:
							if !yield(sseview.Text{Data: data}, nil) {
								return
							}
						}
					}
				}
			})))
			r.Get("/panic", sseview.AsView(viewFunc(func(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
				return func(yield func(sseview.Event, error) bool) {
					yield(sseview.Text{Data: "about to panic"}, nil)
					panic("view bug")
				}
			})))
			ts := httptest.NewUnstartedServer(r)
			ts.Config.ErrorLog = discardLog{}.logger() // net/http logs the recovered panic
			ts.Start()
			t.Cleanup(func() { ts.CloseClientConnections(); ts.Close() })

			ok := dial(t, nil, ts.URL+"/ok", nil)
			tick <- "1"
			ok.Expect(t, msg("1", ""))

			bad := dial(t, nil, ts.URL+"/panic", nil)
			bad.Expect(t, msg("about to panic", ""))
			_, err := bad.Next()
			assert.Error(t, err, "the panicking stream ends")

			tick <- "2"
			ok.Expect(t, msg("2", "")) // the other stream goes on
		})
	}
}

// The stream is done with an event when yield returns, so a view may reuse
// one *Text for every event (the allocation-free way, see Event).
func TestReusedTextIsWrittenAsItWasAtEachYield(t *testing.T) {
	view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			ev := &sseview.Text{Type: "n"}
			for i := range 3 {
				ev.ID, ev.Data = strconv.Itoa(i), strings.Repeat("x", i+1)
				if !yield(ev, nil) {
					return
				}
			}
			ev.Data = "changed after the last yield"
			<-ctx.Done()
		}
	})
	s := sseviewtest.OpenT(t, sseview.AsView(view), httptest.NewRequest(http.MethodGet, "/", nil))
	for i := range 3 {
		s.Expect(t, sseviewtest.Event{Type: "n", Data: strings.Repeat("x", i+1), ID: strconv.Itoa(i)})
	}
}

// Every refusal keeps its status and sends its {"error": ...} body as
// JSON, even to a client that asks for XML first: render.Respond would
// pick XML, which the body cannot be encoded as, and answer 500.
func TestRefusalsAreJSONWhateverTheClientAccepts(t *testing.T) {
	refuser := func(err error) sseview.StreamView {
		return gate{accept: func(*http.Request, sseview.Params) error { return err }, streamed: make(chan struct{})}
	}
	typed := viewFunc(func(_ context.Context, _ *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
		p.Int("n")
		return finite()(nil, nil, p)
	})
	r := appRouter()
	r.Handle("/any", sseview.AsView(finite()))
	r.Get("/typed/{n}", sseview.AsView(typed))
	r.Get("/forbidden", sseview.AsView(refuser(sseview.Refuse(http.StatusForbidden, "members only"))))
	r.Get("/gone", sseview.AsView(refuser(sseview.Refuse(http.StatusGone, nil))))
	r.Get("/body", sseview.AsView(refuser(sseview.Refuse(http.StatusConflict, map[string]int{"retry_after": 5}))))
	r.Get("/broken", (&sseview.Handler{View: refuser(errors.New("db down")), Logger: slog.New(slog.DiscardHandler)}).ServeHTTP)
	srv := testutil.Serve(t, r)

	tests := []struct {
		name, method, path, lastEventID string
		status                          int
		body                            string
	}{
		{"method not allowed", http.MethodPost, "/any", "", http.StatusMethodNotAllowed, `{"error":"Method Not Allowed"}`},
		{"Last-Event-ID", http.MethodGet, "/any", strings.Repeat("a", 300), http.StatusBadRequest,
			`{"error":"sseview: Last-Event-ID header is 300 bytes, more than 256"}`},
		{"param error", http.MethodGet, "/typed/x", "", http.StatusBadRequest, `{"error":"sseview: URL param n=\"x\": not a plain decimal integer"}`},
		{"Refuse with a string", http.MethodGet, "/forbidden", "", http.StatusForbidden, `{"error":"members only"}`},
		{"Refuse with nil", http.MethodGet, "/gone", "", http.StatusGone, `{"error":"Gone"}`},
		{"Refuse with a map", http.MethodGet, "/body", "", http.StatusConflict, `{"retry_after":5}`},
		{"other errors", http.MethodGet, "/broken", "", http.StatusInternalServerError, `{"error":"Internal Server Error"}`},
	}
	for _, accept := range []string{"application/xml", "application/xml, application/json;q=0.9", "text/html", "text/event-stream"} {
		for _, tt := range tests {
			t.Run(accept+"/"+tt.name, func(t *testing.T) {
				req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, nil)
				require.NoError(t, err)
				req.Header.Set("Accept", accept)
				if tt.lastEventID != "" {
					req.Header.Set("Last-Event-ID", tt.lastEventID)
				}
				resp, err := srv.Client().Do(req)
				require.NoError(t, err)
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				assert.Equal(t, tt.status, resp.StatusCode)
				assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
				assert.JSONEq(t, tt.body, string(body))
			})
		}
	}
}

// A Refusal whose status is not a final HTTP status, or whose body cannot
// be encoded, is a mistake in the program: a logged 500, never a panic at
// request time nor an informational status followed by a 200.
func TestRefusalThatCannotBeSentIsALogged500(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		logged string
	}{
		{"status 0", sseview.Refuse(0, "x"), "status 0"},
		{"negative status", sseview.Refuse(-1, nil), "status -1"},
		{"informational status", sseview.Refuse(http.StatusContinue, nil), "status 100"},
		{"above 599", sseview.Refuse(600, nil), "status 600"},
		{"far above", sseview.Refuse(1000, nil), "status 1000"},
		{"body JSON cannot encode", sseview.Refuse(http.StatusForbidden, map[string]any{"f": func() {}}), "json: unsupported type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := newLogRecorder()
			g := gate{accept: func(*http.Request, sseview.Params) error { return tt.err }, streamed: make(chan struct{})}
			r := appRouter()
			r.Get("/", (&sseview.Handler{View: g, Logger: logs.logger()}).ServeHTTP)
			srv := testutil.Serve(t, r)
			resp, err := srv.Client().Get(srv.URL)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			assert.JSONEq(t, `{"error":"Internal Server Error"}`, string(body))
			line := logs.waitFor(t, "sseview: request failed")
			assert.Contains(t, line, tt.logged)
			assert.Contains(t, line, "level=ERROR")
		})
	}
}

func TestLogLinesQuoteALongPathBounded(t *testing.T) {
	// A stream that fails logs its path: a 100 KB URL is cut, with its length.
	logs := newLogRecorder()
	view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			yield(nil, errors.New("the view failed"))
		}
	})
	r := appRouter()
	r.Handle("/files/*", &sseview.Handler{View: view, Logger: logs.logger()})
	srv := testutil.Serve(t, r)
	long := "/files/" + strings.Repeat("a", 100_000)
	s := dial(t, nil, srv.URL+long, nil)
	s.ExpectEnd(t)
	line := logs.waitFor(t, "sseview: stream failed")
	assert.Less(t, len(line), 1000)
	assert.Contains(t, line, `(100007 bytes)`)
	assert.Contains(t, line, "route=/files/*")

	short := dial(t, nil, srv.URL+"/files/x", nil)
	short.ExpectEnd(t)
	assert.Contains(t, logs.waitFor(t, "path=/files/x "), "path=/files/x ", "a short path is logged as it is")
}
