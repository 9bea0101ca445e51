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

// Datastar's events on a stream its client opens with POST. The stream's
// lines are printed quoted, to show how each event ends: with an empty
// line more than the blank line that dispatches it, as datastar-go writes
// them.
func ExamplePatchElements() {
	h := &sseview.Handler{View: Counter{}, Methods: []string{http.MethodPost}}
	for _, body := range []string{`{"count":41}`, `{"count":"x"}`} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/count", strings.NewReader(body)))
		fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
		if rec.Code != http.StatusOK {
			fmt.Print(rec.Body)
			continue
		}
		lines := strings.Lines(rec.Body.String())
		for line := range lines {
			fmt.Printf("%q\n", line)
		}
	}
	// Output:
	// 200 text/event-stream
	// "event: datastar-patch-signals\n"
	// "data: signals {\"count\":42}\n"
	// "\n"
	// "\n"
	// "event: datastar-patch-elements\n"
	// "data: selector #count\n"
	// "data: mode inner\n"
	// "data: elements <b>42</b>\n"
	// "\n"
	// "\n"
	// 400 application/json
	// {"error":"sseview: the Datastar signals are not valid: signal \"count\" is a JSON string, want int"}
}
