package sseview

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"
)

// ErrMaxLifetime is the cause (see context.Cause) of a stream's context
// when [Handler.MaxLifetime] ends the stream.
var ErrMaxLifetime = errors.New("sseview: stream reached Handler.MaxLifetime")

// newStream makes the stream of r and the context its view gets, which
// holds the stream as the value of fanout.CoalescerKey, so that a broker's
// fan-out can find it (see stream.Hold). When something may end the stream
// early, MaxLifetime or Shutdown through [EndStreamsOnShutdown], that
// context is a cancellable child of the request's, r is returned with it as
// its context, and cancel ends it. Otherwise cancel is nil and the context
// is the request's own in all but that value: no allocation of its own.
//
// The context is made before the view sees the request, since the view
// keeps the context Stream is given; the stream is bound to it once it
// starts (see bind), so that a request refused or still being accepted is
// never ended early. ServeHTTP cancels it when it is done, without a defer,
// which would grow the frame that stays on the stack for the whole stream;
// if a view panics, the end of the request cancels this context with its
// own.
func (h *Handler) newStream(r *http.Request) (*http.Request, *stream, context.CancelCauseFunc) {
	if h.MaxLifetime <= 0 && registryOf(r.Context()) == nil {
		return r, newOwnContext(r.Context()).s, nil
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	own := newOwnContext(ctx)
	return r.WithContext(own), own.s, cancel
}

// bind lets what may end s early do so through cancel, from now until
// s.close: its lifetime's timer and the server's shutdown.
func (h *Handler) bind(ctx context.Context, s *stream, cancel context.CancelCauseFunc) {
	s.cancel = cancel
	if d := h.lifetime(); d > 0 {
		s.expiry = time.AfterFunc(d, func() { cancel(ErrMaxLifetime) })
	}
	if reg := registryOf(ctx); reg != nil {
		reg.add(s)
	}
}

// lifetime returns how long a new stream may run, drawn at random between
// 90% and 100% of MaxLifetime, or zero for no limit. The spread keeps the
// streams of clients that came together, after a deploy for instance, from
// all ending, and reconnecting, together again.
func (h *Handler) lifetime() time.Duration {
	if h.MaxLifetime <= 0 {
		return 0
	}
	return h.MaxLifetime - rand.N(h.MaxLifetime/10+1)
}
