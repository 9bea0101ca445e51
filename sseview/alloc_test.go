//go:build !race

package sseview_test

import (
	"context"
	"iter"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/sseview/sseview/sseview"
)

// flushDiscard keeps nothing and flushes for free.
type flushDiscard struct{ h http.Header }

func (d flushDiscard) Header() http.Header         { return d.h }
func (d flushDiscard) Write(b []byte) (int, error) { return len(b), nil }
func (d flushDiscard) WriteHeader(int)             {}
func (d flushDiscard) Flush()                      {}

// reusedText yields n events through one *Text.
type reusedText int

func (n reusedText) Stream(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		ev := &sseview.Text{Type: "tick", Data: "payload"}
		for range int(n) {
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// The pump's own cost per event is no allocation at all: what a stream
// allocates does not grow with the number of events it writes. (Not run
// under the race detector, which allocates on its own.)
func TestPumpAllocatesNothingPerEvent(t *testing.T) {
	allocs := func(n int) float64 {
		h := sseview.AsView(reusedText(n))
		return testing.AllocsPerRun(20, func() {
			h.ServeHTTP(flushDiscard{http.Header{}}, httptest.NewRequest(http.MethodGet, "/", nil))
		})
	}
	few, many := allocs(10), allocs(2010)
	assert.LessOrEqual(t, many-few, 2.0, "allocations for 2,000 more events (%v for 10 events)", few)
}
