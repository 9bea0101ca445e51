package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sseview/sseview/internal/testutil"
	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// wait bounds every wait for something that should happen at once; tests
// never wait for a fixed time.
const wait = 5 * time.Second

// testPoll is the poll interval of the views under test: short, so a
// change shows up fast, with no test depending on its exact length.
const testPoll = 20 * time.Millisecond

// openStore opens a fresh database file in the test's temporary directory.
func openStore(t *testing.T) *Store {
	t.Helper()
	store, err := OpenStore(t.Context(), filepath.Join(t.TempDir(), "weather.db"))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	return store
}

// logBuffer is an slog destination that tests can read while handlers
// write to it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// serveView serves v on the weather route, as newApp does, and returns the
// server's URL.
func serveView(t *testing.T, v WeatherStream, logger *slog.Logger) string {
	t.Helper()
	r := chi.NewRouter()
	handleStream(r, &sseview.Handler{View: v, Logger: logger})
	return testutil.Serve(t, r).URL
}

// get fetches url on a connection of its own and returns the status,
// Content-Type and body.
func get(t *testing.T, method, url string) (status int, contentType, body string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: wait}
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// open opens the event stream at url over the network, with header, as
// the page's EventSource would, and closes it when the test ends: the test
// fails if the handler does not return then.
func open(t *testing.T, url string, header http.Header) *sseviewtest.Stream {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, url, nil)
	maps.Copy(req.Header, header)
	return sseviewtest.DialT(t, nil, req)
}

// nextEvent reads the next event of s, failing the test if none comes.
func nextEvent(t *testing.T, s *sseviewtest.Stream) sseviewtest.Event {
	t.Helper()
	ev, err := s.Next()
	require.NoError(t, err)
	return ev
}

// nextOfType returns the next event of type typ, skipping pings, and fails
// when another type comes first.
func nextOfType(t *testing.T, s *sseviewtest.Stream, typ string) sseviewtest.Event {
	t.Helper()
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); {
		ev := nextEvent(t, s)
		if ev.Type == typ {
			return ev
		}
		require.Equal(t, "ping", ev.Type, "unexpected event %s while waiting for %q", ev, typ)
	}
	t.Fatalf("only pings for %v while waiting for %q", wait, typ)
	return sseviewtest.Event{}
}

// lineWriter hands each line written to it to a channel, so a test can wait
// for a line a running program prints.
type lineWriter struct {
	mu    sync.Mutex
	buf   strings.Builder
	lines chan string
}

func newLineWriter() *lineWriter { return &lineWriter{lines: make(chan string, 16)} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		s := w.buf.String()
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			return len(p), nil
		}
		select {
		case w.lines <- s[:i]:
		default: // nobody reads more than the first lines
		}
		w.buf.Reset()
		w.buf.WriteString(s[i+1:])
	}
}

// runResult is what run returned, and when.
type runResult struct {
	err error
	at  time.Time
}

// startRun runs the program with args until ctx is done, and returns its
// first printed line (the URL line) and a channel receiving run's result.
func startRun(ctx context.Context, t *testing.T, args []string, env map[string]string, stderr io.Writer) (string, <-chan runResult) {
	t.Helper()
	out := newLineWriter()
	done := make(chan runResult, 1)
	go func() {
		err := run(ctx, args, func(k string) string { return env[k] }, out, stderr)
		done <- runResult{err, time.Now()}
	}()
	select {
	case line := <-out.lines:
		return line, done
	case r := <-done:
		t.Fatalf("run returned before it printed its URL: %v", r.err)
	case <-time.After(wait):
		t.Fatal("run printed no URL")
	}
	return "", nil
}
