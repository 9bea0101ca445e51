package sseview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/render"

	"github.com/sseview/sseview/internal/quote"
)

// StreamView is a class-based event-stream view: the port of
// django-async-sse's SseStreamView. Stream is its async stream method.
//
// Stream is called once per request, after [Acceptor.Accept] if the view
// has it. Its body runs before the response starts, so it is the place to
// read typed [Params] (a failure there is a 400). The iterator it returns is
// then run on the request's goroutine and must:
//   - stop when yield returns false (the client left or a write failed) and
//     when ctx is done (client gone, server shutting down): put cleanup in a
//     defer inside the iterator;
//   - yield an error alone, as the last element: the event beside a non-nil
//     error is not written, and the stream ends after the error.
//
// ctx is the request's context: net/http cancels it when the client goes
// away or a write to it fails, [EndStreamsOnShutdown] when the server
// shuts down, and the Handler at the stream's [Handler.MaxLifetime]. It
// also tells a [Broker] subscription made with it which stream it feeds:
// each event is flushed as it is written, except that the events such a
// subscription takes from its queue at once share one write and one flush
// (one made with r.Context() instead writes them one by one). Stream is
// called for HEAD too, so that a bad param is the same 400 as for GET; the
// iterator is then not run. An error yielded after ctx is done is not logged:
// it is taken to come from the cancellation.
type StreamView interface {
	Stream(ctx context.Context, r *http.Request, p Params) iter.Seq2[Event, error]
}

// Acceptor is implemented by views that check a request before its stream
// starts: the analogue of overriding dispatch in a Django view.
//
// Accept is called on the request's goroutine before Stream. A nil error
// accepts the request. A [*Refusal] (see [Refuse]) answers with its status
// and body; a [*ParamError] with 400; any other error with 500, logged, its
// text never sent. When a typed accessor of p recorded a failure, that
// failure is the answer (400) whatever Accept returned: a view that reads
// the zero value of a bad param and refuses it with 404 would otherwise
// hide the client's mistake.
type Acceptor interface {
	Accept(r *http.Request, p Params) error
}

// Refusal is an error that refuses a request before its stream starts.
type Refusal struct {
	// Status is the HTTP status code, a final one: 200 to 599. Any other
	// is a mistake in the program, answered with 500 and logged.
	Status int
	// Body is sent as JSON through go-chi/render, whatever the request's
	// Accept header asks for. A string is sent as {"error": Body}, as the
	// Handler's own refusals are; nil as {"error": status text}. With 204
	// or 304 no body is sent. A Body that encoding/json cannot encode is a
	// mistake in the program, answered with 500 and logged.
	Body any
}

// Refuse returns a [*Refusal] with the given status and body. Any status
// other than 200 makes a browser's EventSource give up for good; 204 No
// Content is the polite way to tell it to stop reconnecting.
func Refuse(status int, body any) error {
	return &Refusal{Status: status, Body: body}
}

// Error names the status; the body is for the client, not the log.
func (r *Refusal) Error() string {
	return fmt.Sprintf("sseview: request refused with %d %s", r.Status, http.StatusText(r.Status))
}

// Handler serves a [StreamView] as a text/event-stream response. Its zero
// value, apart from View, is ready to use with the defaults documented on
// each field; the fields are read on every request and must not change
// while it serves.
type Handler struct {
	// View produces the events.
	View StreamView

	// KeepAlive is the longest the stream stays silent: a comment is
	// written before then to keep proxies from closing it, and every event
	// puts it off. Zero means 15 seconds; negative turns keep-alive off.
	//
	// Writes read no clock: the stream's timer ticks every half of
	// KeepAlive, or a quarter of WriteTimeout if that is shorter (rounded
	// down to divide KeepAlive), and the comment comes at the first tick
	// after which the silence could exceed KeepAlive. With the defaults
	// that is 7.5 to 15 seconds after the last event, and every 15 seconds
	// on an idle stream.
	KeepAlive time.Duration

	// WriteTimeout bounds each write to the client, so a client that stops
	// reading is dropped instead of pinning memory: a write that has not
	// finished WriteTimeout after it began fails, at the latest one tick
	// of the stream's timer (see KeepAlive) later, which renews the
	// deadline. It also replaces the server-wide http.Server.WriteTimeout
	// for the stream, which would otherwise end every long stream. Zero
	// means 30 seconds; negative means no deadline.
	WriteTimeout time.Duration

	// Retry, when positive, is sent as the client's reconnection time when
	// the stream starts, and again when MaxLifetime ends it. It must be a
	// whole number of milliseconds. Zero leaves the client's default (about
	// 3 seconds in browsers).
	Retry time.Duration

	// MaxLifetime, when positive, ends each stream after a time drawn at
	// random between 90% and 100% of it, so that streams opened together
	// do not end together. The view's ctx is then cancelled with cause
	// [ErrMaxLifetime], and yield returns false; the Retry hint, if set, is
	// sent again and the response ends normally. An EventSource then
	// reconnects with its Last-Event-ID, and a [Broker] subscription
	// resumes after the last event written: nothing is lost or repeated.
	//
	// Use it to end streams before a proxy or load balancer cuts them off,
	// and to drop clients that keep the connection open but never read: a
	// quiet stream never fills the kernel's buffers, so WriteTimeout alone
	// never drops them. Zero or negative means no limit, and no timer.
	MaxLifetime time.Duration

	// ErrorEvent, when set, returns the event sent to the client after the
	// view yields an error (or an event fails to encode), before the stream
	// ends. It is called on the request's goroutine. Nil sends nothing: the
	// stream just ends, and the client reconnects. Never put err's text in
	// the event unless it is meant for clients.
	//
	// A browser's EventSource delivers an event of type "error" to the same
	// listeners as its connection errors; a MessageEvent with data tells them
	// apart.
	ErrorEvent func(err error) Event

	// Logger receives errors and dropped clients. Nil means slog.Default().
	Logger *slog.Logger

	// Methods are the request methods that open the stream; nil means GET.
	// HEAD is answered with the stream's headers and no body wherever GET
	// is allowed, and any other method with 405 and an Allow header. A
	// browser's EventSource only ever sends GET: the others serve clients
	// that stream with fetch, such as Datastar's @post, @put, @patch and
	// @delete. The body of a request other than GET and HEAD is read before
	// Accept is called, up to [MaxBodyLen] bytes (more is a 413, a failed
	// read a 400), and r.Body then reads what was read, so the view may
	// read it at any time, even while it streams.
	Methods []string
	// Observer, when set, hears each stream's start, the events and
	// keep-alives written, and why it ended (see [Observer]), for metrics.
	// Nil observes nothing, at no cost.
	Observer Observer
}

// AsView returns a handler serving v with the default [Handler] settings,
// for use on any chi route or as a plain http.Handler:
//
//	r.Handle("/weather/{lat},{lng}/", sseview.AsView(WeatherStream{DB: db}))
//
// Registered with r.Handle, the handler sees every method and answers HEAD
// and 405 itself; chi's r.Get would answer HEAD with 405. To change a
// setting, use a [Handler] directly.
func AsView(v StreamView) http.HandlerFunc {
	if v == nil {
		panic("sseview: AsView of a nil StreamView")
	}
	return (&Handler{View: v}).ServeHTTP
}

const (
	defaultKeepAlive    = 15 * time.Second
	defaultWriteTimeout = 30 * time.Second
)

// ServeHTTP answers GET (or the [Handler.Methods]) with the event stream,
// HEAD with the stream's headers and no body, and other methods with 405
// Method Not Allowed.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r, s, cancel := h.newStream(r)
	if events := h.accept(&s.own, w, r); events != nil {
		h.serve(w, r, s, events, cancel)
	}
	if cancel != nil {
		cancel(nil)
	}
}

// accept checks the request and calls the view's Stream. It answers the
// request itself, and returns nil, when there is no stream to serve: a
// refusal, or HEAD.
func (h *Handler) accept(ctx context.Context, w http.ResponseWriter, r *http.Request) iter.Seq2[Event, error] {
	if !h.allows(r.Method) {
		w.Header().Set("Allow", h.allowHeader())
		h.refuse(w, r, Refuse(http.StatusMethodNotAllowed, nil))
		return nil
	}
	if err := checkLastEventID(r); err != nil {
		h.refuse(w, r, Refuse(http.StatusBadRequest, err.Error()))
		return nil
	}
	if err := readBody(r); err != nil {
		h.refuse(w, r, err)
		return nil
	}
	if h.View == nil {
		h.refuse(w, r, errors.New("sseview: Handler.View is nil"))
		return nil
	}
	if err := checkRetry(h.Retry); err != nil {
		h.refuse(w, r, fmt.Errorf("sseview: Handler.Retry: %w", err))
		return nil
	}
	p := paramsOf(r)
	if a, ok := h.View.(Acceptor); ok {
		if err := a.Accept(r, p); err != nil {
			if perr := p.Err(); perr != nil {
				err = perr
			}
			h.refuse(w, r, err)
			return nil
		}
	}
	if err := p.Err(); err != nil {
		h.refuse(w, r, err)
		return nil
	}
	events := h.View.Stream(ctx, r, p)
	if err := p.Err(); err != nil {
		h.refuse(w, r, err)
		return nil
	}
	if events == nil {
		h.refuse(w, r, errors.New("sseview: Stream returned a nil iterator"))
		return nil
	}
	setHeaders(w.Header(), r)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	return events
}

// serve streams events to the client through s. cancel, when not nil,
// ends the view's context early (see Handler.newStream).
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, s *stream, events iter.Seq2[Event, error], cancel context.CancelCauseFunc) {
	s, err := h.start(s, r, w)
	if s == nil {
		h.cannotFlush(w, r, err)
		return
	}
	defer s.close()
	if err != nil {
		s.classify(r.Context(), nil)
		h.dropped(r, err)
		return
	}
	if cancel != nil {
		h.bind(r.Context(), s, cancel)
	}
	h.finish(r, s, s.pump(events, r.Context().Done()))
}

// cannotFlush answers 500 in place of a stream the writer cannot flush.
func (h *Handler) cannotFlush(w http.ResponseWriter, r *http.Request, err error) {
	for _, k := range streamHeaders {
		w.Header().Del(k)
	}
	h.refuse(w, r, fmt.Errorf("sseview: the response writer cannot flush "+
		"(a middleware wrapper without Unwrap?): %w", err))
}

// streamHeaders are the headers setHeaders may set.
var streamHeaders = []string{"Content-Type", "Cache-Control", "X-Accel-Buffering", "Connection"}

func setHeaders(hdr http.Header, r *http.Request) {
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	if r.ProtoMajor == 1 {
		hdr.Set("Connection", "keep-alive")
	}
}

// pump writes the events until the iterator ends, yields an error, a write
// fails or done is closed. It returns the error the view yielded or the
// encoder found; a write error is kept by the stream.
func (s *stream) pump(events iter.Seq2[Event, error], done <-chan struct{}) error {
	defer s.releaseAll()
	for ev, err := range events {
		if closed(done) {
			return nil
		}
		if err == nil {
			var writeErr error
			if err, writeErr = s.writeEvent(ev); writeErr != nil {
				return nil
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// finish logs how the stream ended and writes its last words: the error
// event after a failure, or the retry hint on shutdown and at the end of
// its lifetime.
func (h *Handler) finish(r *http.Request, s *stream, failure error) {
	ctx := r.Context()
	s.classify(ctx, failure)
	if err := s.broken(); err != nil {
		h.dropped(r, err)
		return
	}
	if failure != nil {
		level := slog.LevelError
		if errors.Is(failure, ErrSlowSubscriber) {
			level = slog.LevelWarn // the client's condition, not the server's
		}
		h.logger().Log(ctx, level, "sseview: stream failed", logAttrs(r, failure)...)
		if h.ErrorEvent != nil {
			if err, _ := s.writeEvent(h.ErrorEvent(failure)); err != nil {
				h.logger().ErrorContext(ctx, "sseview: error event failed", logAttrs(r, err)...)
			}
		}
		return
	}
	var shutdown *shutdownError
	switch cause := context.Cause(ctx); {
	case errors.As(cause, &shutdown):
		s.writeRetry(shutdown.jitteredRetry())
	case errors.Is(cause, ErrMaxLifetime):
		s.writeRetry(h.Retry)
	}
}

// dropped logs a client lost to a failed write: at Warn when it stopped
// reading, at Debug when it went away.
func (h *Handler) dropped(r *http.Request, err error) {
	level := slog.LevelDebug
	if errors.Is(err, os.ErrDeadlineExceeded) {
		level = slog.LevelWarn
	}
	h.logger().Log(r.Context(), level, "sseview: client dropped", logAttrs(r, err)...)
}

// closed reports whether done is closed, without the lock ctx.Err takes:
// pump asks once per event.
func closed(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// refuse answers a request that will not get a stream.
//
// The body is always JSON: render.Respond would follow the request's
// Accept header to XML, which the error bodies cannot be encoded as, and
// turn every refusal into a 500. It is encoded before anything is written,
// so that a body encoding/json cannot encode is still a clean 500.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	status, body := http.StatusInternalServerError, any(nil)
	var refusal *Refusal
	var perr *ParamError
	switch {
	case errors.As(err, &refusal):
		if refusal.Status < 200 || refusal.Status > 599 {
			h.failed(r, fmt.Errorf("sseview: Refusal with status %d, not a final HTTP status (200-599)",
				refusal.Status))
			break
		}
		status, body = refusal.Status, refusal.Body
	case errors.As(err, &perr) && !errors.Is(err, ErrNoParam):
		status, body = http.StatusBadRequest, errorBody(err.Error())
	default:
		h.failed(r, err)
	}
	if status == http.StatusNoContent || status == http.StatusNotModified {
		w.WriteHeader(status)
		return
	}
	switch b := body.(type) {
	case nil:
		body = errorBody(http.StatusText(status))
	case string:
		body = errorBody(b)
	}
	encoded, encErr := json.Marshal(body)
	if encErr != nil {
		h.failed(r, fmt.Errorf("sseview: the body of a %d refusal cannot be sent as JSON: %w", status, encErr))
		status = http.StatusInternalServerError
		encoded, _ = json.Marshal(errorBody(http.StatusText(status)))
	}
	render.Status(r, status)
	render.JSON(w, r, json.RawMessage(encoded))
}

// failed logs why a request is answered with 500.
func (h *Handler) failed(r *http.Request, err error) {
	h.logger().ErrorContext(r.Context(), "sseview: request failed", logAttrs(r, err)...)
}

func errorBody(msg string) map[string]string { return map[string]string{"error": msg} }

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

func logAttrs(r *http.Request, err error) []any {
	return []any{"path", loggedPath(r.URL.Path), "route", routePattern(r), "err", err}
}

// maxLoggedPath bounds the path a log line carries as it is: the route says
// which view served it, and a 900 KB URL must not make a 900 KB log line.
const maxLoggedPath = 512

func loggedPath(p string) string {
	if len(p) <= maxLoggedPath {
		return p
	}
	return quote.Bounded(p)
}

func routePattern(r *http.Request) string {
	if rctx := chi.RouteContext(r.Context()); rctx != nil {
		return rctx.RoutePattern()
	}
	return r.Pattern
}

func (h *Handler) keepAlive() time.Duration {
	if h.KeepAlive == 0 {
		return defaultKeepAlive
	}
	return h.KeepAlive
}

func (h *Handler) writeTimeout() time.Duration {
	if h.WriteTimeout == 0 {
		return defaultWriteTimeout
	}
	return h.WriteTimeout
}
