package contestants

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discard is a ResponseWriter that keeps nothing and flushes for free, so
// that BenchmarkOverhead measures the handler and the library alone.
type discard struct {
	h      http.Header
	n      int64
	writes int64
}

func (d *discard) Header() http.Header { return d.h }

func (d *discard) Write(b []byte) (int, error) {
	d.n += int64(len(b))
	d.writes++
	return len(b), nil
}

func (d *discard) WriteHeader(int) {}

func (d *discard) Flush() {}

// BenchmarkOverhead is one per-request stream of b.N events written to a
// writer that costs nothing: the library's own CPU per event, with
// net/http and the kernel taken out. It includes making each payload,
// the application's share, which is the same for every contestant.
func BenchmarkOverhead(b *testing.B) {
	for _, size := range []int{64, 1024} {
		for _, c := range All() {
			if c.Mode != PerRequest {
				continue
			}
			b.Run(fmt.Sprintf("%dB/%s", size, c.Name), func(b *testing.B) {
				h := c.New().Handler
				r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/stream?n=%d&size=%d", b.N, size), nil)
				r.Header.Set("Accept", "text/event-stream")
				w := &discard{h: http.Header{}}
				b.ReportAllocs()
				b.ResetTimer()
				h.ServeHTTP(w, r)
				b.StopTimer()
				if w.writes < int64(b.N) {
					b.Fatalf("%d writes for %d events", w.writes, b.N)
				}
			})
		}
	}
}
