package sseview_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/brokercheck"
	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

// observeWait bounds every wait of the observer tests for a signal.
const observeWait = 5 * time.Second

// streamRecorder is an Observer that keeps what it heard of each stream.
type streamRecorder struct {
	t       *testing.T
	started chan *recordedStream // one per stream, buffered
}

func newStreamRecorder(t *testing.T) *streamRecorder {
	return &streamRecorder{t: t, started: make(chan *recordedStream, 16)}
}

func (o *streamRecorder) StreamStarted(r *http.Request) sseview.StreamObserver {
	s := &recordedStream{t: o.t, ended: make(chan sseview.CloseReason, 1)}
	if rctx := chi.RouteContext(r.Context()); rctx != nil {
		s.route = rctx.RoutePattern()
	}
	s.requestID = middleware.GetReqID(r.Context())
	o.started <- s
	return s
}

// next returns the next stream that started.
func (o *streamRecorder) next(t *testing.T) *recordedStream {
	t.Helper()
	select {
	case s := <-o.started:
		return s
	case <-time.After(observeWait):
		t.Fatal("timed out waiting for a stream to start")
		return nil
	}
}

// none fails the test if a stream started.
func (o *streamRecorder) none(t *testing.T) {
	t.Helper()
	select {
	case s := <-o.started:
		t.Errorf("a stream of route %q was observed", s.route)
	default:
	}
}

type recordedStream struct {
	t         *testing.T
	route     string
	requestID string

	mu         sync.Mutex
	events     int
	bytes      int // of events
	keepAlives int
	kaBytes    int
	done       bool
	ended      chan sseview.CloseReason
}

func (s *recordedStream) EventWritten(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notEnded("EventWritten")
	s.events++
	s.bytes += n
}

func (s *recordedStream) KeepAliveWritten(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notEnded("KeepAliveWritten")
	s.keepAlives++
	s.kaBytes += n
}

func (s *recordedStream) StreamEnded(reason sseview.CloseReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notEnded("StreamEnded")
	s.done = true
	s.ended <- reason
}

func (s *recordedStream) notEnded(call string) {
	if s.done {
		s.t.Errorf("%s after StreamEnded", call)
	}
}

// end waits for the stream's end and returns its reason.
func (s *recordedStream) end(t *testing.T) sseview.CloseReason {
	t.Helper()
	select {
	case r := <-s.ended:
		return r
	case <-time.After(observeWait):
		t.Fatal("timed out waiting for the stream to end")
		return 0
	}
}

func (s *recordedStream) counts() (events, bytes, keepAlives, kaBytes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events, s.bytes, s.keepAlives, s.kaBytes
}

// observedRouter is a chi router with a service's usual middleware, the
// logger writing nowhere, serving h on pattern.
func observedRouter(pattern string, h http.Handler) *chi.Mux {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.ClientIPFromRemoteAddr,
		middleware.RequestLogger(&middleware.DefaultLogFormatter{Logger: log.New(io.Discard, "", 0), NoColor: true}),
		middleware.Recoverer)
	r.Handle(pattern, h)
	return r
}

// observedServer serves h behind chi on pattern, with EndStreamsOnShutdown.
func observedServer(t *testing.T, pattern string, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(observedRouter(pattern, h))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	sseview.EndStreamsOnShutdown(ts.Config, time.Second)
	ts.Start()
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
	})
	return ts
}

type streamFunc func(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error]

func (f streamFunc) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
	return f(ctx, r, p)
}

// yielding yields evs, then err if it is not nil, then waits for ctx when
// wait is set.
func yielding(wait bool, err error, evs ...sseview.Event) streamFunc {
	return func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			for _, ev := range evs {
				if !yield(ev, nil) {
					return
				}
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if wait {
				<-ctx.Done()
			}
		}
	}
}

func dialStream(t *testing.T, url string) *sseviewtest.Stream {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	s, err := sseviewtest.Dial(nil, req)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// dialStalled sends a stream's request over raw TCP and never reads.
func dialStalled(t *testing.T, addr, path string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	// A small receive window makes the server's writes block sooner.
	require.NoError(t, conn.(*net.TCPConn).SetReadBuffer(4096))
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path)
	require.NoError(t, err)
}

func TestObserverHearsWhyStreamsEnd(t *testing.T) {
	const route = "/rooms/{room}"
	hello := sseview.Text{Data: "hello"} // 13 bytes on the wire
	big := sseview.Text{Data: strings.Repeat("x", 64<<10)}
	tests := []struct {
		name string
		h    sseview.Handler // Observer is set by the test
		// drive makes the stream end; it gets the server and the stream's
		// observer once the stream has started.
		drive      func(t *testing.T, ts *httptest.Server, s *sseviewtest.Stream)
		stalled    bool // the client never reads: s is nil
		want       sseview.CloseReason
		wantEvents int // -1: some, of big
		wantBytes  int // 0: 13 per event
	}{{
		name: "completed",
		h:    sseview.Handler{View: yielding(false, nil, hello, hello)},
		drive: func(t *testing.T, _ *httptest.Server, s *sseviewtest.Stream) {
			s.Expect(t, sseviewtest.Event{Type: "message", Data: "hello"}, sseviewtest.Event{Type: "message", Data: "hello"})
			s.ExpectEnd(t)
		},
		want: sseview.CloseCompleted, wantEvents: 2,
	}, {
		name: "client left",
		h:    sseview.Handler{View: yielding(true, nil, hello)},
		drive: func(t *testing.T, _ *httptest.Server, s *sseviewtest.Stream) {
			s.Expect(t, sseviewtest.Event{Type: "message", Data: "hello"})
			require.NoError(t, s.Close())
		},
		want: sseview.CloseClientLeft, wantEvents: 1,
	}, {
		name: "write timeout",
		h: sseview.Handler{View: func() streamFunc {
			return func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
				return func(yield func(sseview.Event, error) bool) {
					// Bounded: far more than loopback buffers hold.
					for range 10_000 {
						if !yield(big, nil) {
							return
						}
					}
				}
			}
		}(), WriteTimeout: 100 * time.Millisecond},
		stalled: true,
		want:    sseview.CloseWriteTimeout, wantEvents: -1,
	}, {
		name: "view error",
		h:    sseview.Handler{View: yielding(false, errors.New("the database is gone"), hello)},
		drive: func(t *testing.T, _ *httptest.Server, s *sseviewtest.Stream) {
			s.Expect(t, sseviewtest.Event{Type: "message", Data: "hello"})
			s.ExpectEnd(t)
		},
		want: sseview.CloseViewError, wantEvents: 1,
	}, {
		name: "view error, with an error event",
		h: sseview.Handler{View: yielding(false, errors.New("the database is gone")),
			ErrorEvent: func(error) sseview.Event { return sseview.Text{Type: "error", Data: "sorry"} }},
		drive: func(t *testing.T, _ *httptest.Server, s *sseviewtest.Stream) {
			s.Expect(t, sseviewtest.Event{Type: "error", Data: "sorry"})
			s.ExpectEnd(t)
		},
		want: sseview.CloseViewError, wantEvents: 1, wantBytes: len("event: error\ndata: sorry\n\n"),
	}, {
		name: "view panics",
		h: sseview.Handler{View: streamFunc(func(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
			return func(yield func(sseview.Event, error) bool) {
				if yield(hello, nil) {
					panic("the view has a bug")
				}
			}
		})},
		drive: func(t *testing.T, _ *httptest.Server, s *sseviewtest.Stream) {
			s.Expect(t, sseviewtest.Event{Type: "message", Data: "hello"})
			_, _ = s.Next() // Recoverer cuts the response short
		},
		want: sseview.CloseViewError, wantEvents: 1,
	}, {
		name: "invalid event",
		h:    sseview.Handler{View: yielding(true, nil, hello, sseview.Text{Type: "a\nb"})},
		drive: func(t *testing.T, _ *httptest.Server, s *sseviewtest.Stream) {
			s.Expect(t, sseviewtest.Event{Type: "message", Data: "hello"})
			s.ExpectEnd(t)
		},
		want: sseview.CloseInvalidEvent, wantEvents: 1,
	}, {
		name: "invalid event yielded as an error",
		h:    sseview.Handler{View: yielding(false, fmt.Errorf("decoding: %w", sseview.ErrInvalidEvent))},
		drive: func(t *testing.T, _ *httptest.Server, s *sseviewtest.Stream) {
			s.ExpectEnd(t)
		},
		want: sseview.CloseInvalidEvent, wantEvents: 0,
	}, {
		name: "shutdown",
		h:    sseview.Handler{View: yielding(true, nil, hello)},
		drive: func(t *testing.T, ts *httptest.Server, s *sseviewtest.Stream) {
			s.Expect(t, sseviewtest.Event{Type: "message", Data: "hello"})
			ctx, cancel := context.WithTimeout(t.Context(), observeWait)
			defer cancel()
			require.NoError(t, ts.Config.Shutdown(ctx))
			s.ExpectEnd(t)
		},
		want: sseview.CloseShutdown, wantEvents: 1,
	}, {
		name: "max lifetime",
		h:    sseview.Handler{View: yielding(true, nil, hello), MaxLifetime: 50 * time.Millisecond},
		drive: func(t *testing.T, _ *httptest.Server, s *sseviewtest.Stream) {
			s.Expect(t, sseviewtest.Event{Type: "message", Data: "hello"})
			s.ExpectEnd(t)
		},
		want: sseview.CloseMaxLifetime, wantEvents: 1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newStreamRecorder(t)
			h := tt.h
			h.Observer = rec
			h.Logger = slog.New(slog.DiscardHandler)
			ts := observedServer(t, route, &h)
			var s *sseviewtest.Stream
			if tt.stalled {
				dialStalled(t, ts.Listener.Addr().String(), "/rooms/lobby")
			} else {
				s = dialStream(t, ts.URL+"/rooms/lobby")
			}
			obs := rec.next(t)
			assert.Equal(t, route, obs.route, "the route pattern, not the path")
			assert.NotEmpty(t, obs.requestID, "the request the middleware saw")
			if tt.drive != nil {
				tt.drive(t, ts, s)
			}
			assert.Equal(t, tt.want, obs.end(t), "got %v", tt.want)
			events, bytes, _, _ := obs.counts()
			if tt.wantBytes == 0 {
				tt.wantBytes = 13 * tt.wantEvents
			}
			if tt.wantEvents >= 0 {
				assert.Equal(t, tt.wantEvents, events)
				assert.Equal(t, tt.wantBytes, bytes, "bytes of %d events", events)
			} else {
				assert.Positive(t, events)
				assert.Equal(t, events*(len(big.Data)+8), bytes)
			}
			rec.none(t)
		})
	}
}

func TestObserverHearsKeepAlives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newStreamRecorder(t)
		h := &sseview.Handler{View: yielding(true, nil), Observer: rec}
		s, err := sseviewtest.Open(observedRouter("/", h), httptest.NewRequest(http.MethodGet, "/", nil))
		require.NoError(t, err)
		defer s.Close()
		obs := rec.next(t)
		s.Comments = true
		s.Timeout = time.Minute // past the 15 s keep-alive
		for range 3 {
			s.Expect(t, sseviewtest.Event{Comment: ": keep-alive"})
		}
		require.NoError(t, s.Close())
		assert.Equal(t, sseview.CloseClientLeft, obs.end(t))
		events, bytes, keepAlives, kaBytes := obs.counts()
		assert.Equal(t, 0, events)
		assert.Equal(t, 0, bytes)
		assert.Equal(t, 3, keepAlives)
		assert.Equal(t, 3*len(": keep-alive\n\n"), kaBytes)
	})
}

func TestObserverHearsNoRefusedRequest(t *testing.T) {
	rec := newStreamRecorder(t)
	h := &sseview.Handler{View: yielding(false, nil, sseview.Text{Data: "hello"}), Observer: rec, Logger: slog.New(slog.DiscardHandler)}
	r := observedRouter("/*", h)
	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodPost, "/", nil),
		httptest.NewRequest(http.MethodHead, "/", nil),
		func() *http.Request {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Last-Event-ID", "a\x01")
			return req
		}(),
	} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		assert.NotEqual(t, 0, w.Code)
	}
	rec.none(t)
}

func TestMemoryBrokerObserver(t *testing.T) {
	ctx := t.Context()
	rec := brokercheck.NewObserverRecorder()
	b := &sseview.MemoryBroker{Observer: rec}
	publish := func(e sseview.Event) string {
		t.Helper()
		id, err := b.Publish(ctx, "room.1", e)
		require.NoError(t, err)
		return id
	}
	// next reads n events of sub, for a subscription that goes on.
	next := func(sub iter.Seq2[sseview.Event, error], n int) []string {
		var types []string
		if n == 0 {
			return nil
		}
		for ev, err := range sub {
			require.NoError(t, err)
			text, err := ev.MarshalEvent()
			require.NoError(t, err)
			types = append(types, text.Type)
			if len(types) == n {
				break
			}
		}
		return types
	}

	first := publish(sseview.Keyed{Key: "k1", Event: sseview.Text{Data: "1"}})
	publish(sseview.Keyed{Key: "k1", Event: sseview.Text{Data: "1"}})
	publish(sseview.Text{Data: "2"})
	calls, _ := rec.Take()
	assert.Equal(t, []string{
		"published room.1 duplicate=false",
		"published room.1 duplicate=true",
		"published room.1 duplicate=false",
	}, calls)

	t.Run("catch-up then live", func(t *testing.T) {
		subCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		got, done := make(chan string, 2), make(chan struct{})
		go func() {
			defer close(done)
			for ev, err := range b.Subscribe(subCtx, "room.1", first) {
				if !assert.NoError(t, err) {
					return
				}
				text, _ := ev.MarshalEvent()
				got <- text.Data
			}
		}()
		// "2" is replayed; "3", published once the catch-up is over, is
		// delivered live.
		rec.WaitFor(t, "caught up room.1 1")
		before := time.Now()
		publish(sseview.Text{Data: "3"})
		for _, want := range []string{"2", "3"} {
			select {
			case data := <-got:
				assert.Equal(t, want, data)
			case <-time.After(observeWait):
				t.Fatal("timed out waiting for the events")
			}
		}
		cancel()
		<-done
		calls, lags := rec.Take()
		assert.Equal(t, []string{"caught up room.1 1", "published room.1 duplicate=false", "delivered room.1"}, calls)
		require.Len(t, lags, 1)
		assert.GreaterOrEqual(t, lags[0], time.Duration(0))
		assert.LessOrEqual(t, lags[0], time.Since(before), "the lag runs from the publish")
	})
	t.Run("reset", func(t *testing.T) {
		assert.Equal(t, []string{sseview.ResetEventType}, next(b.Subscribe(ctx, "room.1", "unknown-1"), 1))
		calls, _ := rec.Take()
		assert.Equal(t, []string{"reset room.1"}, calls)
	})
	t.Run("up to date", func(t *testing.T) {
		last := publish(sseview.Text{Data: "4"})
		rec.Take()
		subCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		sub := b.Subscribe(subCtx, "room.1", last)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range sub {
			}
		}()
		rec.WaitFor(t, "caught up room.1 0")
		cancel()
		<-done
		calls, _ := rec.Take()
		assert.Equal(t, []string{"caught up room.1 0"}, calls)
	})
	t.Run("slow subscriber", func(t *testing.T) {
		slow := &sseview.MemoryBroker{QueueLen: 1, Observer: rec}
		// Resuming from the newest event, the subscription is live once
		// it has caught up, with nothing.
		from, err := slow.Publish(ctx, "room.2", sseview.Text{Data: "0"})
		require.NoError(t, err)
		taken, release := make(chan struct{}), make(chan struct{})
		ended := make(chan error, 1)
		go func() {
			first := true
			for _, err := range slow.Subscribe(ctx, "room.2", from) {
				if err != nil {
					ended <- err
					return
				}
				if first {
					first = false
					close(taken)
					<-release // the subscriber is busy: its queue fills
				}
			}
			ended <- nil
		}()
		rec.WaitFor(t, "caught up room.2 0")
		rec.Take()
		_, err = slow.Publish(ctx, "room.2", sseview.Text{Data: "a"})
		require.NoError(t, err)
		<-taken
		// b waits in the queue (QueueLen 1): c overflows it.
		for _, data := range []string{"b", "c"} {
			_, err = slow.Publish(ctx, "room.2", sseview.Text{Data: data})
			require.NoError(t, err)
		}
		close(release)
		select {
		case err := <-ended:
			assert.ErrorIs(t, err, sseview.ErrSlowSubscriber)
		case <-time.After(observeWait):
			t.Fatal("timed out waiting for the drop")
		}
		calls, _ := rec.Take()
		assert.Equal(t, []string{
			"published room.2 duplicate=false", "published room.2 duplicate=false", "published room.2 duplicate=false",
			"delivered room.2", "delivered room.2", "dropped room.2",
		}, calls)
	})
}

func TestCloseReasonStrings(t *testing.T) {
	want := map[sseview.CloseReason]string{
		sseview.CloseCompleted:      "completed",
		sseview.CloseClientLeft:     "client_left",
		sseview.CloseWriteTimeout:   "write_timeout",
		sseview.CloseSlowSubscriber: "slow_subscriber",
		sseview.CloseInvalidEvent:   "invalid_event",
		sseview.CloseViewError:      "view_error",
		sseview.CloseShutdown:       "shutdown",
		sseview.CloseMaxLifetime:    "max_lifetime",
	}
	for r, s := range want {
		assert.Equal(t, s, r.String())
	}
	assert.Equal(t, "unknown", sseview.CloseReason(200).String())
}

func TestObserverHearsASlowSubscriber(t *testing.T) {
	// A client that reads more slowly than events are published: its
	// stream's writes block while the broker queues for it, until its queue
	// overflows; the client then takes what was queued, and the stream ends.
	rec, brokerRec := newStreamRecorder(t), brokercheck.NewObserverRecorder()
	b := &sseview.MemoryBroker{QueueLen: 4, MaxEvents: 8, Observer: brokerRec}
	view := streamFunc(func(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return b.Subscribe(ctx, "room."+chi.URLParam(r, "room"), "")
	})
	ts := observedServer(t, "/rooms/{room}", &sseview.Handler{View: view, Observer: rec, Logger: slog.New(slog.DiscardHandler)})
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.(*net.TCPConn).SetReadBuffer(4096))
	_, err = fmt.Fprintf(conn, "GET /rooms/lobby HTTP/1.1\r\nHost: test\r\n\r\n")
	require.NoError(t, err)
	obs := rec.next(t)

	// The subscription ends with the drop only once its client has read
	// what was queued: the client starts reading once the stream's writes
	// have long been blocked. Events published before the subscription
	// joined the topic do not reach it.
	big := sseview.Text{Data: strings.Repeat("x", 64<<10)}
	for range 200 { // 13 MB, far more than loopback buffers hold
		_, err := b.Publish(t.Context(), "room.lobby", big)
		require.NoError(t, err)
	}
	go func() { _, _ = io.Copy(io.Discard, conn) }()
	brokerRec.WaitFor(t, "dropped room.lobby")
	assert.Equal(t, sseview.CloseSlowSubscriber, obs.end(t))
	events, bytes, _, _ := obs.counts()
	assert.Positive(t, events)
	assert.Greater(t, bytes, events*len(big.Data), "each event is its data and its fields")
}
