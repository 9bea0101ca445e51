package sseview_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/testutil"
	"github.com/sseview/sseview/sseview"
)

// ticking yields a "tick" every minute until quit is closed. It watches ctx
// too unless ignoreCtx is set, and reports the cause of ctx when it
// returns.
func ticking(ignoreCtx bool, quit <-chan struct{}, causes chan<- error) viewFunc {
	return func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		done := ctx.Done()
		if ignoreCtx {
			done = nil
		}
		return func(yield func(sseview.Event, error) bool) {
			defer func() { causes <- context.Cause(ctx) }()
			tick := time.NewTicker(time.Minute)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-quit:
					return
				case <-tick.C:
				}
				if !yield(sseview.Text{Data: "tick"}, nil) {
					return
				}
			}
		}
	}
}

func TestMaxLifetime(t *testing.T) {
	const life, streams = 10 * time.Minute, 50
	tests := []struct {
		name      string
		h         sseview.Handler // View is set by the test
		ignoreCtx bool            // the view only stops when yield returns false
		ends      bool
		hint      string // the last write, when not ""
	}{
		{name: "ends with the Retry hint", h: sseview.Handler{MaxLifetime: life, Retry: 2 * time.Second},
			ends: true, hint: "retry: 2000\n\n"},
		{name: "without Retry it just ends", h: sseview.Handler{MaxLifetime: life}, ends: true},
		{name: "a view that only yields is stopped by yield", h: sseview.Handler{MaxLifetime: life, Retry: time.Second},
			ignoreCtx: true, ends: true, hint: "retry: 1000\n\n"},
		{name: "zero: no limit", h: sseview.Handler{KeepAlive: -1}},
		{name: "negative: no limit", h: sseview.Handler{MaxLifetime: -time.Second, KeepAlive: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				causes := make(chan error, streams)
				quit := make(chan struct{})
				defer close(quit)
				h := tt.h
				h.View = ticking(tt.ignoreCtx, quit, causes)
				began := time.Now()
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				ended := make(chan time.Duration, streams)
				writers := make([]*memWriter, streams)
				for i := range writers {
					writers[i] = &memWriter{header: http.Header{}}
					go func() {
						h.ServeHTTP(writers[i], httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
						ended <- time.Since(began)
					}()
				}

				if !tt.ends {
					time.Sleep(10 * life) // the bubble's clock
					synctest.Wait()
					assert.Empty(t, ended, "a stream ended")
					cancel()
					for range streams {
						<-ended
						assert.ErrorIs(t, <-causes, context.Canceled)
					}
					return
				}

				latest := life
				if tt.ignoreCtx {
					latest += time.Minute // the next yield
				}
				at := map[time.Duration]bool{}
				outlived := time.After(2 * latest)
				for range streams {
					var d time.Duration
					select {
					case d = <-ended:
					case <-outlived:
						t.Fatalf("streams outlived MaxLifetime %v by far", life)
					}
					assert.GreaterOrEqual(t, d, life*9/10)
					assert.LessOrEqual(t, d, latest)
					at[d] = true
					assert.ErrorIs(t, <-causes, sseview.ErrMaxLifetime)
				}
				if !tt.ignoreCtx { // those all end at the same tick
					assert.Greater(t, len(at), streams/2, "the ends are spread out")
				}
				for _, w := range writers {
					writes := w.log()
					require.NotEmpty(t, writes)
					last := writes[len(writes)-1].text
					if tt.hint != "" {
						assert.Equal(t, tt.hint, last)
					} else {
						assert.NotContains(t, last, "retry:")
					}
				}
			})
		})
	}
}

func TestViewGetsTheRequestsContext(t *testing.T) {
	// Without MaxLifetime or EndStreamsOnShutdown nothing can end a stream
	// early: the view's ctx is the request's in all but the value a broker's
	// fan-out looks for, and the request is left as it is. With either, the
	// view's ctx is a child of the request's, and r.Context() is that child.
	tests := []struct {
		name string
		h    sseview.Handler
		own  bool
	}{
		{"nothing ends streams early", sseview.Handler{}, false},
		{"MaxLifetime", sseview.Handler{MaxLifetime: time.Hour}, true},
	}
	type key struct{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type seen struct {
				ctx context.Context
				req *http.Request
			}
			got := make(chan seen, 1)
			h := tt.h
			h.View = viewFunc(func(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
				got <- seen{ctx, r}
				return finite(sseview.Text{Data: "x"})(ctx, r, sseview.Params{})
			})
			base, cancel := context.WithCancel(context.WithValue(t.Context(), key{}, "v"))
			defer cancel()
			req := httptest.NewRequestWithContext(base, http.MethodGet, "/", nil)
			h.ServeHTTP(httptest.NewRecorder(), req)
			s := recv(t, got, "the view")
			assert.Equal(t, "v", s.ctx.Value(key{}), "the request's values")
			if tt.own {
				assert.True(t, s.ctx == s.req.Context(), "r.Context() is the view's ctx")
				assert.True(t, s.ctx.Done() != base.Done(), "a context that can end early")
				return
			}
			assert.True(t, s.req == req, "the request is left as it is")
			assert.True(t, s.ctx.Done() == base.Done(), "the request's cancellation, and no other")
		})
	}
}

func TestMaxLifetimeRotatesWithoutLosingEvents(t *testing.T) {
	const (
		rotations = 5
		window    = 16 // events the publisher may be ahead of the client
	)
	b := &sseview.MemoryBroker{}
	r := appRouter()
	r.Get("/rooms/{room}", (&sseview.Handler{
		View:        room{broker: b},
		MaxLifetime: 30 * time.Millisecond,
		Retry:       10 * time.Millisecond,
		Logger:      slog.New(slog.DiscardHandler),
	}).ServeHTTP)
	srv := testutil.Serve(t, r)
	last := mustPublish(t, b, "room.lobby", "anchor")

	// The publisher goes on publishing through every rotation, up to window
	// events ahead of what the client has: some are published while the
	// client is between two streams.
	credits := make(chan struct{}, window)
	stop := make(chan struct{})
	var stopOnce sync.Once
	stopPublishing := func() { stopOnce.Do(func() { close(stop) }) }
	t.Cleanup(stopPublishing)
	published := make(chan int, 1)
	go func() {
		n := 0
		defer func() { published <- n }()
		for {
			select {
			case <-stop:
				return
			case credits <- struct{}{}:
			}
			if _, err := b.Publish(context.Background(), "room.lobby", sseview.Text{Data: strconv.Itoa(n)}); err != nil {
				t.Error(err)
				return
			}
			n++
		}
	}()

	// The client reconnects as EventSource does, with the last id it got.
	s := dial(t, nil, srv.URL+"/rooms/lobby", resumeHeader(last))
	var got []string
	total := -1 // the number published, once the publisher has stopped
	for streams := 1; total < 0 || len(got) < total; streams++ {
		require.Less(t, streams, 10_000, "the client keeps reconnecting")
		if streams > 1 {
			require.NoError(t, s.Reconnect())
		}
		for ev, err := range s.Events() {
			require.NoError(t, err, "stream %d ends cleanly", streams)
			require.Equal(t, "message", ev.Type, "no reset: the history holds what was missed")
			got = append(got, ev.Data)
			// Each event's credit was sent before it was published, so a
			// missing one means an event came more than once.
			select {
			case <-credits:
			default:
				t.Fatalf("event %q arrived more often than it was published", ev.Data)
			}
		}
		if streams == rotations {
			stopPublishing()
			total = <-published
		}
	}
	want := make([]string, total)
	for i := range want {
		want[i] = strconv.Itoa(i)
	}
	require.Equal(t, strings.Join(want, " "), strings.Join(got, " "), "every event exactly once, in order")
	retry, _ := s.Retry()
	assert.Equal(t, 10*time.Millisecond, retry, "each stream ends with the Retry hint")
	t.Logf("%d events over %d rotations", total, rotations)
}

// greeting yields one event, then waits until the stream is ended.
type greeting struct{}

func (greeting) Stream(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		if !yield(sseview.Text{ID: "1", Data: "hello"}, nil) {
			return
		}
		<-ctx.Done()
		if errors.Is(context.Cause(ctx), sseview.ErrMaxLifetime) {
			fmt.Println("the stream's time is up")
		}
	}
}

// A stream ends cleanly at its MaxLifetime, with the Retry hint: the client
// reconnects and resumes from its Last-Event-ID.
func ExampleHandler_maxLifetime() {
	h := &sseview.Handler{
		View:        greeting{},
		MaxLifetime: 50 * time.Millisecond, // an hour, say, in production
		Retry:       2 * time.Second,
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Print(rec.Body.String())
	// Output:
	// the stream's time is up
	// retry: 2000
	//
	// id: 1
	// data: hello
	//
	// retry: 2000
}
