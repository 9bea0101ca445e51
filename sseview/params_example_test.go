package sseview_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/sseview/sseview/sseview"
)

// A page that renders state and then connects passes the id it rendered
// in the query string; the Last-Event-ID header of a reconnect wins over
// it.
func ExampleLastEventID() {
	first := httptest.NewRequest(http.MethodGet, "/rooms/lobby", nil)
	rendered := httptest.NewRequest(http.MethodGet, "/rooms/lobby?lastEventId=k3x-41", nil)
	reconnect := httptest.NewRequest(http.MethodGet, "/rooms/lobby?lastEventId=k3x-41", nil)
	reconnect.Header.Set("Last-Event-ID", "k3x-42")
	for _, r := range []*http.Request{first, rendered, reconnect} {
		fmt.Printf("%q\n", sseview.LastEventID(r))
	}
	// Output:
	// ""
	// "k3x-41"
	// "k3x-42"
}
