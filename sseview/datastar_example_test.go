package sseview_test

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sseview/sseview/sseview"
)

// Counter answers Datastar's @post('/count') with the page's count plus
// one, as a signals patch and an element patch.
type Counter struct{}

type counterSignals struct {
	Count int `json:"count"`
}

// Accept refuses malformed signals with 400 before the stream starts.
func (Counter) Accept(r *http.Request, _ sseview.Params) error {
	return sseview.ReadSignals(r, &counterSignals{})
}

func (Counter) Stream(_ context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		var s counterSignals
		if err := sseview.ReadSignals(r, &s); err != nil {
			yield(nil, err)
			return
		}
		s.Count++
		if !yield(sseview.PatchSignals{Signals: s}, nil) {
			return
		}
		yield(sseview.PatchElements{Selector: "#count", Mode: "inner",
			Elements: sseview.Markup(fmt.Sprintf("<b>%d</b>", s.Count))}, nil)
	}
}

// Datastar's events on a stream its client opens with POST.
func ExamplePatchElements() {
	h := &sseview.Handler{View: Counter{}, Methods: []string{http.MethodPost}}
	for _, body := range []string{`{"count":41}`, `{"count":"x"}`} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/count", strings.NewReader(body)))
		fmt.Printf("%d %s\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	// Output:
	// 200 text/event-stream
	// event: datastar-patch-signals
	// data: signals {"count":42}
	//
	// event: datastar-patch-elements
	// data: selector #count
	// data: mode inner
	// data: elements <b>42</b>
	//
	// 400 application/json
	// {"error":"sseview: the Datastar signals are not valid: signal \"count\" is a JSON string, want int"}
}
