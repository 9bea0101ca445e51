package testutil

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sseview/sseview/internal/eventstream"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const wait = 5 * time.Second

// fakeTB records cleanups, so that a test can run them while it still can
// check what they did.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	f.cleanups = append(f.cleanups, fn)
	f.mu.Unlock()
}

// runCleanups runs the cleanups in LIFO order, as testing does, and reports
// whether they finished within wait.
func (f *fakeTB) runCleanups() bool {
	f.mu.Lock()
	fns := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := len(fns) - 1; i >= 0; i-- {
			fns[i]()
		}
	}()
	select {
	case <-done:
		return true
	case <-time.After(wait):
		return false
	}
}

func TestServeCleanupClosesOpenStreams(t *testing.T) {
	// A client that never hangs up must not make the server's cleanup wait.
	ft := &fakeTB{TB: t}
	handlerDone := make(chan struct{})
	srv := Serve(ft, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(handlerDone)
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		_, _ = io.WriteString(w, "data: x\n\n")
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	ev, err := eventstream.NewParser(resp.Body).Next()
	require.NoError(t, err)
	assert.Equal(t, eventstream.Event{Type: "message", Data: "x"}, ev, "the stream is open")

	require.True(t, ft.runCleanups(), "Serve cleanup hung on an open stream")
	select {
	case <-handlerDone:
	default:
		t.Fatal("handler still running after cleanup")
	}
}
