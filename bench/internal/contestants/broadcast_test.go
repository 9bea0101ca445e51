package contestants

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/bench/internal/wire"
)

// TestBroadcast checks that every broadcast contestant delivers every
// published event to every subscriber, in order.
//
// The subscribers have left before the server shuts down: with streams
// still open, go-sse's Server shutdown makes the race detector report
// Joe's last write racing with net/http finishing the response, and
// r3labs's Close leaves each open stream's goroutine blocked for good on
// its deregister channel. The harness's shutdown scenario measures that
// path; here it would only fail the test on the peers' behalf.
func TestBroadcast(t *testing.T) {
	const subs, events = 3, 20
	for _, c := range All() {
		if c.Mode != Broadcast {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			if c.Unavailable != "" {
				t.Skip(c.Unavailable)
			}
			inst := c.New()
			srv := httptest.NewUnstartedServer(inst.Handler)
			inst.Prepare(srv.Config)
			srv.Start()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			type result struct {
				seqs []int64
				err  error
			}
			warm := make(chan struct{}, subs)
			results := make(chan result, subs)
			for range subs {
				go func() {
					var res result
					defer func() { results <- res }()
					resp, err := get(srv, "/sub")
					if err != nil {
						res.err = err
						return
					}
					defer resp.Body.Close()
					r := wire.NewReader(resp.Body)
					warmed := false
					for {
						ev, err := r.Next()
						if err != nil {
							res.err = err
							return
						}
						seq, _, err := wire.Check(ev.Data, 0, c.Quoted)
						if err != nil {
							res.err = err
							return
						}
						if seq < 0 {
							if !warmed {
								warmed = true
								warm <- struct{}{}
							}
							continue
						}
						res.seqs = append(res.seqs, seq)
						if len(res.seqs) == events {
							return
						}
					}
				}()
			}
			// Subscribers count only once they have an event: publish
			// warm-ups until each has one.
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for n := 0; n < subs; {
				select {
				case <-warm:
					n++
				case <-tick.C:
					require.NoError(t, inst.Publish(ctx, wire.Payload(-1, 0, 32)))
				case <-ctx.Done():
					t.Fatal("subscribers did not receive a warm-up event")
				}
			}
			for i := range int64(events) {
				require.NoError(t, inst.Publish(ctx, wire.Payload(i, 0, 32)))
			}
			want := make([]int64, events)
			for i := range want {
				want[i] = int64(i)
			}
			for range subs {
				select {
				case res := <-results:
					require.NoError(t, res.err)
					assert.Equal(t, want, res.seqs)
				case <-ctx.Done():
					t.Fatal("a subscriber did not receive every event")
				}
			}
			// Close waits for the handlers of the streams the subscribers
			// closed; Shutdown then runs the contestant's hooks.
			srv.Close()
			require.NoError(t, srv.Config.Shutdown(ctx))
		})
	}
}
