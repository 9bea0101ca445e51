package sseviewtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sseview/sseview/internal/eventstream"
)

// defaultTimeout bounds every wait of a Stream whose Timeout is zero. It is
// generous because tests run under -race on busy machines; a passing test
// never waits for it, and inside a testing/synctest bubble it costs nothing.
const defaultTimeout = 10 * time.Second

// ErrTimeout is wrapped by the error of a read that waited the whole
// [Stream.Timeout] for an event.
var ErrTimeout = errors.New("sseviewtest: timed out")

// errClosed is the error of reads after [Stream.Close].
var errClosed = errors.New("sseviewtest: the stream is closed")

// Stream is an open event stream, read as a browser's EventSource would
// read it. [OpenT] and [DialT] make one that is closed when the test ends;
// close one that [Open] or [Dial] made when done (defer s.Close()), or its
// handler and reader goroutines outlive the test.
//
// A Stream is used from one goroutine at a time, except Close, which may be
// called from any goroutine, also while a read waits. Set its fields before
// the first read.
type Stream struct {
	// Timeout bounds every wait: each read, the response headers of a
	// Reconnect, and the handler's return at Close. Zero means 10 seconds.
	// A read that times out reports what arrived so far; the stream stays
	// open and can be read again.
	Timeout time.Duration

	// Comments makes comment lines (such as sseview's ": keep-alive") arrive
	// as events, in stream order, with [Event.IsComment] true. By default
	// reads skip them, as EventSource does.
	Comments bool

	base    *http.Request // the request as given: each connection sends a copy
	body    []byte        // its body, read once so that Reconnect can send it again
	connect func(r *http.Request, lastEventID string, timeout time.Duration) (*conn, error)

	// The client's state, as of the last item read: what Reconnect sends.
	lastID   string
	retry    time.Duration
	retrySet bool
	arrived  int     // items read so far, on every connection
	recent   []Event // the last few of them, for failure messages

	mu       sync.Mutex
	cur      *conn // nil once closed, or when a Reconnect failed
	lost     error // why cur is nil
	closing  sync.Once
	closeErr error
}

// Open serves req with h in process, on a goroutine of its own, with no
// network: h writes to a ResponseWriter that is a pipe to the Stream. Open
// returns once the response's headers are sent, and fails unless they are a
// 200 with Content-Type text/event-stream (a charset parameter, if any, must
// be utf-8), as EventSource would; the error quotes the start of any body.
// It waits at most 10 seconds for them.
//
// req may be a server request (httptest.NewRequest) or a client one
// (http.NewRequest); any method, header and body will do. Its body is read
// before h is called, so that Reconnect can send it again. An Accept:
// text/event-stream header is added if req has no Accept, as EventSource
// sends it. A Last-Event-ID header is the last event ID the stream starts
// from, as if a resumed EventSource had sent it. The request's context is
// cancelled when the Stream is closed or reconnects, and when a write fails,
// as net/http does; cancelling req's own context ends the stream.
//
// A body with Content-Encoding gzip, such as chi's middleware.Compress sends
// when told to compress text/event-stream and the request accepts gzip, is
// decoded as a browser decodes it, each event as it is flushed; any other
// Content-Encoding fails Open with an error naming it. Open sends no
// Accept-Encoding of its own.
//
// Everything Open starts runs on goroutines it starts and timers they set,
// so inside a testing/synctest bubble the handler's timers (keep-alive,
// write deadlines) run on the bubble's fake clock. A panic in h ends the
// stream with an error, as net/http recovers it, instead of crashing the
// test binary.
//
// Open returns an error rather than taking a testing.TB, so that it works
// anywhere, in Examples too; the error text says what was expected.
func Open(h http.Handler, req *http.Request) (*Stream, error) {
	if h == nil {
		return nil, errors.New("sseviewtest: Open with a nil handler")
	}
	return newStream(req, func(r *http.Request, lastEventID string, timeout time.Duration) (*conn, error) {
		return serve(h, r, lastEventID, timeout)
	})
}

// Dial sends req over the network, to req.URL (typically an httptest.Server),
// and returns once the response's headers arrive, with the same checks and
// the same handling of req as [Open]. A nil client means a client with a
// transport of its own, closed with the Stream, so that no idle connection
// outlives the test; a client's Timeout would cut the stream, so give it
// none. Without an Accept-Encoding in req, net/http's transport asks for
// gzip and decodes it itself; with one, the body comes as sent, and the
// Stream decodes gzip as Open does. Dial does not work inside a
// testing/synctest bubble, which has no network: use Open there.
func Dial(client *http.Client, req *http.Request) (*Stream, error) {
	var own *http.Transport
	if client == nil {
		own = http.DefaultTransport.(*http.Transport).Clone()
		client = &http.Client{Transport: own}
	}
	s, err := newStream(req, func(r *http.Request, lastEventID string, timeout time.Duration) (*conn, error) {
		return dial(client, own, r, lastEventID, timeout)
	})
	if err != nil && own != nil {
		own.CloseIdleConnections()
	}
	return s, err
}

func newStream(req *http.Request, connect func(*http.Request, string, time.Duration) (*conn, error)) (*Stream, error) {
	if req == nil {
		return nil, errors.New("sseviewtest: nil request")
	}
	s := &Stream{base: req.Clone(req.Context()), connect: connect}
	if req.Body != nil && req.Body != http.NoBody {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("sseviewtest: reading the request's body: %w", err)
		}
		s.body = body
	}
	if s.base.Header == nil {
		s.base.Header = http.Header{}
	}
	if _, set := s.base.Header["Accept"]; !set {
		s.base.Header.Set("Accept", "text/event-stream")
	}
	s.lastID = s.base.Header.Get("Last-Event-ID")
	c, err := connect(s.request(), s.lastID, defaultTimeout)
	if err != nil {
		return nil, err
	}
	s.cur = c
	return s, nil
}

// request is a copy of the base request for one connection.
func (s *Stream) request() *http.Request {
	r := s.base.Clone(s.base.Context())
	r.Body, r.GetBody, r.ContentLength = http.NoBody, nil, 0
	if s.body != nil {
		body := s.body
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		r.Body, _ = r.GetBody()
		r.ContentLength = int64(len(body))
	}
	return r
}

func (s *Stream) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return defaultTimeout
}

// Response returns the head of the current connection's response: status
// and headers, Content-Encoding included, unless net/http's transport
// decoded the body itself and removed it. Its Body is empty; the events are
// read with Next. It is nil once the Stream is closed or lost its
// connection.
func (s *Stream) Response() *http.Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return nil
	}
	resp := *s.cur.resp
	resp.Body = http.NoBody
	return &resp
}

// Next returns the next event. It waits at most Timeout, then fails with an
// error wrapping [ErrTimeout] that says what arrived so far, including the
// bytes of an event that has not ended with its blank line; the stream stays
// open. It returns io.EOF once the server ended the stream (an event cut off
// by the end is discarded, as the standard says), and another error when the
// connection broke or the handler panicked; then every later call returns the
// same error until Reconnect.
func (s *Stream) Next() (Event, error) {
	s.mu.Lock()
	c, lost := s.cur, s.lost
	s.mu.Unlock()
	if c == nil {
		return Event{}, lost
	}
	timer := time.NewTimer(s.timeout())
	defer timer.Stop()
	for {
		select {
		case it, ok := <-c.items:
			if !ok {
				s.note(c.final)
				return Event{}, c.err
			}
			s.note(it.state)
			if it.ev.IsComment() && !s.Comments {
				continue
			}
			s.arrived++
			s.recent = append(s.recent, it.ev)
			if len(s.recent) > 3 {
				s.recent = s.recent[1:]
			}
			return it.ev, nil
		case <-timer.C:
			return Event{}, s.timedOut(c)
		}
	}
}

func (s *Stream) note(st clientState) {
	s.lastID = st.lastID
	if st.retrySet {
		s.retry, s.retrySet = st.retry, true
	}
}

// timedOut is the error of a read that got nothing in time.
func (s *Stream) timedOut(c *conn) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: no event within %v", ErrTimeout, s.timeout())
	switch s.arrived {
	case 0:
		b.WriteString("; none arrived yet")
	default:
		fmt.Fprintf(&b, "; %d arrived, the last %s", s.arrived, s.recent[len(s.recent)-1])
	}
	if n, tail := c.tail.since(); n > 0 {
		fmt.Fprintf(&b, "; then %d bytes that make no event yet (an event ends with a blank line), ending %s",
			n, shown(tail))
	}
	return &timeoutError{msg: b.String()}
}

type timeoutError struct{ msg string }

func (e *timeoutError) Error() string { return e.msg }
func (e *timeoutError) Unwrap() error { return ErrTimeout }

// Events returns an iterator over the stream's events, each read as by
// Next. It ends without an error when the server ends the stream; any other
// error is yielded alone, as the last element. Each call continues from
// where the stream is; breaking out of the loop leaves the stream open.
func (s *Stream) Events() iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for {
			ev, err := s.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(Event{}, err)
				return
			}
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// LastEventID returns the last event ID as of the last event Next returned,
// or as of the end of the stream once Next reported it: what Reconnect sends
// as Last-Event-ID. It follows id fields also in blocks that dispatch no
// event, and starts as the Last-Event-ID the first request had.
func (s *Stream) LastEventID() string { return s.lastID }

// Retry returns the reconnection time set by the last valid retry field read
// on any of the stream's connections, and whether one was. Without one, a
// browser waits a time of its own (about 3 seconds).
func (s *Stream) Retry() (time.Duration, bool) { return s.retry, s.retrySet }

// Reconnect does what EventSource does when its connection ends: it closes
// the current connection, if still open, and sends the request again with
// the Last-Event-ID header set to [Stream.LastEventID] (removed when that is
// empty), then reads the new response, whose first events carry that id
// forward. The Retry in force stays.
//
// It reconnects at once instead of waiting the reconnection time, which
// would slow every test down: compare Retry with what the server should
// have asked for. Events the test has not read count as lost with the
// connection; a server that resumes from Last-Event-ID sends them again.
// The new response is checked as Open checks the first; after an error the
// Stream has no connection, and reads return that error.
func (s *Stream) Reconnect() error {
	s.mu.Lock()
	c := s.cur
	s.mu.Unlock()
	if c == nil {
		return s.lostErr()
	}
	if err := c.close(s.timeout()); err != nil && !errors.Is(err, errHandlerPanicked) {
		return s.lose(err)
	}
	r := s.request()
	if s.lastID != "" {
		r.Header.Set("Last-Event-ID", s.lastID)
	} else {
		r.Header.Del("Last-Event-ID")
	}
	next, err := s.connect(r, s.lastID, s.timeout())
	if err != nil {
		return s.lose(err)
	}
	s.mu.Lock()
	if s.cur != c { // closed meanwhile
		s.mu.Unlock()
		next.close(s.timeout())
		return errClosed
	}
	s.cur = next
	s.mu.Unlock()
	return nil
}

func (s *Stream) lostErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost
}

// lose leaves the Stream without a connection, for err.
func (s *Stream) lose(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		if tr := s.cur.transport; tr != nil {
			tr.CloseIdleConnections()
		}
		s.cur, s.lost = nil, fmt.Errorf("sseviewtest: not connected: %w", err)
	}
	return err
}

// Close ends the stream as a client leaving: it cancels the request's
// context and, for a stream served by Open, waits up to Timeout for the
// handler to return. It returns an error if the handler did not return in
// that time (a handler that ignores its context leaks its goroutine), or if
// it panicked. It is safe to call more than once; later calls return the
// same error.
func (s *Stream) Close() error {
	s.closing.Do(func() {
		s.mu.Lock()
		c := s.cur
		s.cur, s.lost = nil, errClosed
		s.mu.Unlock()
		if c != nil {
			s.closeErr = c.close(s.timeout())
			if c.transport != nil {
				c.transport.CloseIdleConnections()
			}
		}
	})
	return s.closeErr
}

// clientState is what an EventSource keeps from one connection to the next.
type clientState struct {
	lastID   string
	retry    time.Duration
	retrySet bool
}

type item struct {
	ev    Event
	state clientState // after ev
}

// conn is one connection of a Stream: its response, and the goroutine
// reading it.
type conn struct {
	resp    *http.Response
	cancel  context.CancelCauseFunc
	abort   func() // in process: closes the pipe, which unblocks the reader
	release func() // over the network: closes the body once the reader is done
	tail    *tailReader

	items      chan item     // unbuffered: the reader is never ahead of the test by more than one item
	stop       chan struct{} // closed by close, so that the reader's sends give up
	readerDone chan struct{}
	err        error       // why items was closed; written before
	final      clientState // the state at the end; written before items is closed

	handlerDone chan struct{} // for Open: closed when the handler has returned
	panicErr    error         // for Open: the handler's panic; written before handlerDone is closed
	transport   *http.Transport

	closing  sync.Once
	closeErr error
}

var errHandlerPanicked = errors.New("sseviewtest: the handler panicked")

// serve starts h on r in process and waits for the response's head.
func serve(h http.Handler, r *http.Request, lastEventID string, timeout time.Duration) (*conn, error) {
	ctx, cancel := context.WithCancelCause(r.Context())
	r = serverRequest(r.WithContext(ctx))
	p := newPipe(func() { cancel(errors.New("sseviewtest: a write to the client failed")) })
	w := newResponseWriter(p, r)
	c := &conn{
		cancel:      cancel,
		abort:       p.closeRead,
		handlerDone: make(chan struct{}),
	}
	go func() {
		defer close(c.handlerDone)
		defer func() {
			v := recover()
			switch {
			case v == nil:
				w.finish()
				return
			case v == http.ErrAbortHandler:
				// net/http aborts the response quietly; the client sees the
				// connection break.
				p.end(errors.New("sseviewtest: the handler aborted the response (http.ErrAbortHandler)"))
			default:
				stack := make([]byte, 4<<10)
				stack = stack[:runtime.Stack(stack, false)]
				c.panicErr = fmt.Errorf("%w: %s\n%s", errHandlerPanicked, shown(fmt.Sprint(v)), stack)
				p.end(c.panicErr)
			}
		}()
		h.ServeHTTP(w, r)
	}()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-w.head:
	case <-c.handlerDone:
		select {
		case <-w.head:
		default: // it panicked before sending anything
			c.close(timeout)
			return nil, fmt.Errorf("sseviewtest: %s: no response: %w", requestLine(r), c.panicErr)
		}
	case <-timer.C:
		c.close(timeout)
		return nil, fmt.Errorf("sseviewtest: %s: no response headers within %v "+
			"(a stream must flush them at once, before its first event)", requestLine(r), timeout)
	case <-ctx.Done():
		c.close(timeout)
		return nil, fmt.Errorf("sseviewtest: %s: %w", requestLine(r), context.Cause(ctx))
	}
	c.resp = w.resp
	return c.start(p, lastEventID, timeout)
}

// serverRequest fills in what net/http's server sets on a request and a
// client request lacks.
func serverRequest(r *http.Request) *http.Request {
	if r.RequestURI == "" {
		r.RequestURI = r.URL.RequestURI()
	}
	if r.Host == "" {
		r.Host = r.URL.Host
	}
	if r.Host == "" {
		r.Host = "example.com" // as httptest.NewRequest
	}
	if r.RemoteAddr == "" {
		r.RemoteAddr = "192.0.2.1:1234" // as httptest.NewRequest
	}
	if r.ProtoMajor == 0 {
		r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	}
	return r
}

// dial sends r with client and waits for the response's head. own is the
// client's transport when the Stream made it, to be closed with the Stream.
func dial(client *http.Client, own *http.Transport, r *http.Request, lastEventID string, timeout time.Duration) (*conn, error) {
	ctx, cancel := context.WithCancelCause(r.Context())
	r = r.WithContext(ctx)
	r.RequestURI = "" // set by httptest.NewRequest; client requests must not have it
	slow := errors.New("no response headers within " + timeout.String())
	headTimer := time.AfterFunc(timeout, func() { cancel(slow) })
	resp, err := client.Do(r)
	if !headTimer.Stop() && err == nil {
		// The timer fired as the headers arrived: the context is cancelled.
		resp.Body.Close()
		err = slow
	}
	if err != nil {
		if context.Cause(ctx) == slow {
			err = slow
		}
		cancel(nil)
		return nil, fmt.Errorf("sseviewtest: %s: %w", requestLine(r), err)
	}
	c := &conn{resp: resp, cancel: cancel, release: func() { resp.Body.Close() }, transport: own}
	return c.start(resp.Body, lastEventID, timeout)
}

// start checks the response's head and starts the reader on body.
func (c *conn) start(body io.Reader, lastEventID string, timeout time.Duration) (*conn, error) {
	body, encodingErr := decoded(c.resp, body)
	c.tail = &tailReader{r: body, buf: make([]byte, 4096)}
	c.items = make(chan item)
	c.stop = make(chan struct{})
	c.readerDone = make(chan struct{})
	err := checkHead(c.resp)
	switch {
	case err != nil:
		err = fmt.Errorf("sseviewtest: %s: %w%s", requestLine(c.resp.Request), err, c.bodyStart(timeout))
	case encodingErr != nil:
		// The body is bytes the kit cannot read: quoting them would not help.
		err = fmt.Errorf("sseviewtest: %s: %w", requestLine(c.resp.Request), encodingErr)
	default:
		go c.read(lastEventID)
		return c, nil
	}
	close(c.readerDone)
	c.close(timeout)
	return nil, err
}

// decoded is body as a browser reads it, which decodes every encoding it
// accepted. net/http's client decodes gzip only when its transport asked for
// it (then it removes the header, and body is already plain), and leaves it
// to the caller when the request set Accept-Encoding itself; a test that
// does so, to check a compressed stream, wants its events, so the kit
// decodes gzip whoever asked for it. It reads no other encoding, so that
// is an error instead of a timeout quoting bytes that make no event.
func decoded(resp *http.Response, body io.Reader) (io.Reader, error) {
	encoding := strings.TrimSpace(strings.Join(resp.Header.Values("Content-Encoding"), ", "))
	switch {
	case encoding == "":
		return body, nil
	case strings.EqualFold(encoding, "gzip"):
		return &gunzip{src: &recordingReader{r: body}}, nil
	}
	return body, fmt.Errorf("Content-Encoding %s, want none or \"gzip\", the encoding net/http's client decodes",
		shown(encoding))
}

// gunzip decodes a gzip body. It starts at the first read, not when the
// response's head arrives: the gzip header comes with the first bytes the
// handler flushes.
type gunzip struct {
	src *recordingReader
	zr  *gzip.Reader
	err error
}

func (g *gunzip) Read(b []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if g.zr == nil {
		g.zr, g.err = gzip.NewReader(g.src)
		if g.err != nil {
			g.err = g.explain(g.err)
			return 0, g.err
		}
	}
	n, err := g.zr.Read(b)
	if err != nil {
		g.err = g.explain(err)
	}
	return n, g.err
}

// explain says that an error is the encoding's, unless it is the end of
// the body or what reading the body itself failed with.
func (g *gunzip) explain(err error) error {
	if err == io.EOF || err == g.src.err {
		return err
	}
	return fmt.Errorf("the gzip-encoded body: %w", err)
}

// recordingReader keeps the error of its reader's last Read.
type recordingReader struct {
	r   io.Reader
	err error
}

func (r *recordingReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.err = err
	return n, err
}

// checkHead applies EventSource's checks to a response: anything else fails
// the connection for good.
func checkHead(resp *http.Response) error {
	if resp.StatusCode != http.StatusOK {
		why := ""
		if resp.StatusCode == http.StatusNoContent {
			why = " (204 tells EventSource to stop reconnecting)"
		}
		return fmt.Errorf("status %q, want \"200 OK\"%s", resp.Status, why)
	}
	ct := resp.Header.Get("Content-Type")
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil || mediaType != "text/event-stream" {
		return fmt.Errorf("Content-Type %s, want \"text/event-stream\"", shown(ct))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return fmt.Errorf("Content-Type %s: an event stream is UTF-8, and browsers fail any other charset", shown(ct))
	}
	return nil
}

// bodyStart reads the start of a refused response's body, for the error.
// A refusal's body is short and ends at once; the wait is bounded for a
// response that is a stream of the wrong type.
func (c *conn) bodyStart(timeout time.Duration) string {
	const limit = 512
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(c.tail.r, limit+1))
		got <- b
	}()
	timer := time.NewTimer(min(timeout, time.Second))
	defer timer.Stop()
	var b []byte
	select {
	case b = <-got:
	case <-timer.C:
		c.cancel(errClosed)
		if c.abort != nil {
			c.abort()
		}
		b = <-got
	}
	switch {
	case len(b) == 0:
		return ", no body"
	case len(b) > limit:
		return ", body starting " + strconv.Quote(string(b[:limit])) + "..."
	default:
		return ", body " + strconv.Quote(string(b))
	}
}

func requestLine(r *http.Request) string {
	return r.Method + " " + shown(r.URL.RequestURI())
}

// read runs the WHATWG parser over the body and hands each item over.
func (c *conn) read(lastEventID string) {
	defer close(c.readerDone)
	p := eventstream.NewResumedParser(c.tail, lastEventID)
	state := func() clientState {
		r, set := p.Retry()
		return clientState{lastID: p.ReconnectID(), retry: r, retrySet: set}
	}
	stopped := false
	send := func(ev Event) {
		if stopped {
			return
		}
		select {
		case c.items <- item{ev, state()}:
			c.tail.reset()
		case <-c.stop:
			stopped = true
		}
	}
	p.Comment = func(text string) { send(Event{Comment: ":" + text}) }
	var err error
	for !stopped {
		var ev eventstream.Event
		if ev, err = p.Next(); err != nil {
			break
		}
		retry, _ := p.EventRetry()
		send(Event{Type: ev.Type, Data: ev.Data, ID: ev.LastEventID, Retry: retry})
	}
	switch {
	case stopped:
		err = errClosed
	case err != io.EOF && !errors.Is(err, errHandlerPanicked):
		err = fmt.Errorf("sseviewtest: the connection broke: %w", err)
	}
	c.err, c.final = err, state()
	close(c.items)
}

// close cancels the request and waits, up to timeout in all, for the reader
// and, in process, the handler to return.
func (c *conn) close(timeout time.Duration) error {
	c.closing.Do(func() {
		c.cancel(errClosed)
		if c.stop != nil {
			close(c.stop)
		}
		if c.abort != nil {
			c.abort()
		}
		if c.release != nil {
			defer c.release()
		}
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		if c.readerDone != nil {
			select {
			case <-c.readerDone:
			case <-timer.C:
				c.closeErr = fmt.Errorf("sseviewtest: the stream's reader did not stop within %v", timeout)
				return
			}
		}
		if c.handlerDone != nil {
			select {
			case <-c.handlerDone:
				c.closeErr = c.panicErr
			case <-timer.C:
				c.closeErr = fmt.Errorf("sseviewtest: the handler did not return within %v "+
					"of its request's context being cancelled", timeout)
			}
		}
	})
	return c.closeErr
}

// tailReader hands its reader's bytes to the parser one line at a time, so
// that when the parser returns an item it has read nothing past it, and keeps
// the bytes read since the last item for failure messages.
type tailReader struct {
	r          io.Reader
	buf        []byte
	start, end int
	err        error

	mu    sync.Mutex
	n     int    // bytes read since the last item
	bytes []byte // the last of them
}

const maxTail = 256

func (t *tailReader) Read(b []byte) (int, error) {
	if t.start == t.end {
		if t.err != nil {
			return 0, t.err
		}
		n, err := t.r.Read(t.buf)
		t.start, t.end, t.err = 0, n, err
		if n == 0 {
			return 0, err
		}
	}
	chunk := t.buf[t.start:t.end]
	if i := bytes.IndexAny(chunk, "\r\n"); i >= 0 {
		chunk = chunk[:i+1]
	}
	n := copy(b, chunk)
	t.start += n
	t.mu.Lock()
	t.n += n
	t.bytes = append(t.bytes, b[:n]...)
	if len(t.bytes) > 2*maxTail {
		t.bytes = append(t.bytes[:0], t.bytes[len(t.bytes)-maxTail:]...)
	}
	t.mu.Unlock()
	return n, nil
}

func (t *tailReader) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n, t.bytes = 0, t.bytes[:0]
}

// since returns how many bytes were read since the last item, and the last
// maxTail of them.
func (t *tailReader) since() (int, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bytes
	if len(b) > maxTail {
		b = b[len(b)-maxTail:]
	}
	return t.n, string(b)
}
