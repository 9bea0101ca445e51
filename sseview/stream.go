package sseview

import (
	"context"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sseview/sseview/internal/fanout"
)

var keepAliveComment = []byte(": keep-alive\n\n")

// stream writes to one client. The request's goroutine writes events; the
// keep-alive timer's callback writes comments; mu orders the two. An idle
// stream holds no goroutine and no buffer of its own, only a timer.
type stream struct {
	ctx          context.Context // the request's, for events that render
	w            http.ResponseWriter
	rc           *http.ResponseController
	writeTimeout time.Duration
	keepAlive    time.Duration
	// tick is the period of the stream's timer, which writes keep-alive
	// comments and renews the write deadline, so that no write reads the
	// clock (see onTick).
	tick time.Duration

	// cancel ends the view's context before the view is done; nil when
	// nothing may end the stream early (see Handler.newStream).
	cancel context.CancelCauseFunc
	// expiry ends the stream at its lifetime (see Handler.MaxLifetime), or
	// is nil.
	expiry *time.Timer
	// registry holds the stream for EndStreamsOnShutdown, or is nil.
	registry *registry
	// obs hears the stream (see Handler.Observer), or is nil; reason is
	// why the stream ends, for obs (see classify).
	obs    StreamObserver
	reason CloseReason
	// endBy is the write deadline cut set (Unix ns), or zero: no later
	// deadline may replace it. It is atomic because cut sets it while a
	// write may hold mu.
	endBy atomic.Int64

	// timer ticks (see onTick); it is atomic because a tick that finds mu
	// taken re-arms it without mu.
	timer atomic.Pointer[time.Timer]
	// renew asks the next write to renew the write deadline: a tick that
	// finds a write in progress does not wait for it.
	renew atomic.Bool

	mu sync.Mutex // taken after a registry's mu, never before
	// wrote is set by every write and cleared by every tick; quiet is, as
	// of the last tick, the most ticks the stream may have been silent.
	wrote  bool
	quiet  int
	failed error // the first failed write; nothing is written after it
	closed bool
	// holds counts the Holds not yet released (see Hold); while it is
	// positive, writes gather in held, a pooled buffer.
	holds int
	held  *[]byte
	// unheld is set once the view is done: a Hold from a goroutine the
	// view left behind must not keep the stream's last words.
	unheld bool

	// own is the view's context; it lives in the stream so as to cost no
	// allocation of its own.
	own ownContext
}

// ownContext is the context a Handler gives a view (see
// Handler.newStream): the request's, or a cancellable child of it, that
// also holds the stream as the value of fanout.CoalescerKey, so that a
// broker's fan-out can find it (see Hold).
type ownContext struct {
	context.Context
	s *stream
}

func (c *ownContext) Value(key any) any {
	if key == (fanout.CoalescerKey{}) {
		return fanout.Coalescer(c.s)
	}
	return c.Context.Value(key)
}

// newOwnContext returns parent as the context of a new stream.
func newOwnContext(parent context.Context) *ownContext {
	s := new(stream)
	s.own = ownContext{Context: parent, s: s}
	return &s.own
}

// start sends the response headers, and the retry hint if there is one.
// It returns a nil stream, having sent nothing, when the writer cannot
// flush; a write error comes back with the broken stream.
func (h *Handler) start(s *stream, r *http.Request, w http.ResponseWriter) (*stream, error) {
	s.ctx = r.Context()
	s.w = w
	s.rc = http.NewResponseController(w)
	s.writeTimeout = h.writeTimeout()
	s.keepAlive = h.keepAlive()
	s.tick = tickOf(s.keepAlive, s.writeTimeout)
	// The server's ReadTimeout would cancel a long stream's context: the
	// client has nothing more to send, so lift it. Writers that cannot set
	// deadlines have no such timeout either.
	_ = s.rc.SetReadDeadline(time.Time{})
	if s.writeTimeout < 0 {
		_ = s.rc.SetWriteDeadline(time.Time{})
	} else {
		s.renewDeadlineLocked(time.Now())
	}
	if !canFlush(w) {
		return nil, http.ErrNotSupported
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := sendHeaders(w, s.rc); err != nil {
		return s, s.fail(err)
	}
	s.observe(h.Observer, r)
	if h.Retry > 0 {
		if err := s.writeLocked(append(appendRetry(nil, h.Retry), '\n')); err != nil {
			return s, err
		}
	}
	if s.tick > 0 {
		// Armed once stored, so that every tick finds it.
		t := time.AfterFunc(math.MaxInt64, s.onTick)
		s.timer.Store(t)
		t.Reset(s.tick)
	}
	return s, nil
}

// tickOf returns the period of a stream's timer, or zero when keep-alive
// and the write timeout are both off and the stream needs no timer. The
// tick is at most half the keep-alive interval and a quarter of the write
// timeout, so that a write blocked on a client that stopped reading fails
// at most a quarter after its WriteTimeout; and it divides the keep-alive
// interval, so that an idle stream's comments come every KeepAlive.
func tickOf(keepAlive, writeTimeout time.Duration) time.Duration {
	if keepAlive <= 0 {
		return max(writeTimeout/4, 0)
	}
	tick := keepAlive / 2
	if writeTimeout > 0 {
		tick = max(min(tick, writeTimeout/4), 1)
	}
	n := (keepAlive + tick - 1) / tick
	return keepAlive / n
}

// sendHeaders writes the status line and headers and flushes them.
//
// WriteHeader comes before the first Flush: a wrapper such as chi's
// Compress decides on its encoding in WriteHeader, and a Flush that reached
// the connection first would send the headers without it.
func sendHeaders(w http.ResponseWriter, rc *http.ResponseController) error {
	w.WriteHeader(http.StatusOK)
	return rc.Flush()
}

// canFlush reports whether http.ResponseController can flush w, walking
// the same Unwrap chain, without flushing: a flush would commit the
// response before a 500 could still be sent.
func canFlush(w http.ResponseWriter) bool {
	for {
		switch t := w.(type) {
		case interface{ FlushError() error }, http.Flusher:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return false
		}
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledBuf keeps one huge event from pinning its buffer in the pool.
const maxPooledBuf = 64 << 10

// renderedEvent is an event kind that renders HTML as it is encoded: in a
// stream it renders with the stream's context, straight into the pooled
// buffer. On error b is returned as it was.
type renderedEvent interface {
	appendRendered(ctx context.Context, b []byte) ([]byte, error)
}

// writeEvent encodes and writes ev. An encoding error leaves the stream
// usable, since nothing was written; a write error breaks it. Keeping the
// two apart spares the caller a second look at the stream per event.
func (s *stream) writeEvent(ev Event) (encodeErr, writeErr error) {
	if enc, ok := ev.(*Encoded); ok && enc != nil {
		writeErr = s.write(enc.wire)
		if s.obs != nil && writeErr == nil {
			s.obs.EventWritten(len(enc.wire))
		}
		return nil, writeErr
	}
	bp := bufPool.Get().(*[]byte)
	var b []byte
	if re, ok := ev.(renderedEvent); ok && !nilRendered(ev) {
		b, encodeErr = re.appendRendered(s.ctx, (*bp)[:0])
	} else {
		b, encodeErr = appendEvent((*bp)[:0], ev)
	}
	if encodeErr == nil {
		writeErr = s.write(b)
		if s.obs != nil && writeErr == nil {
			s.obs.EventWritten(len(b))
		}
	}
	if cap(b) <= maxPooledBuf {
		*bp = b[:0]
		bufPool.Put(bp)
	}
	return encodeErr, writeErr
}

func (s *stream) writeRetry(d time.Duration) {
	if d > 0 {
		_ = s.write(append(appendRetry(nil, d), '\n'))
	}
}

func (s *stream) write(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return s.failed
	}
	if s.holds > 0 {
		if s.held == nil {
			s.held = bufPool.Get().(*[]byte)
		}
		*s.held = append(*s.held, b...)
		if len(*s.held) < maxHeld {
			return nil
		}
	}
	if s.held != nil {
		return s.writeHeldLocked()
	}
	return s.writeLocked(b)
}

// maxHeld bounds what Hold gathers before it is written all the same.
const maxHeld = maxPooledBuf

// Hold makes the events written from now on wait, in order, until the
// matching Release, so that they go out in one write and one flush: a
// broker's fan-out (internal/fanout) holds the stream while it hands on
// several events it took at once. It implements fanout.Coalescer, and
// like Release it may be called from any goroutine; a stream that is
// never held writes every event at once. What is held is written when it
// reaches maxHeld, before a keep-alive comment, and when the view is done
// (see releaseAll). A broker finds the stream in the view's context: a
// subscription made with another context writes every event as it comes.
func (s *stream) Hold() {
	s.mu.Lock()
	if !s.unheld {
		s.holds++
	}
	s.mu.Unlock()
}

// Release ends a Hold, and writes what was held once no Hold is left.
func (s *stream) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holds > 0 {
		s.holds--
	}
	if s.holds == 0 && s.held != nil {
		_ = s.writeHeldLocked() // a failure is kept, and seen by the next write
	}
}

// releaseAll ends every Hold, and any later one, and writes what was held:
// nothing may wait once the view is done.
func (s *stream) releaseAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds, s.unheld = 0, true
	if s.held != nil {
		_ = s.writeHeldLocked()
	}
}

// writeHeldLocked writes and flushes what was held, and gives its buffer
// back.
func (s *stream) writeHeldLocked() error {
	bp := s.held
	s.held = nil
	var err error
	if s.failed == nil {
		err = s.writeLocked(*bp)
	}
	putBuf(bp)
	return err
}

// writeLocked writes and flushes b. It reads no clock unless a tick asked
// it to renew the write deadline (see onTick), and the keep-alive learns of
// the write from wrote.
func (s *stream) writeLocked(b []byte) error {
	if s.renew.Load() {
		s.renewDeadlineLocked(time.Now())
	}
	if _, err := s.w.Write(b); err != nil {
		return s.fail(err)
	}
	if err := s.rc.Flush(); err != nil {
		return s.fail(err)
	}
	s.wrote = true
	return nil
}

// renewDeadlineLocked sets the write deadline a tick past WriteTimeout
// from now: the next tick renews it, so a write that starts before then
// gets at least WriteTimeout, and one blocked on a client that stopped
// reading fails at most a tick later. A cut (see cut) is never undone.
func (s *stream) renewDeadlineLocked(now time.Time) {
	s.renew.Store(false)
	if s.endBy.Load() != 0 {
		return
	}
	_ = s.rc.SetWriteDeadline(now.Add(s.writeTimeout + s.tick))
	// A cut made meanwhile would be undone: put it back. (cut stores endBy
	// before it sets the deadline, so one of the two sees it.)
	if by := s.endBy.Load(); by != 0 {
		_ = s.rc.SetWriteDeadline(time.Unix(0, by))
	}
}

// fail records the first write error. The view hears of it through its
// context: net/http cancels the request's context when a write to the
// connection fails (HTTP/1) or resets the stream (HTTP/2).
func (s *stream) fail(err error) error {
	s.failed = err
	return err
}

// onTick runs on the stream's timer, every tick: it writes what a Hold
// left, renews the write deadline, and writes a keep-alive comment when
// waiting for the next tick could leave the stream silent for longer than
// KeepAlive. Writes only set wrote, so the silence is known in ticks: at
// most one after a tick that found wrote set, one more for each tick that
// did not, none just after a comment. With the default tick, half of
// KeepAlive, a comment comes between KeepAlive/2 and KeepAlive after the
// last event, and every KeepAlive while the stream is idle.
//
// A tick that finds mu taken does not wait: a write is in progress, so the
// stream is not silent, and that write, or the next, renews the deadline.
// A write blocked on a client that stopped reading holds mu until its
// deadline; a tick waiting for it would also hold up a synctest bubble,
// for which a mutex is not a durable block.
func (s *stream) onTick() {
	if !s.mu.TryLock() {
		s.renew.Store(true)
		s.timer.Load().Reset(s.tick)
		return
	}
	defer s.mu.Unlock()
	if s.closed || s.failed != nil {
		return
	}
	if s.held != nil && s.writeHeldLocked() != nil {
		return
	}
	if s.writeTimeout > 0 {
		s.renewDeadlineLocked(time.Now())
	}
	if s.wrote {
		s.wrote, s.quiet = false, 1
	} else {
		s.quiet++
	}
	if s.keepAlive > 0 && time.Duration(s.quiet+1)*s.tick > s.keepAlive {
		if s.writeLocked(keepAliveComment) != nil {
			return
		}
		s.wrote, s.quiet = false, 0
		if s.obs != nil {
			s.obs.KeepAliveWritten(len(keepAliveComment))
		}
	}
	s.timer.Load().Reset(s.tick)
}

// broken reports the write error that ended the stream, if any.
func (s *stream) broken() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// close stops keep-alive writes; after it returns nothing more is written.
// It leaves the registry first: once the handler returns, net/http may
// reuse the writer and its connection for another request. The observer
// hears of the end last.
func (s *stream) close() {
	defer s.ended()
	if s.registry != nil {
		s.registry.remove(s)
	}
	if s.expiry != nil {
		s.expiry.Stop()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if t := s.timer.Load(); t != nil {
		t.Stop()
	}
	// net/http still writes the end of the response after the handler
	// returns; give it a whole timeout rather than what is left, unless the
	// stream was cut.
	if s.failed == nil && s.writeTimeout > 0 && s.endBy.Load() == 0 {
		_ = s.rc.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	}
}

// Deadlines set by cut. A client that reads takes a stream's last words (a
// retry hint, the end of the response) in microseconds; one that stopped
// reading has filled the kernel's buffers, and is dropped.
const (
	// lastWordsTimeout bounds what is left to write of a stream that is
	// not writing when it is cut.
	lastWordsTimeout = time.Second
	// writeCutTimeout bounds a write in progress when the stream is cut,
	// and what follows it: time enough to finish a write that is not
	// blocked, little for Shutdown to wait on one that is.
	writeCutTimeout = 100 * time.Millisecond
)

// cut bounds the writes of a stream that is being ended, so that ending it
// never waits long on a client that stopped reading. A write in progress
// may be blocked on such a client until its deadline, and it holds mu
// meanwhile: cut does not wait for mu, but gives that write
// writeCutTimeout. Otherwise the stream gets lastWordsTimeout (or its
// WriteTimeout, if shorter) for its last words. Write deadlines may be set
// from any goroutine; the registry's lock keeps the handler from returning
// meanwhile, after which net/http could reuse the writer.
func (s *stream) cut() {
	now := time.Now()
	if !s.mu.TryLock() {
		by := now.Add(writeCutTimeout)
		s.endBy.Store(by.UnixNano())
		_ = s.rc.SetWriteDeadline(by)
		return
	}
	defer s.mu.Unlock()
	grace := lastWordsTimeout
	if s.writeTimeout > 0 {
		grace = min(grace, s.writeTimeout)
	}
	by := now.Add(grace)
	s.endBy.Store(by.UnixNano())
	_ = s.rc.SetWriteDeadline(by)
}
