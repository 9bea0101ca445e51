package sseview

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

// ErrShutdown is the cause (see context.Cause) of a stream's context when
// the server shuts down through [EndStreamsOnShutdown]. A view can check it
// to say goodbye before it returns.
var ErrShutdown error = &shutdownError{}

type shutdownError struct{ retry time.Duration }

func (e *shutdownError) Error() string { return "sseview: server shutting down" }

func (e *shutdownError) Is(target error) bool { return target == ErrShutdown }

// jitteredRetry spreads reconnects over [retry/2, 3*retry/2) so that the
// clients of a restarted server do not all come back at once.
func (e *shutdownError) jitteredRetry() time.Duration {
	if e.retry <= 0 {
		return 0
	}
	d := e.retry/2 + rand.N(e.retry)
	return max(d.Truncate(time.Millisecond), time.Millisecond)
}

// EndStreamsOnShutdown makes srv.Shutdown end every open event stream at
// once. Without it Shutdown waits for streams that never go idle until its
// own context expires (golang/go#41344).
//
// Call it before the server starts serving. It wraps srv.BaseContext so
// that, when Shutdown begins, the context of every request is cancelled
// with cause [ErrShutdown]: views see ctx done, and [Handler] sends each
// client a last reconnection time, drawn at random between retry/2 and
// 3*retry/2 so the clients do not all reconnect at once. A retry of zero or
// less sends none, leaving the client's own delay.
//
// Shutdown still waits for the handlers to return, so views must stop when
// their ctx is done.
func EndStreamsOnShutdown(srv *http.Server, retry time.Duration) {
	base := srv.BaseContext
	cause := &shutdownError{retry: retry}
	var (
		mu       sync.Mutex
		cancels  []context.CancelCauseFunc
		shutdown bool
	)
	srv.BaseContext = func(l net.Listener) context.Context {
		// net/http's own root when BaseContext is unset.
		parent := context.Background()
		if base != nil {
			parent = base(l)
		}
		ctx, cancel := context.WithCancelCause(parent)
		mu.Lock()
		defer mu.Unlock()
		if shutdown {
			cancel(cause)
		} else {
			cancels = append(cancels, cancel)
		}
		return ctx
	}
	srv.RegisterOnShutdown(func() {
		mu.Lock()
		defer mu.Unlock()
		shutdown = true
		for _, cancel := range cancels {
			cancel(cause)
		}
	})
}
