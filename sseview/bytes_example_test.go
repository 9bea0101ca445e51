package sseview_test

import (
	"context"
	"iter"
	"net/http"
	"strconv"

	"github.com/sseview/sseview/sseview"
)

// Tally appends each payload into one buffer of its own and sends it as
// Bytes: the stream is done with the bytes when yield returns, so the buffer
// is reused for the next event and nothing is copied or allocated per event.
type Tally struct{ N int }

func (c Tally) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		ev := &sseview.Bytes{Type: "count"}
		var buf []byte
		for i := range c.N {
			buf = strconv.AppendInt(append(buf[:0], `{"n":`...), int64(i), 10)
			buf = append(buf, '}')
			ev.Data = buf
			if !yield(ev, nil) {
				return
			}
		}
	}
}

func ExampleBytes() {
	get(sseview.AsView(Tally{N: 2}), "/count")
	// Output:
	// 200 text/event-stream
	// event: count
	// data: {"n":0}
	//
	// event: count
	// data: {"n":1}
}
