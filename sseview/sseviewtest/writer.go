package sseviewtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// bufferSize is how much a handler may write before its bytes reach the
// client without a Flush: net/http buffers about as much per response, so
// a handler that forgets to flush is caught in process as over the network.
const bufferSize = 4 << 10

// maxUnread is how many flushed bytes the test may leave unread before the
// handler's writes wait, as a socket buffer would make them. It keeps a
// handler that writes as fast as it can from filling memory while the test
// is busy, and lets a test see a stalled reader dropped at the handler's
// write deadline.
const maxUnread = 256 << 10

// errClientGone is what writes fail with once the test closed the stream.
var errClientGone = errors.New("sseviewtest: the client closed the stream")

// pipe carries a response's body from the handler's goroutines to the
// test's reader. Every wait is on a channel made where the pipe was made,
// so inside a testing/synctest bubble a waiting handler or reader is
// durably blocked and the fake clock moves on.
type pipe struct {
	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change below
	buf      bytes.Buffer  // flushed bytes the reader has not taken
	eof      bool          // the handler returned: Read ends after buf
	rerr     error         // the handler panicked: Read fails after buf
	werr     error         // writes fail with it: the client left, or a deadline passed
	closed   bool          // the reader closed its end
	deadline time.Time     // the write deadline; zero means none

	broken func() // called once when writes start failing, as net/http cancels the request
}

func newPipe(broken func()) *pipe {
	return &pipe{changed: make(chan struct{}), broken: broken}
}

func (p *pipe) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Read is the client's end.
func (p *pipe) Read(b []byte) (int, error) {
	for {
		p.mu.Lock()
		switch {
		case p.closed:
			p.mu.Unlock()
			return 0, errClientGone
		case p.buf.Len() > 0:
			n, _ := p.buf.Read(b)
			p.notifyLocked()
			p.mu.Unlock()
			return n, nil
		case p.rerr != nil:
			err := p.rerr
			p.mu.Unlock()
			return 0, err
		case p.eof:
			p.mu.Unlock()
			return 0, io.EOF
		}
		changed := p.changed
		p.mu.Unlock()
		<-changed
	}
}

// closeRead is the client leaving: every write from now on fails.
func (p *pipe) closeRead() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.werr == nil {
		p.werr = errClientGone
	}
	p.notifyLocked()
}

// push hands flushed bytes to the client. It waits while the client has
// more than maxUnread bytes unread, until the write deadline if one is set.
func (p *pipe) push(b []byte) error {
	for {
		p.mu.Lock()
		if p.werr != nil {
			err := p.werr
			p.mu.Unlock()
			return err
		}
		if len(b) == 0 {
			p.mu.Unlock()
			return nil
		}
		if !p.deadline.IsZero() && !time.Now().Before(p.deadline) {
			p.werr = fmt.Errorf("sseviewtest: write deadline passed with %d bytes unread by the test: %w",
				p.buf.Len(), os.ErrDeadlineExceeded)
			err := p.werr
			p.notifyLocked()
			p.mu.Unlock()
			p.broken()
			return err
		}
		if p.buf.Len() < maxUnread {
			p.buf.Write(b)
			p.notifyLocked()
			p.mu.Unlock()
			return nil
		}
		changed, deadline := p.changed, p.deadline
		p.mu.Unlock()
		if deadline.IsZero() {
			<-changed
			continue
		}
		timer := time.NewTimer(time.Until(deadline))
		select {
		case <-changed:
		case <-timer.C:
		}
		timer.Stop()
	}
}

func (p *pipe) setWriteDeadline(t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deadline = t
	p.notifyLocked()
}

// end tells the reader that no more bytes will come: io.EOF after what is
// buffered, or err when the handler died.
func (p *pipe) end(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.rerr = err
	} else {
		p.eof = true
	}
	p.notifyLocked()
}

// responseWriter is the http.ResponseWriter of a handler served in
// process: what net/http's would do that a stream depends on, over a pipe
// instead of a connection. Writes are buffered up to bufferSize until a
// Flush; the status line and headers go out with the first bytes that do,
// a Content-Type sniffed from them if the handler set none. It implements
// http.Flusher and, for http.ResponseController, FlushError and
// SetWriteDeadline; not SetReadDeadline, since the request's body is the
// test's own, so the controller reports http.ErrNotSupported for it.
type responseWriter struct {
	p      *pipe
	header http.Header
	head   chan struct{} // closed once the status line and headers are sent
	req    *http.Request

	// Guarded by p.mu.
	status    int            // 0 until WriteHeader or the first write
	resp      *http.Response // the head as sent; set before head is closed
	committed bool
	pending   []byte // written, not yet flushed
}

var (
	_ http.Flusher                                   = (*responseWriter)(nil)
	_ interface{ FlushError() error }                = (*responseWriter)(nil)
	_ interface{ SetWriteDeadline(time.Time) error } = (*responseWriter)(nil)
)

func newResponseWriter(p *pipe, req *http.Request) *responseWriter {
	return &responseWriter{p: p, header: http.Header{}, head: make(chan struct{}), req: req}
}

func (w *responseWriter) Header() http.Header { return w.header }

// WriteHeader sets the status. As in net/http, a code outside 100-999
// panics, a second call is ignored, and an informational (1xx) code is not
// the response's status.
func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	if w.status != 0 || code < 200 {
		return
	}
	w.status = code
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if !bodyAllowed(w.status) {
		w.p.mu.Unlock()
		return 0, http.ErrBodyNotAllowed
	}
	if err := w.p.werr; err != nil {
		w.p.mu.Unlock()
		return 0, err
	}
	if w.req.Method == http.MethodHead {
		w.p.mu.Unlock()
		return len(b), nil // net/http sends no body for HEAD
	}
	w.pending = append(w.pending, b...)
	var out []byte
	if len(w.pending) >= bufferSize {
		w.commitLocked()
		out, w.pending = w.pending, nil
	}
	w.p.mu.Unlock()
	if err := w.p.push(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError sends the headers, if not yet sent, and what was written.
func (w *responseWriter) FlushError() error {
	return w.p.push(w.takeForFlush())
}

func (w *responseWriter) takeForFlush() []byte {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.commitLocked()
	out := w.pending
	w.pending = nil
	return out
}

// SetWriteDeadline bounds every write from now on, including one already
// waiting for the test to read: at the deadline it fails with an error
// wrapping os.ErrDeadlineExceeded, and the request's context is cancelled,
// as net/http does when a write to the connection fails.
func (w *responseWriter) SetWriteDeadline(t time.Time) error {
	w.p.setWriteDeadline(t)
	return nil
}

// finish is net/http's end of a request whose handler returned: whatever
// is buffered is sent, then the body ends.
func (w *responseWriter) finish() {
	_ = w.p.push(w.takeForFlush())
	w.p.end(nil)
}

func (w *responseWriter) commitLocked() {
	if w.committed {
		return
	}
	w.committed = true
	h := w.header.Clone()
	if _, set := h["Content-Type"]; !set && len(w.pending) > 0 && bodyAllowed(w.status) {
		h.Set("Content-Type", http.DetectContentType(w.pending))
	}
	w.resp = &http.Response{
		Status:        fmt.Sprintf("%d %s", w.status, http.StatusText(w.status)),
		StatusCode:    w.status,
		Proto:         w.req.Proto,
		ProtoMajor:    w.req.ProtoMajor,
		ProtoMinor:    w.req.ProtoMinor,
		Header:        h,
		Body:          http.NoBody,
		ContentLength: -1,
		Request:       w.req,
	}
	close(w.head)
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
