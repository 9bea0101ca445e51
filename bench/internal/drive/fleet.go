package drive

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sseview/sseview/bench/internal/contestants"
	"github.com/sseview/sseview/bench/internal/wire"
)

// fleet is many open streams of one contestant, each read by its own
// goroutine that checks every payload.
type fleet struct {
	n       int
	client  *http.Client
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	got     atomic.Int64 // streams that received their first event
	failed  atomic.Int64 // streams that did not open
	ended   atomic.Int64 // streams that ended after opening
	mu      sync.Mutex
	errs    []string // distinct problems, first few
	nerrs   int
	closing atomic.Bool
}

// onEvent sees every event of stream i; it runs on that stream's goroutine.
type onEvent func(i int, seq, ts int64, data []byte)

func (f *fleet) problem(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nerrs++
	if len(f.errs) < 3 {
		f.errs = append(f.errs, fmt.Sprintf(format, args...))
	}
}

// problems reports what went wrong, if anything.
func (f *fleet) problems() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.nerrs > len(f.errs) {
		return append(append([]string(nil), f.errs...), fmt.Sprintf("%d problems in all", f.nerrs))
	}
	return append([]string(nil), f.errs...)
}

func path(c *contestants.Contestant) string {
	if c.Mode == contestants.Broadcast {
		return "/sub"
	}
	return "/idle"
}

// openFleet opens n streams of c on s in the background.
func openFleet(s *server, c *contestants.Contestant, n int, fn onEvent) *fleet {
	ctx, cancel := context.WithCancel(context.Background())
	f := &fleet{n: n, client: &http.Client{Transport: newTransport(128)}, cancel: cancel}
	url := s.url(path(c))
	for i := range n {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			st, err := open(ctx, f.client, url)
			if err != nil {
				f.failed.Add(1)
				if ctx.Err() == nil {
					f.problem("stream did not open: %v", err)
				}
				return
			}
			defer st.close()
			first := true
			for {
				ev, err := st.r.Next()
				if err != nil {
					f.ended.Add(1)
					if !f.closing.Load() && ctx.Err() == nil {
						f.problem("stream ended: %v", err)
					}
					return
				}
				seq, ts, err := wire.Check(ev.Data, 0, c.Quoted)
				if err != nil {
					f.problem("%v", err)
					continue
				}
				if first {
					first = false
					f.got.Add(1)
				}
				if fn != nil {
					fn(i, seq, ts, ev.Data)
				}
			}
		}()
	}
	return f
}

// waitFirst waits until every stream has its first event or did not open,
// publishing warm-up events meanwhile when c broadcasts. It reports
// whether they all got one.
func (f *fleet) waitFirst(s *server, c *contestants.Contestant, timeout time.Duration, alsoReady func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if f.got.Load() == int64(f.n) && (alsoReady == nil || alsoReady()) {
			return true
		}
		if f.got.Load()+f.failed.Load() >= int64(f.n) && f.failed.Load() > 0 {
			break
		}
		if c.Mode == contestants.Broadcast {
			if err := s.publish(-1, 64); err != nil {
				f.problem("warm-up publish: %v", err)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := f.got.Load(); got < int64(f.n) {
		f.problem("only %d of %d streams received an event within %v", got, f.n, timeout)
	}
	return false
}

// expectEnd marks the ends of streams from now on as expected.
func (f *fleet) expectEnd() { f.closing.Store(true) }

// waitEnded waits up to timeout for every opened stream to end.
func (f *fleet) waitEnded(timeout time.Duration) int64 {
	deadline := time.Now().Add(timeout)
	opened := int64(f.n) - f.failed.Load()
	for time.Now().Before(deadline) && f.ended.Load() < opened {
		time.Sleep(20 * time.Millisecond)
	}
	return f.ended.Load()
}

// close ends every stream and waits for their goroutines.
func (f *fleet) close() {
	f.closing.Store(true)
	f.cancel()
	f.wg.Wait()
	f.client.CloseIdleConnections()
}
