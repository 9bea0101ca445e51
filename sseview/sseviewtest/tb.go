package sseviewtest

import (
	"net/http"
	"testing"
)

// OpenT is [Open] for a test: it fails t at once (t.Fatal) with Open's
// error, and closes the stream when the test ends (t.Cleanup), failing t
// (t.Error) if Close reports that the handler did not return or panicked.
// That check is the point of it: a test that closes with a bare defer
// s.Close() never sees the handler it leaks. Open itself returns its error
// instead, so that it works where there is no testing.TB, in Examples.
// Call OpenT from the goroutine running the test; inside a testing/synctest
// bubble, the Close runs in the bubble too.
func OpenT(t testing.TB, h http.Handler, req *http.Request) *Stream {
	t.Helper()
	s, err := Open(h, req)
	return closedAtEnd(t, s, err)
}

// DialT is [Dial] for a test, as [OpenT] is Open's.
func DialT(t testing.TB, client *http.Client, req *http.Request) *Stream {
	t.Helper()
	s, err := Dial(client, req)
	return closedAtEnd(t, s, err)
}

func closedAtEnd(t testing.TB, s *Stream, err error) *Stream {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}
