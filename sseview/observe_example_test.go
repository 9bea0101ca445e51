package sseview_test

import (
	"context"
	"fmt"
	"io"
	"iter"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	"github.com/sseview/sseview/sseview"
)

// streamCounter is an Observer that counts each stream's events and bytes,
// and sends a line on ended when the stream is over.
type streamCounter struct{ ended chan string }

func (c streamCounter) StreamStarted(r *http.Request) sseview.StreamObserver {
	return &countedStream{ended: c.ended, pattern: r.Pattern}
}

// countedStream counts atomically: KeepAliveWritten may run at the same
// time as EventWritten.
type countedStream struct {
	ended           chan string
	pattern         string
	events, written atomic.Int64
}

func (s *countedStream) EventWritten(n int) {
	s.events.Add(1)
	s.written.Add(int64(n))
}

func (s *countedStream) KeepAliveWritten(n int) { s.written.Add(int64(n)) }

func (s *countedStream) StreamEnded(reason sseview.CloseReason) {
	s.ended <- fmt.Sprintf("%s: %s after %d events, %d bytes", s.pattern, reason, s.events.Load(), s.written.Load())
}

// threeTicks yields three events and ends.
type threeTicks struct{}

func (threeTicks) Stream(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		for i := range 3 {
			if !yield(sseview.Text{Type: "tick", Data: fmt.Sprint(i)}, nil) {
				return
			}
		}
	}
}

// An Observer hears each stream: its route, what it wrote and why it ended.
func ExampleObserver() {
	counter := streamCounter{ended: make(chan string, 1)}
	mux := http.NewServeMux()
	mux.Handle("GET /ticks", &sseview.Handler{View: threeTicks{}, Observer: counter})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/ticks")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-counter.ended)
	// Output:
	// GET /ticks: completed after 3 events, 63 bytes
}
