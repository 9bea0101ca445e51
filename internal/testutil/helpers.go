package testutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// ErrTimeout is returned (wrapped) by [Stream.NextErr] when no event arrived
// in time.
var ErrTimeout = errors.New("testutil: timed out waiting for an event")

// commentBuffer is how many unread comments a Stream holds before it starts
// dropping new ones. Keep-alive tests read a handful; the bound exists so an
// unread channel can never stall the parser.
const commentBuffer = 1024

// Serve starts an httptest.Server for h and closes it at t.Cleanup.
//
// httptest.Server.Close waits for every in-flight request, and an event
// stream is never finished, so the cleanup first closes all client
// connections: that cancels each handler's request context, which is how a
// well-behaved streaming handler learns to return. A handler that ignores its
// context will still hang the cleanup; that is a bug worth seeing.
func Serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(func() {
		s.CloseClientConnections()
		s.Close()
	})
	return s
}

// Stream is an open event-stream response being read in the background by a
// [Parser]. Create it with [Open].
type Stream struct {
	// Resp is the response; its Body belongs to the background reader.
	Resp *http.Response

	t testing.TB

	events   chan Event
	comments chan string
	err      error // why the stream ended; written before events is closed

	cancel    context.CancelFunc
	done      chan struct{} // closed by Close to release a blocked send
	exited    chan struct{} // closed when the reader goroutine returns
	closeOnce sync.Once
	transport *http.Transport // non-nil when Open made its own client
}

// Open GETs url with "Accept: text/event-stream" and then header (whose
// values replace any of the same name), requires status 200 and a
// text/event-stream content type (failing the test with the body otherwise),
// and starts a goroutine parsing events. The stream is closed at t.Cleanup.
//
// A nil client means a fresh client with its own transport and no timeout:
// a shared client's pool would keep connections (and their goroutines) alive
// past the test, and a timeout would cut off a long stream.
//
// Open must be called from the test's goroutine, because it may call t.Fatal.
func Open(t testing.TB, client *http.Client, url string, header http.Header) *Stream {
	t.Helper()
	var own *http.Transport
	if client == nil {
		own = http.DefaultTransport.(*http.Transport).Clone()
		client = &http.Client{Transport: own}
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		t.Fatalf("testutil.Open: %v", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for k, vs := range header {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		closeIdle(own)
		t.Fatalf("testutil.Open: GET %s: %v", url, err)
	}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || mediaType != "text/event-stream" {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		cancel()
		closeIdle(own)
		t.Fatalf("testutil.Open: GET %s: status %q, Content-Type %q, body %q",
			url, resp.Status, resp.Header.Get("Content-Type"), body)
	}

	s := &Stream{
		Resp:      resp,
		t:         t,
		events:    make(chan Event),
		comments:  make(chan string, commentBuffer),
		cancel:    cancel,
		done:      make(chan struct{}),
		exited:    make(chan struct{}),
		transport: own,
	}
	go s.read()
	t.Cleanup(s.Close)
	return s
}

func closeIdle(tr *http.Transport) {
	if tr != nil {
		tr.CloseIdleConnections()
	}
}

// read is the background reader. It owns the parser; events are handed over
// unbuffered so that a test sees them no earlier than it asks, and every send
// also watches done so Close can always end the goroutine.
func (s *Stream) read() {
	defer close(s.exited)
	defer close(s.comments)
	p := NewParser(s.Resp.Body)
	p.Comment = func(text string) {
		select {
		case s.comments <- text:
		default: // buffer full and nobody reading: drop rather than stall
		}
	}
	for {
		ev, err := p.Next()
		if err != nil {
			s.err = err
			close(s.events)
			return
		}
		select {
		case s.events <- ev:
		case <-s.done:
			s.err = errors.New("testutil: stream closed")
			close(s.events)
			return
		}
	}
}

// Next waits at most timeout for the next event and returns it. It fails the
// test given to Open (t.Fatalf) on timeout or when the stream has ended, so it
// must be called from that test's goroutine; use [Stream.NextErr] elsewhere.
func (s *Stream) Next(timeout time.Duration) Event {
	s.t.Helper()
	ev, err := s.NextErr(timeout)
	if err != nil {
		s.t.Fatalf("testutil.Stream.Next: %v", err)
	}
	return ev
}

// NextErr is like Next but returns the error instead of failing: io.EOF when
// the stream ended normally, the read error when it broke, an error wrapping
// [ErrTimeout] when timeout passed first.
func (s *Stream) NextErr(timeout time.Duration) (Event, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case ev, ok := <-s.events:
		if !ok {
			return Event{}, s.err
		}
		return ev, nil
	case <-timer.C:
		return Event{}, fmt.Errorf("%w after %v", ErrTimeout, timeout)
	}
}

// Comments returns a channel receiving every comment line's text (see
// [Parser.Comment]: the leading space is kept). It holds up to 1024 unread
// comments; further comments are dropped while it is full, so the parser
// never waits on it. It is closed when the stream ends or is closed.
func (s *Stream) Comments() <-chan string {
	return s.comments
}

// Close cancels the request and waits for the reader goroutine to exit. It is
// safe to call more than once and from any goroutine.
func (s *Stream) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		close(s.done)
		<-s.exited
		s.Resp.Body.Close()
		closeIdle(s.transport)
	})
}
