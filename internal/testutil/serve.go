package testutil

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

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
