//go:build !race

package sseview_test

import (
	"context"
	"iter"
	"net/http"
	"net/http/httptest"
	"strconv"
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

// reusedBytes yields n events through one *Bytes, rewriting its buffer
// after every yield as a view that appends its payload would.
type reusedBytes int

func (n reusedBytes) Stream(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		ev := &sseview.Bytes{Type: "tick"}
		var buf []byte
		for i := range int(n) {
			buf = strconv.AppendInt(append(buf[:0], "payload "...), int64(i), 10)
			ev.Data = buf
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// reusedJSON yields n events through one *JSON of a pointer, which Go puts
// into Data's interface without allocating.
type reusedJSON int

func (n reusedJSON) Stream(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		reading := &struct{ Seq, Temp int }{Temp: 21}
		ev := &sseview.JSON{Type: "reading", Data: reading}
		for i := range int(n) {
			reading.Seq = i
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// The pump's own cost per event is no allocation at all: what a stream
// allocates does not grow with the number of events it writes, whether
// they are a reused *Text, a reused *Bytes or a reused *JSON. (Not run
// under the race detector, which allocates on its own.)
func TestPumpAllocatesNothingPerEvent(t *testing.T) {
	views := map[string]func(n int) sseview.StreamView{
		"Text":  func(n int) sseview.StreamView { return reusedText(n) },
		"Bytes": func(n int) sseview.StreamView { return reusedBytes(n) },
		"JSON":  func(n int) sseview.StreamView { return reusedJSON(n) },
	}
	for name, view := range views {
		t.Run(name, func(t *testing.T) {
			allocs := func(n int) float64 {
				h := sseview.AsView(view(n))
				return testing.AllocsPerRun(20, func() {
					h.ServeHTTP(flushDiscard{http.Header{}}, httptest.NewRequest(http.MethodGet, "/", nil))
				})
			}
			few, many := allocs(10), allocs(2010)
			assert.LessOrEqual(t, many-few, 2.0, "allocations for 2,000 more events (%v for 10 events)", few)
		})
	}
}
