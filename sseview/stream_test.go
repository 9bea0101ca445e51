package sseview_test

import (
	"context"
	"iter"
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

	"github.com/sseview/sseview/internal/testutil"
	"github.com/sseview/sseview/sseview"
)

// memWriter is a ResponseWriter that notes when each write happened, for
// tests that run in a synctest bubble (no network there).
type memWriter struct {
	mu     sync.Mutex
	header http.Header
	writes []timedWrite
}

type timedWrite struct {
	at   time.Duration // since the test began
	text string
}

func (m *memWriter) Header() http.Header { return m.header }
func (m *memWriter) WriteHeader(int)     {}
func (m *memWriter) Flush()              {}

var bubbleStart time.Time

func (m *memWriter) Write(b []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes = append(m.writes, timedWrite{time.Since(bubbleStart), string(b)})
	return len(b), nil
}

func (m *memWriter) log() []timedWrite {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]timedWrite(nil), m.writes...)
}

func TestKeepAliveTiming(t *testing.T) {
	const ka = ": keep-alive\n\n"
	tests := []struct {
		name         string
		keepAlive    time.Duration
		writeTimeout time.Duration
		events       []time.Duration // when the view yields
		want         []timedWrite
	}{
		{"default every 15s", 0, 0, nil, []timedWrite{
			{15 * time.Second, ka}, {30 * time.Second, ka}, {45 * time.Second, ka}}},
		// The timer ticks every 7.5 s: the first tick that finds the stream
		// may have been silent for a whole 15 s by the next writes a comment.
		{"an event resets the wait", 0, 0, []time.Duration{10 * time.Second}, []timedWrite{
			{10 * time.Second, "data: x\n\n"}, {22500 * time.Millisecond, ka}, {37500 * time.Millisecond, ka}}},
		{"a comment comes at least half an interval after an event", 0, 0, []time.Duration{7 * time.Second}, []timedWrite{
			{7 * time.Second, "data: x\n\n"}, {15 * time.Second, ka}, {30 * time.Second, ka}, {45 * time.Second, ka}}},
		// A 6 s write timeout makes the tick 1.5 s, a quarter of it: the
		// comment comes at the tick after which 15 s of silence could pass.
		{"a short write timeout ticks faster", 0, 6 * time.Second, []time.Duration{5 * time.Second}, []timedWrite{
			{5 * time.Second, "data: x\n\n"}, {19500 * time.Millisecond, ka}, {34500 * time.Millisecond, ka}, {49500 * time.Millisecond, ka}}},
		{"custom interval", 20 * time.Second, 40 * time.Second, nil, []timedWrite{{20 * time.Second, ka}, {40 * time.Second, ka}}},
		// Ticks that do not fit KeepAlive (7.5 s, a quarter of the write
		// timeout) are shortened to 20/3 s: comments every 20 s, to the ns.
		{"ticks fit the interval", 20 * time.Second, 0, nil, []timedWrite{
			{3 * (20 * time.Second / 3), ka}, {6 * (20 * time.Second / 3), ka}}},
		{"off", -1, 0, []time.Duration{5 * time.Second}, []timedWrite{{5 * time.Second, "data: x\n\n"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				bubbleStart = time.Now()
				view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
					return func(yield func(sseview.Event, error) bool) {
						start := time.Now()
						for _, at := range tt.events {
							time.Sleep(at - time.Since(start))
							if !yield(sseview.Text{Data: "x"}, nil) {
								return
							}
						}
						<-ctx.Done()
					}
				})
				ctx, cancel := context.WithCancel(t.Context())
				w := &memWriter{header: http.Header{}}
				done := make(chan struct{})
				go func() {
					defer close(done)
					h := &sseview.Handler{View: view, KeepAlive: tt.keepAlive, WriteTimeout: tt.writeTimeout}
					h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
				}()
				time.Sleep(50 * time.Second) // fake time: the bubble's clock
				synctest.Wait()
				assert.Equal(t, tt.want, w.log())
				cancel()
				<-done
			})
		})
	}
}

func TestBehindChiMiddleware(t *testing.T) {
	stacks := []struct {
		name        string
		middlewares []func(http.Handler) http.Handler
		gzip        bool
	}{
		{"Logger", []func(http.Handler) http.Handler{middleware.Logger}, false},
		{"Recoverer", []func(http.Handler) http.Handler{middleware.Recoverer}, false},
		{"RequestID", []func(http.Handler) http.Handler{middleware.RequestID}, false},
		{"Compress leaves event streams alone by default", []func(http.Handler) http.Handler{middleware.Compress(5)}, false},
		{"Compress told to compress event streams", []func(http.Handler) http.Handler{middleware.Compress(5, "text/event-stream")}, true},
		{"all of them", []func(http.Handler) http.Handler{
			middleware.RequestID, middleware.Logger, middleware.Recoverer, middleware.Compress(5, "text/event-stream")}, true},
	}
	for _, st := range stacks {
		t.Run(st.name, func(t *testing.T) {
			release := make(chan struct{})
			view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
				return func(yield func(sseview.Event, error) bool) {
					if !yield(sseview.Text{Data: "one"}, nil) {
						return
					}
					select {
					case <-release:
					case <-ctx.Done():
						return
					}
					if !yield(sseview.Text{Data: strings.Repeat("two", 100)}, nil) {
						return
					}
					<-ctx.Done()
				}
			})
			r := chi.NewRouter()
			r.Use(st.middlewares...)
			r.Get("/events", sseview.AsView(view))
			srv := testutil.Serve(t, r)
			s := dial(t, nil, srv.URL+"/events", nil)

			// The view is blocked after its first event: it arrived because it
			// was flushed through the wrappers.
			s.Expect(t, msg("one", ""))
			close(release)
			s.Expect(t, msg(strings.Repeat("two", 100), ""))
			assert.Equal(t, st.gzip, s.Response().Uncompressed, "gzip was applied and undone by the client")
		})
	}
}

func TestOverHTTP2(t *testing.T) {
	stopped := make(chan struct{})
	ts := httptest.NewUnstartedServer(sseview.AsView(blocking(stopped, sseview.Text{ID: "1", Data: "over h2"})))
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(ts.Close)

	s := dial(t, ts.Client(), ts.URL, nil)
	require.Equal(t, 2, s.Response().ProtoMajor)
	assert.Equal(t, "text/event-stream", s.Response().Header.Get("Content-Type"))
	s.Expect(t, msg("over h2", "1"))
	require.NoError(t, s.Close())
	closed(t, stopped, "the view to stop when the HTTP/2 stream is reset")
}

func TestConnectionHeaderOnlyOnHTTP1(t *testing.T) {
	// Connection is not an HTTP/2 header. Go's HTTP/2 server deletes it
	// from a response, so only the Handler's own header map shows whether
	// it was set.
	for _, tt := range []struct {
		proto int
		want  string
	}{{1, "keep-alive"}, {2, ""}} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.ProtoMajor = tt.proto
		rec := httptest.NewRecorder()
		sseview.AsView(finite(sseview.Text{Data: "x"})).ServeHTTP(rec, req)
		assert.Equal(t, tt.want, rec.Header().Get("Connection"), "HTTP/%d", tt.proto)
	}
}

// deadlineWriter is a memWriter whose write deadline http.ResponseController
// can set; it notes the deadline each write ran under.
type deadlineWriter struct {
	memWriter
	deadline time.Time
	under    []time.Duration // per write: the deadline less the write's time
}

func (d *deadlineWriter) SetWriteDeadline(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.deadline = t
	return nil
}

func (d *deadlineWriter) Write(b []byte) (int, error) {
	d.mu.Lock()
	d.under = append(d.under, time.Until(d.deadline))
	d.mu.Unlock()
	return d.memWriter.Write(b)
}

func TestEveryWriteGetsTheWholeWriteTimeout(t *testing.T) {
	// The deadline is renewed by the stream's timer, not at each write: each
	// write still gets at least WriteTimeout, and at most a tick (half of
	// KeepAlive or a quarter of WriteTimeout, the shorter) more.
	tests := []struct {
		name                    string
		keepAlive, writeTimeout time.Duration
		tick                    time.Duration
	}{
		{"defaults", 0, 0, 7500 * time.Millisecond},
		{"write timeout shorter than keep-alive", 0, 4 * time.Second, time.Second},
		{"no keep-alive", -1, 10 * time.Second, 2500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				bubbleStart = time.Now()
				view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
					return func(yield func(sseview.Event, error) bool) {
						// Bursts, and pauses of every length up to 20 s.
						for i := range 400 {
							if i%3 != 0 {
								time.Sleep(time.Duration(i*7919%20000) * time.Millisecond)
							}
							if !yield(sseview.Text{Data: "x"}, nil) {
								return
							}
						}
					}
				})
				w := &deadlineWriter{memWriter: memWriter{header: http.Header{}}}
				h := &sseview.Handler{View: view, KeepAlive: tt.keepAlive, WriteTimeout: tt.writeTimeout}
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
				timeout := tt.writeTimeout
				if timeout == 0 {
					timeout = 30 * time.Second
				}
				require.GreaterOrEqual(t, len(w.under), 400)
				for i, left := range w.under {
					if left < timeout || left > timeout+tt.tick {
						t.Fatalf("write %d ran under a deadline %v away, want %v to %v", i, left, timeout, timeout+tt.tick)
					}
				}
			})
		})
	}
}
