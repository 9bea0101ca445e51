package contestants

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/bench/internal/wire"
)

// get opens path on srv as an EventSource would.
func get(srv *httptest.Server, path string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := srv.Client().Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	return resp, nil
}

// TestStream checks that every per-request contestant sends exactly the
// events asked for, intact and in order.
func TestStream(t *testing.T) {
	for _, c := range All() {
		if c.Mode != PerRequest {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			srv := httptest.NewServer(c.New().Handler)
			defer srv.Close()
			resp, err := get(srv, "/stream?n=50&size=100")
			require.NoError(t, err)
			defer resp.Body.Close()
			r := wire.NewReader(resp.Body)
			for want := range int64(50) {
				ev, err := r.Next()
				require.NoError(t, err, "event %d", want)
				seq, _, err := wire.Check(ev.Data, 100, c.Quoted)
				require.NoError(t, err, "event %d", want)
				require.Equal(t, want, seq)
			}
			_, err = r.Next()
			assert.ErrorIs(t, err, io.EOF, "after the last event")
		})
	}
}

// BenchmarkStream is the per-request throughput scenario in one process,
// with a client that only drains the socket: what is left is the server's
// cost per event, so that the libraries' overheads stand out.
func BenchmarkStream(b *testing.B) {
	for _, size := range []int{64, 1024} {
		for _, c := range All() {
			if c.Mode != PerRequest {
				continue
			}
			b.Run(fmt.Sprintf("%dB/%s", size, c.Name), func(b *testing.B) {
				srv := httptest.NewServer(c.New().Handler)
				defer srv.Close()
				b.ReportAllocs()
				b.ResetTimer()
				resp, err := get(srv, fmt.Sprintf("/stream?n=%d&size=%d", b.N, size))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			})
		}
	}
}
