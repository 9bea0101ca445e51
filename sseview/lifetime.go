package sseview

import (
	"context"
	"net/http"
)

// endable gives r a context of its own, which the Handler can end before the
// view is done, when something may end the stream early: Shutdown, through
// [EndStreamsOnShutdown]. Otherwise it returns r as it is and a nil cancel,
// and the view gets the request's own context.
//
// The context is made before the view sees the request, since the view
// keeps the context Stream is given; the stream is bound to it once it
// starts (see bind), so that a request refused or still being accepted is
// never ended early.
func (h *Handler) endable(r *http.Request) (*http.Request, context.CancelCauseFunc) {
	if registryOf(r.Context()) == nil {
		return r, nil
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	return r.WithContext(ctx), cancel
}

// bind lets what may end s early do so through cancel, from now until
// s.close.
func (h *Handler) bind(ctx context.Context, s *stream, cancel context.CancelCauseFunc) {
	s.cancel = cancel
	if reg := registryOf(ctx); reg != nil {
		reg.add(s)
	}
}
