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
// once, and only them. Without it Shutdown waits for streams that never go
// idle until its own context expires (golang/go#41344).
//
// Call it before the server starts serving. It keeps srv.BaseContext, and
// puts in the context it returns a registry that each [Handler] finds in its
// requests' contexts: a Handler registers its streams there while they run.
// When Shutdown begins, every registered stream's context is cancelled with
// cause [ErrShutdown]: the view sees ctx done, and the Handler sends the
// client a last reconnection time, drawn at random between retry/2 and
// 3*retry/2 so that the clients do not all reconnect at once. A retry of
// zero or less sends none, leaving the client's own delay. A stream that
// starts after Shutdown began ends the same way at once.
//
// Every other request, including one a Handler refuses or is still
// accepting, keeps its context and gets Shutdown's usual grace to finish.
// HTTP/2 works the same: its connections' requests take their contexts
// from the listener's BaseContext too.
//
// Writes are cut short, since one blocked on a client that stopped reading
// would hold up Shutdown for the whole write timeout: a write in progress
// when Shutdown begins has a tenth of a second left to finish, and a stream
// that is not writing has a second (or its Handler's WriteTimeout, if
// shorter) for its last words. A client that is still reading gets them in
// far less; one that stopped is dropped without the hint.
//
// Shutdown still waits for the handlers to return, so views must stop when
// their ctx is done.
func EndStreamsOnShutdown(srv *http.Server, retry time.Duration) {
	reg := &registry{cause: &shutdownError{retry: retry}, streams: make(map[*stream]struct{})}
	base := srv.BaseContext
	srv.BaseContext = func(l net.Listener) context.Context {
		// net/http's own root when BaseContext is unset.
		parent := context.Background()
		if base != nil {
			parent = base(l)
		}
		return context.WithValue(parent, registryKey{}, reg)
	}
	srv.RegisterOnShutdown(reg.shutdown)
}

type registryKey struct{}

// registry holds the running streams of one server. It is a value of the
// server's base context rather than a cancellable base context, because
// cancelling that would cancel every request on the listener, not only the
// streams.
type registry struct {
	cause *shutdownError

	mu      sync.Mutex // taken before a stream's mu, never after
	streams map[*stream]struct{}
	shut    bool // Shutdown has begun
}

// registryOf returns the registry EndStreamsOnShutdown put in ctx, or nil.
func registryOf(ctx context.Context) *registry {
	reg, _ := ctx.Value(registryKey{}).(*registry)
	return reg
}

// add registers s until s.close, or ends it at once if Shutdown has begun.
func (g *registry) add(s *stream) {
	g.mu.Lock()
	shut := g.shut
	if !shut {
		g.streams[s] = struct{}{}
		s.registry = g
	}
	g.mu.Unlock()
	if shut {
		g.end(s)
	}
}

func (g *registry) remove(s *stream) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.streams, s)
}

// shutdown runs on a goroutine of its own once Shutdown has closed the
// listeners. It holds mu throughout, so a stream cannot return from its
// handler, and its writer be reused, while it is being ended.
func (g *registry) shutdown() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.shut = true
	for s := range g.streams {
		g.end(s)
	}
}

// end cancels the view's context of s, after cutting its writes short (see
// stream.cut). The cut comes first, so that the last words the
// cancellation leads to are already bounded.
func (g *registry) end(s *stream) {
	s.cut()
	s.cancel(g.cause)
}
