package sseview_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/render"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/eventstream"
	"github.com/sseview/sseview/sseview"
)

// appRouter is a chi router with the middleware a real service runs, the
// request logger writing nowhere.
func appRouter() *chi.Mux {
	r := chi.NewRouter()
	r.Use(
		middleware.RequestID,
		middleware.ClientIPFromRemoteAddr, // RealIP's successor
		middleware.RequestLogger(&middleware.DefaultLogFormatter{Logger: discardLog{}.logger(), NoColor: true}),
		middleware.Recoverer,
	)
	return r
}

// serveEndingStreams serves h with EndStreamsOnShutdown(retry), over
// HTTP/1.1 or, when h2 is set, HTTP/2 over TLS, and returns the server and
// a client for it.
func serveEndingStreams(t *testing.T, h http.Handler, retry time.Duration, h2 bool) (*httptest.Server, *http.Client) {
	t.Helper()
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ErrorLog = discardLog{}.logger()
	sseview.EndStreamsOnShutdown(ts.Config, retry)
	if h2 {
		ts.EnableHTTP2 = true
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
	})
	return ts, ts.Client()
}

// openStreams starts n streams and returns their responses once every
// handler is streaming. The requests give up after wait.
func openStreams(t *testing.T, client *http.Client, url string, n int, started <-chan struct{}) []*http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 4*wait)
	t.Cleanup(cancel)
	resps := make([]*http.Response, n)
	for i := range resps {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		require.NoError(t, err)
		resp, err := client.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		t.Cleanup(func() { resp.Body.Close() })
		resps[i] = resp
		recv(t, started, "a stream to start")
	}
	return resps
}

// openRawStreams is openStreams over raw TCP connections, read by the test
// goroutine alone: a thousand of them add no goroutines to the client side,
// which would compete with the server's.
func openRawStreams(t *testing.T, addr, path string, n int, started <-chan struct{}) []*http.Response {
	t.Helper()
	resps := make([]*http.Response, n)
	for i := range resps {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(4*wait)))
		_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path)
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		resps[i] = resp
		recv(t, started, "a stream to start")
	}
	return resps
}

// helloUntilDone yields one event, reports that it started, and waits for
// ctx. It reports the cause of ctx when it returns.
func helloUntilDone(started chan<- struct{}, causes chan<- error) viewFunc {
	return func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			defer func() { causes <- context.Cause(ctx) }()
			if !yield(sseview.Text{Data: "hello"}, nil) {
				return
			}
			started <- struct{}{}
			<-ctx.Done()
		}
	}
}

// requireEndedWithHint reads a stream to its end and requires the one event
// and a last retry hint in [retry/2, 3*retry/2); it returns the hint. It
// parses the body's bytes with the oracle parser rather than reading it
// with sseviewtest: the streams of openRawStreams are raw TCP, and the body
// is only read once Shutdown has ended it.
func requireEndedWithHint(t *testing.T, resp *http.Response, retry time.Duration) time.Duration {
	t.Helper()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "the stream ends cleanly")
	events, hint, ok := eventstream.ParseString(string(body))
	require.Equal(t, []eventstream.Event{{Type: "message", Data: "hello"}}, events)
	require.True(t, ok, "the client gets a last retry hint: %q", body)
	assert.GreaterOrEqual(t, hint, retry/2)
	assert.Less(t, hint, 3*retry/2)
	return hint
}

type response struct {
	status int
	body   string
	err    error
}

func getResponse(client *http.Client, url string) response {
	resp, err := client.Get(url)
	if err != nil {
		return response{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(body), err}
}

func TestShutdownEndsStreamsAndLetsOtherRequestsFinish(t *testing.T) {
	for _, proto := range []string{"HTTP/1.1", "HTTP/2"} {
		t.Run(proto, func(t *testing.T) {
			const streams, retry = 100, 2 * time.Second
			started := make(chan struct{}, streams)
			causes := make(chan error, streams)
			reportStarted, release := make(chan struct{}), make(chan struct{})
			r := appRouter()
			r.Get("/events", sseview.AsView(helloUntilDone(started, causes)))
			// An ordinary JSON handler that takes its time, and gives up,
			// as handlers should, when its context is done.
			r.Get("/report", func(w http.ResponseWriter, r *http.Request) {
				close(reportStarted)
				select {
				case <-release:
					render.JSON(w, r, map[string]string{"report": "ready"})
				case <-r.Context().Done():
					render.Status(r, http.StatusServiceUnavailable)
					render.JSON(w, r, map[string]string{"error": context.Cause(r.Context()).Error()})
				}
			})
			ts, client := serveEndingStreams(t, r, retry, proto == "HTTP/2")
			resps := openStreams(t, client, ts.URL+"/events", streams, started)
			report := make(chan response, 1)
			go func() { report <- getResponse(client, ts.URL+"/report") }()
			closed(t, reportStarted, "the report request to start")

			ctx, cancel := context.WithTimeout(t.Context(), wait)
			defer cancel()
			begun := time.Now()
			shutdown := make(chan error, 1)
			go func() { shutdown <- ts.Config.Shutdown(ctx) }()

			retries := map[time.Duration]bool{}
			for _, resp := range resps {
				retries[requireEndedWithHint(t, resp, retry)] = true
				assert.ErrorIs(t, recv(t, causes, "the view's ctx"), sseview.ErrShutdown)
			}
			took := time.Since(begun)
			t.Logf("%d streams ended %v after Shutdown began", streams, took)
			assert.Less(t, took, time.Second, "the streams end at once")
			assert.Greater(t, len(retries), streams/2, "the hints are spread out")

			select {
			case res := <-report:
				t.Fatalf("the report ended before it was done: %d %s %v", res.status, res.body, res.err)
			default:
			}
			close(release)
			res := recv(t, report, "the report")
			require.NoError(t, res.err)
			assert.Equal(t, http.StatusOK, res.status, res.body)
			assert.JSONEq(t, `{"report":"ready"}`, res.body)
			require.NoError(t, recv(t, shutdown, "Shutdown to return"))
		})
	}
}

// bigWriteSignal tells when a write of at least a MiB has begun.
type bigWriteSignal struct {
	http.ResponseWriter
	entered chan<- struct{}
}

func (w bigWriteSignal) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w bigWriteSignal) Write(b []byte) (int, error) {
	if len(b) >= 1<<20 {
		select {
		case w.entered <- struct{}{}:
		default:
		}
	}
	return w.ResponseWriter.Write(b)
}

func signalBigWrites(entered chan<- struct{}) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(bigWriteSignal{w, entered}, r)
		})
	}
}

func TestShutdownCutsAWriteToAStalledClient(t *testing.T) {
	tests := []struct {
		proto   string
		streams int // besides the stalled one
	}{
		{"HTTP/1.1", 999},
		// Go's HTTP/2 server runs at most 250 streams per connection.
		{"HTTP/2", 200},
	}
	for _, tt := range tests {
		t.Run(tt.proto, func(t *testing.T) {
			const retry = 2 * time.Second
			started := make(chan struct{}, tt.streams)
			causes := make(chan error, tt.streams)
			entered := make(chan struct{}, 1)
			stalled := make(chan error, 1)
			logs := newLogRecorder()
			r := appRouter()
			r.Get("/events", (&sseview.Handler{View: helloUntilDone(started, causes), Logger: logs.logger()}).ServeHTTP)
			// 8 MiB is far more than the kernel's buffers (and HTTP/2's
			// flow-control window) hold for a client that does not read: the
			// write blocks, for the whole default WriteTimeout of 30 s.
			huge := sseview.Text{Data: strings.Repeat("x", 8<<20)}
			r.With(signalBigWrites(entered)).Get("/huge", (&sseview.Handler{
				View: viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
					return func(yield func(sseview.Event, error) bool) {
						defer func() { stalled <- context.Cause(ctx) }()
						seq(ctx, huge)(yield)
					}
				}),
				Logger: logs.logger(),
			}).ServeHTTP)
			ts, client := serveEndingStreams(t, r, retry, tt.proto == "HTTP/2")

			var resps []*http.Response
			if tt.proto == "HTTP/2" {
				resps = openStreams(t, client, ts.URL+"/events", tt.streams, started)
				// A stream of the same connection whose body nobody reads.
				resp, err := client.Get(ts.URL + "/huge")
				require.NoError(t, err)
				t.Cleanup(func() { resp.Body.Close() })
			} else {
				resps = openRawStreams(t, ts.Listener.Addr().String(), "/events", tt.streams, started)
				conn, err := net.Dial("tcp", ts.Listener.Addr().String())
				require.NoError(t, err)
				t.Cleanup(func() { conn.Close() })
				require.NoError(t, conn.(*net.TCPConn).SetReadBuffer(4096))
				_, err = fmt.Fprintf(conn, "GET /huge HTTP/1.1\r\nHost: test\r\n\r\n")
				require.NoError(t, err)
			}
			closed(t, entered, "the huge write to begin")

			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			begun := time.Now()
			require.NoError(t, ts.Config.Shutdown(ctx), "Shutdown returns within a second")
			t.Logf("Shutdown of %d streams and a stalled one took %v", tt.streams, time.Since(begun))

			for _, resp := range resps {
				requireEndedWithHint(t, resp, retry)
				assert.ErrorIs(t, recv(t, causes, "the view's ctx"), sseview.ErrShutdown)
			}
			assert.ErrorIs(t, recv(t, stalled, "the stalled view to return"), sseview.ErrShutdown)
			logs.waitFor(t, "sseview: client dropped")
		})
	}
}

// holdAfterFlush calls hold after each flush that follows a write of an
// event whose data is "hold", while the stream still holds its lock.
type holdAfterFlush struct {
	http.ResponseWriter
	hold    func()
	holding bool
}

func (w *holdAfterFlush) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *holdAfterFlush) Write(b []byte) (int, error) {
	w.holding = strings.Contains(string(b), "data: hold\n")
	return w.ResponseWriter.Write(b)
}

func (w *holdAfterFlush) FlushError() error {
	err := http.NewResponseController(w.ResponseWriter).Flush()
	if w.holding {
		w.holding = false
		w.hold()
	}
	return err
}

func TestShutdownJustAfterAWriteEndsCleanly(t *testing.T) {
	// The client has the event, and Shutdown begins, while the stream has
	// yet to return from its write: that write is in progress, but it is
	// not blocked, and the stream still gets its last words through.
	for _, proto := range []string{"HTTP/1.1", "HTTP/2"} {
		t.Run(proto, func(t *testing.T) {
			const retry = 2 * time.Second
			ctxs := make(chan context.Context, 1)
			holding := make(chan struct{})
			hold := func() {
				close(holding)
				<-recv(t, ctxs, "the view's ctx").Done() // Shutdown has ended the stream
			}
			r := appRouter()
			r.Use(func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					next.ServeHTTP(&holdAfterFlush{ResponseWriter: w, hold: hold}, r)
				})
			})
			r.Get("/events", sseview.AsView(viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
				ctxs <- ctx
				return seq(ctx, sseview.Text{Data: "hold"})
			})))
			ts, client := serveEndingStreams(t, r, retry, proto == "HTTP/2")
			resp, err := client.Get(ts.URL + "/events")
			require.NoError(t, err)
			defer resp.Body.Close()
			closed(t, holding, "the write to be flushed")

			ctx, cancel := context.WithTimeout(t.Context(), wait)
			defer cancel()
			require.NoError(t, ts.Config.Shutdown(ctx))
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err, "the stream ends cleanly")
			events, hint, ok := eventstream.ParseString(string(body))
			assert.Equal(t, []eventstream.Event{{Type: "message", Data: "hold"}}, events)
			assert.True(t, ok, "the client gets its retry hint: %q", body)
			assert.GreaterOrEqual(t, hint, retry/2)
		})
	}
}

// acceptFirst is a view with an Accept method.
type acceptFirst struct {
	accept func(r *http.Request, p sseview.Params) error
	viewFunc
}

func (a acceptFirst) Accept(r *http.Request, p sseview.Params) error { return a.accept(r, p) }

func TestStreamStartingDuringShutdownEndsAtOnce(t *testing.T) {
	const retry = 2 * time.Second
	started := make(chan struct{}, 2)
	causes := make(chan error, 2)
	accepting, accept := make(chan struct{}), make(chan struct{})
	r := appRouter()
	r.Get("/events", sseview.AsView(helloUntilDone(started, causes)))
	r.Get("/late", sseview.AsView(acceptFirst{
		accept: func(*http.Request, sseview.Params) error {
			close(accepting)
			<-accept
			return nil
		},
		viewFunc: helloUntilDone(started, causes),
	}))
	ts, client := serveEndingStreams(t, r, retry, false)
	early := openStreams(t, client, ts.URL+"/events", 1, started)
	late := make(chan response, 1)
	go func() { late <- getResponse(client, ts.URL+"/late") }()
	closed(t, accepting, "the late request to reach Accept")

	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	shutdown := make(chan error, 1)
	go func() { shutdown <- ts.Config.Shutdown(ctx) }()
	requireEndedWithHint(t, early[0], retry)
	assert.ErrorIs(t, recv(t, causes, "the early view's ctx"), sseview.ErrShutdown)

	// Shutdown has begun: the late stream starts now, and ends at once,
	// before its first event.
	close(accept)
	res := recv(t, late, "the late stream")
	require.NoError(t, res.err)
	assert.Equal(t, http.StatusOK, res.status)
	events, hint, ok := eventstream.ParseString(res.body)
	assert.Empty(t, events)
	assert.True(t, ok, "the late client gets a retry hint too: %q", res.body)
	assert.GreaterOrEqual(t, hint, retry/2)
	assert.ErrorIs(t, recv(t, causes, "the late view's ctx"), sseview.ErrShutdown)
	require.NoError(t, recv(t, shutdown, "Shutdown to return"))
}

func TestShutdownWithoutTheHelperWaitsForStreams(t *testing.T) {
	// The problem EndStreamsOnShutdown solves (golang/go#41344): a Handler
	// on its own does not end its streams.
	started := make(chan struct{}, 1)
	causes := make(chan error, 1)
	ts := httptest.NewServer(sseview.AsView(helloUntilDone(started, causes)))
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
	})
	openStreams(t, ts.Client(), ts.URL, 1, started)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, ts.Config.Shutdown(ctx), context.DeadlineExceeded)
	ts.CloseClientConnections()
	assert.ErrorIs(t, recv(t, causes, "the view to stop once its client is gone"), context.Canceled)
}

func TestShutdownKeepsTheServersBaseContext(t *testing.T) {
	type key struct{}
	seen := make(chan any, 1)
	view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		seen <- ctx.Value(key{})
		return func(func(sseview.Event, error) bool) {}
	})
	ts := httptest.NewUnstartedServer(sseview.AsView(view))
	ts.Config.BaseContext = func(net.Listener) context.Context {
		return context.WithValue(context.Background(), key{}, "base")
	}
	sseview.EndStreamsOnShutdown(ts.Config, 0)
	ts.Start()
	t.Cleanup(ts.Close)
	resp, err := http.Get(ts.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "base", recv(t, seen, "the view"))
}
