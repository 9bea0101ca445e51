package testutil

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const wait = 5 * time.Second

func msg(data, id string) Event { return Event{Type: "message", Data: data, LastEventID: id} }

// fakeTB records Fatal calls and cleanups so the failure paths of the
// helpers can be tested. Its Fatal calls runtime.Goexit like the real one,
// so code under it must run in its own goroutine (see runTB).
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	fatal    string
	cleanups []func()
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatal = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	f.cleanups = append(f.cleanups, fn)
	f.mu.Unlock()
}

func (f *fakeTB) failure() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fatal
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

// runTB runs fn in its own goroutine, so a Goexit from fakeTB.Fatalf ends
// only fn, and waits for it.
func runTB(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("helper did not return")
	}
}

// streamHandler writes body as an event stream, then holds the stream open
// until the client goes away, as a real SSE handler would.
func streamHandler(body string, hold bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, body)
		_ = http.NewResponseController(w).Flush()
		if hold {
			<-r.Context().Done()
		}
	}
}

func TestOpenReadsEventsAndComments(t *testing.T) {
	gotHeader := make(chan http.Header, 1)
	srv := Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHeader <- r.Header.Clone()
		streamHandler(": hi\n\nretry: 10\nid: 1\ndata: a\n\n:ping\ndata: b\r\n\r\n", true)(w, r)
	}))
	s := Open(t, nil, srv.URL, http.Header{"Last-Event-Id": {"0"}})

	h := <-gotHeader
	assert.Equal(t, "text/event-stream", h.Get("Accept"))
	assert.Equal(t, "0", h.Get("Last-Event-ID"))
	assert.Equal(t, http.StatusOK, s.Resp.StatusCode)

	assert.Equal(t, msg("a", "1"), s.Next(wait))
	assert.Equal(t, msg("b", "1"), s.Next(wait))
	// Both comments precede event b in the stream, so they are already queued.
	assert.Equal(t, " hi", <-s.Comments())
	assert.Equal(t, "ping", <-s.Comments())

	_, err := s.NextErr(10 * time.Millisecond)
	assert.ErrorIs(t, err, ErrTimeout)

	s.Close()
	s.Close() // safe twice; cleanup calls it a third time
	_, err = s.NextErr(wait)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrTimeout)
	_, open := <-s.Comments()
	assert.False(t, open, "Comments is closed once the stream is")
}

func TestOpenHeaderReplacesAccept(t *testing.T) {
	gotAccept := make(chan []string, 1)
	srv := Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAccept <- r.Header.Values("Accept")
		streamHandler("data: x\n\n", false)(w, r)
	}))
	s := Open(t, nil, srv.URL, http.Header{"Accept": {"text/event-stream;q=1"}})
	assert.Equal(t, []string{"text/event-stream;q=1"}, <-gotAccept)
	assert.Equal(t, msg("x", ""), s.Next(wait))
}

func TestStreamEndIsEOF(t *testing.T) {
	srv := Serve(t, streamHandler("data: last\n\ndata: incomplete\n", false))
	s := Open(t, srv.Client(), srv.URL, nil)
	assert.Equal(t, msg("last", ""), s.Next(wait))
	_, err := s.NextErr(wait)
	assert.ErrorIs(t, err, io.EOF)
	_, err = s.NextErr(wait)
	assert.ErrorIs(t, err, io.EOF, "the end is reported every time")
}

func TestStreamNextFailsAtEnd(t *testing.T) {
	srv := Serve(t, streamHandler("", false))
	ft := &fakeTB{TB: t}
	runTB(t, func() {
		s := Open(ft, nil, srv.URL, nil)
		s.Next(wait)
	})
	assert.Contains(t, ft.failure(), "EOF")
	assert.True(t, ft.runCleanups())
}

func TestStreamNextFailsOnTimeout(t *testing.T) {
	srv := Serve(t, streamHandler("", true))
	ft := &fakeTB{TB: t}
	runTB(t, func() {
		s := Open(ft, nil, srv.URL, nil)
		s.Next(time.Millisecond)
	})
	assert.Contains(t, ft.failure(), ErrTimeout.Error())
	assert.True(t, ft.runCleanups())
}

func TestOpenRejects(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    []string
	}{
		{"status 500", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "nope, broken", http.StatusInternalServerError)
		}, []string{"500", "nope, broken"}},
		{"status 204", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusNoContent)
		}, []string{"204"}},
		{"wrong content type", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "data: x\n\n")
		}, []string{"text/plain", "data: x"}},
		{"no content type", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil
			_, _ = io.WriteString(w, "plain")
		}, []string{`Content-Type ""`, "plain"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := Serve(t, tc.handler)
			ft := &fakeTB{TB: t}
			returned := false
			runTB(t, func() {
				Open(ft, nil, srv.URL, nil)
				returned = true
			})
			assert.False(t, returned, "Open must not return after a failure")
			for _, w := range tc.want {
				assert.Contains(t, ft.failure(), w)
			}
			assert.True(t, ft.runCleanups())
		})
	}
}

func TestOpenConnectionError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	ft := &fakeTB{TB: t}
	runTB(t, func() { Open(ft, nil, "http://"+addr+"/", nil) })
	assert.Contains(t, ft.failure(), addr)
}

func TestServeCleanupClosesOpenStreams(t *testing.T) {
	// A client that never hangs up must not make the server's cleanup wait.
	ft := &fakeTB{TB: t}
	handlerDone := make(chan struct{})
	srv := Serve(ft, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(handlerDone)
		streamHandler("data: x\n\n", true)(w, r)
	}))

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	events, _, _ := parseUntilFirst(resp.Body)
	assert.Equal(t, []Event{msg("x", "")}, events)

	require.True(t, ft.runCleanups(), "Serve cleanup hung on an open stream")
	select {
	case <-handlerDone:
	default:
		t.Fatal("handler still running after cleanup")
	}
}

// parseUntilFirst reads one event without waiting for the stream to end.
func parseUntilFirst(r io.Reader) ([]Event, time.Duration, bool) {
	p := NewParser(r)
	ev, err := p.Next()
	if err != nil {
		return nil, 0, false
	}
	d, ok := p.Retry()
	return []Event{ev}, d, ok
}

func TestCommentsDroppedWhenFull(t *testing.T) {
	// Nobody reads Comments here: the parser must keep going, keeping the
	// first commentBuffer comments and dropping the rest.
	srv := Serve(t, streamHandler(strings.Repeat(":k\n", 2*commentBuffer)+"data: after\n\n", true))
	s := Open(t, nil, srv.URL, nil)
	assert.Equal(t, msg("after", ""), s.Next(wait))
	assert.Len(t, s.Comments(), commentBuffer)
}

func TestCloseWhileEventUnread(t *testing.T) {
	// The reader goroutine is blocked handing over an event nobody takes;
	// Close must still end it (goleak in TestMain checks).
	srv := Serve(t, streamHandler("data: a\n\ndata: b\n\n", true))
	s := Open(t, nil, srv.URL, nil)
	s.Close()
	_, err := s.NextErr(wait)
	require.Error(t, err)
	assert.False(t, errors.Is(err, ErrTimeout))
}

func TestCloseFromAnotherGoroutine(t *testing.T) {
	srv := Serve(t, streamHandler("", true))
	s := Open(t, nil, srv.URL, nil)
	go s.Close()
	_, err := s.NextErr(wait)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrTimeout, "Close unblocks a waiting NextErr")
}
