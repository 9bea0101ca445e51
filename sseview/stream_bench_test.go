package sseview_test

import (
	"context"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/sseview/sseview/sseview"
)

// rawHandler is the hand-written handler AsView is measured against: the
// same bytes, flushed per event, nothing else. Like countView it writes ?n=
// events.
func rawHandler(data string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		ev := []byte("data: " + data + "\n\n")
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		rc := http.NewResponseController(w)
		w.WriteHeader(http.StatusOK)
		if rc.Flush() != nil {
			return
		}
		for range n {
			if _, err := w.Write(ev); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		}
	}
}

// countView yields ?n= events of data. It reuses one *Text, the
// allocation-free way (see Event).
type countView string

func (v countView) Stream(_ context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	n, _ := strconv.Atoi(r.URL.Query().Get("n"))
	return func(yield func(sseview.Event, error) bool) {
		ev := &sseview.Text{Data: string(v)}
		for range n {
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// valueView is countView yielding a Text value each time, which Go boxes
// into the Event interface with an allocation.
type valueView string

func (v valueView) Stream(_ context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	n, _ := strconv.Atoi(r.URL.Query().Get("n"))
	return func(yield func(sseview.Event, error) bool) {
		for range n {
			if !yield(sseview.Text{Data: string(v)}, nil) {
				return
			}
		}
	}
}

// BenchmarkStream writes b.N events to one client over loopback, with the
// hand-written handler and with AsView, reusing one *Text (asview) and
// yielding Text values (asview-values). Compare events/s of runs that
// alternate between the contestants, one process each (go test -count
// repeats each sub-benchmark back to back, so drift in the machine's load
// would land on one contestant): for example, a shell loop over
// -test.bench 'BenchmarkStream/^raw$/1024B$' and '.../^asview$/1024B$'.
func BenchmarkStream(b *testing.B) {
	for _, size := range []int{64, 1024} {
		data := strings.Repeat("x", size)
		contestants := []struct {
			name string
			h    http.Handler
		}{
			{"raw", rawHandler(data)},
			{"asview", sseview.AsView(countView(data))},
			{"asview-values", sseview.AsView(valueView(data))},
		}
		for _, c := range contestants {
			b.Run(fmt.Sprintf("%s/%dB", c.name, size), func(b *testing.B) {
				srv := httptest.NewServer(c.h)
				defer srv.Close()
				client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
				defer client.CloseIdleConnections()

				b.ResetTimer()
				resp, err := client.Get(srv.URL + "?n=" + strconv.Itoa(b.N))
				if err != nil {
					b.Fatal(err)
				}
				got, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				b.StopTimer()
				if want := int64(b.N * (len(data) + 8)); err != nil || got != want {
					b.Fatalf("read %d bytes (%v), want %d", got, err, want)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
				b.SetBytes(int64(len(data) + 8))
			})
		}
	}
}
