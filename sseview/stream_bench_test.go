package sseview_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/sseview/sseview/sseview"
)

// rawHandler is the hand-written handler AsView is measured against: the
// same bytes, flushed per event, nothing else. Like countView it writes ?n=
// events, or one and then waits when n is 0.
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
		for range max(n, 1) {
			if _, err := w.Write(ev); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		}
		if n == 0 {
			<-r.Context().Done()
		}
	}
}

// countView yields ?n= events of data, or one and then waits when n is 0.
// It reuses one *Text, the allocation-free way (see Event).
type countView string

func (v countView) Stream(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	n, _ := strconv.Atoi(r.URL.Query().Get("n"))
	return func(yield func(sseview.Event, error) bool) {
		ev := &sseview.Text{Data: string(v)}
		for range max(n, 1) {
			if !yield(ev, nil) {
				return
			}
		}
		if n == 0 {
			<-ctx.Done()
		}
	}
}

// valueView is countView yielding a Text value each time, which Go boxes
// into the Event interface with an allocation.
type valueView string

func (v valueView) Stream(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
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

// BenchmarkIdleStream measures what an open, idle stream costs the server:
// heap and stack bytes (and stack bytes alone) and goroutines per
// connection, with keep-alive on (its default 15 s timer armed) for AsView
// and for a MemoryBroker subscription. Every stream has had one event. The
// clients are raw TCP connections, which add no goroutines.
func BenchmarkIdleStream(b *testing.B) {
	const conns = 500
	broker := &sseview.MemoryBroker{}
	contestants := []struct {
		name    string
		h       http.Handler
		publish func() // sends the one event, when the handler does not
	}{
		{"raw", rawHandler("idle"), nil},
		{"asview", sseview.AsView(countView("idle")), nil},
		{"broker", sseview.AsView(subscription{broker}), func() {
			if _, err := broker.Publish(context.Background(), "idle", sseview.Text{Data: "idle"}); err != nil {
				b.Fatal(err)
			}
		}},
	}
	for _, c := range contestants {
		b.Run(c.name, func(b *testing.B) {
			srv := httptest.NewServer(c.h)
			defer srv.Close()
			for b.Loop() {
				before, stackBefore, goroutines := inUse()
				open := make([]net.Conn, 0, conns)
				for range conns {
					conn, err := openIdle(srv.Listener.Addr().String())
					if err != nil {
						b.Fatal(err)
					}
					open = append(open, conn)
				}
				if c.publish != nil {
					c.publish()
				}
				for _, conn := range open {
					if err := readUntil(conn, "data: idle\n\n"); err != nil {
						b.Fatal(err)
					}
				}
				after, stackAfter, goroutinesAfter := inUse()
				b.ReportMetric(float64(after-before)/conns, "B/conn")
				b.ReportMetric(float64(stackAfter-stackBefore)/conns, "stack-B/conn")
				b.ReportMetric(float64(goroutinesAfter-goroutines)/conns, "goroutines/conn")
				for _, conn := range open {
					conn.Close()
				}
			}
			srv.CloseClientConnections()
		})
	}
}

// subscription is a view of the broker's topic "idle".
type subscription struct{ b sseview.Broker }

func (v subscription) Stream(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	return v.b.Subscribe(ctx, "idle", "")
}

// inUse returns the heap and stacks in use, the stacks alone, and the
// number of goroutines.
func inUse() (bytes, stack uint64, goroutines int) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse, m.StackInuse, runtime.NumGoroutine()
}

// openIdle starts a stream and reads up to the end of its headers.
func openIdle(addr string) (net.Conn, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(conn, "GET /?n=0 HTTP/1.1\r\nHost: bench\r\n\r\n"); err != nil {
		conn.Close()
		return nil, err
	}
	if err := readUntil(conn, "\r\n\r\n"); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// readUntil reads from conn up to and including the first end; it reads one
// byte at a time so that nothing after end is consumed.
func readUntil(conn net.Conn, end string) error {
	var seen []byte
	buf := make([]byte, 1)
	for !bytes.HasSuffix(seen, []byte(end)) {
		if _, err := conn.Read(buf); err != nil {
			return err
		}
		seen = append(seen, buf[0])
	}
	return nil
}
