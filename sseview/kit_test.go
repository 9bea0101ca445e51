package sseview_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview/sseviewtest"
)

// The tests read streams through sseview/sseviewtest, the public test kit,
// as a user's tests would. The kit returns errors, so that it works in
// Examples too; these helpers fail the test instead.

// open serves req with h in process, and closes the stream when the test
// ends: the test fails if the handler does not return then.
func open(t *testing.T, h http.Handler, req *http.Request) *sseviewtest.Stream {
	t.Helper()
	s, err := sseviewtest.Open(h, req)
	require.NoError(t, err)
	return closeAtEnd(t, s)
}

// openPath is open with a GET of target.
func openPath(t *testing.T, h http.Handler, target string) *sseviewtest.Stream {
	t.Helper()
	return open(t, h, httptest.NewRequest(http.MethodGet, target, nil))
}

// dial opens the stream at url over the network, with header, on a client
// of its own when client is nil.
func dial(t *testing.T, client *http.Client, url string, header http.Header) *sseviewtest.Stream {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, vs := range header {
		req.Header[k] = vs
	}
	s, err := sseviewtest.Dial(client, req)
	require.NoError(t, err)
	return closeAtEnd(t, s)
}

func closeAtEnd(t *testing.T, s *sseviewtest.Stream) *sseviewtest.Stream {
	s.Timeout = wait
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return s
}

// next reads the next event of s, failing the test if none comes.
func next(t *testing.T, s *sseviewtest.Stream) sseviewtest.Event {
	t.Helper()
	ev, err := s.Next()
	require.NoError(t, err)
	return ev
}

// msg is an event of the default type.
func msg(data, id string) sseviewtest.Event {
	return sseviewtest.Event{Type: "message", Data: data, ID: id}
}
