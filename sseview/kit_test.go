package sseview_test

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview/sseviewtest"
)

// The tests read streams through sseview/sseviewtest, the public test kit,
// as a user's tests would: sseviewtest.OpenT and DialT open them.

// dial opens the stream at url over the network, with header, on a client
// of its own when client is nil.
func dial(t *testing.T, client *http.Client, url string, header http.Header) *sseviewtest.Stream {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, url, nil)
	maps.Copy(req.Header, header)
	return sseviewtest.DialT(t, client, req)
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
