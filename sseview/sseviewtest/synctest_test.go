package sseviewtest_test

import (
	"context"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

var keepAlive = sseviewtest.Event{Comment: ": keep-alive"}

// TestKeepAliveOnTheFakeClock is the proof that the kit works in a
// testing/synctest bubble: sseview's 15 s keep-alive, behind chi and its
// middleware, observed at exactly 15 s, 30 s and, after an event at 40 s, at
// 55 s of fake time, while the whole test takes well under a second of real
// time.
func TestKeepAliveOnTheFakeClock(t *testing.T) {
	realStart := time.Now()
	synctest.Test(t, func(t *testing.T) {
		view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
			return func(yield func(sseview.Event, error) bool) {
				select {
				case <-ctx.Done():
					return
				case <-time.After(40 * time.Second):
				}
				if !yield(sseview.Text{Data: "news"}, nil) {
					return
				}
				<-ctx.Done()
			}
		})
		r := router(func(r chi.Router) { r.Get("/", sseview.AsView(view)) })
		start := time.Now()
		s := sseviewtest.OpenT(t, r, httptest.NewRequest(http.MethodGet, "/", nil))
		s.Comments = true
		s.Timeout = time.Minute

		want := []struct {
			at time.Duration
			ev sseviewtest.Event
		}{
			{15 * time.Second, keepAlive},
			{30 * time.Second, keepAlive},
			{40 * time.Second, sseviewtest.Event{Type: "message", Data: "news"}},
			{52500 * time.Millisecond, keepAlive}, // the first tick (every 7.5 s) after which 15 s of silence could pass
		}
		for _, w := range want {
			s.Expect(t, w.ev)
			assert.Equal(t, w.at, time.Since(start), "when %s arrived", w.ev)
		}
	})
	// The bubble's 55 s took no real waiting. The bound is loose for -race
	// on a busy machine; waiting for the real clock would take a minute.
	assert.Less(t, time.Since(realStart), 10*time.Second)
}

// TestStalledReaderIsDroppedAtTheWriteDeadline: a test that stops reading
// is a client that stops reading; sseview's write deadline drops it, on
// the fake clock.
func TestStalledReaderIsDroppedAtTheWriteDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ended := make(chan time.Duration, 1)
		start := time.Now()
		big := sseview.Text{Data: strings.Repeat("x", 64<<10)}
		view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
			return func(yield func(sseview.Event, error) bool) {
				defer func() { ended <- time.Since(start) }()
				for yield(big, nil) {
				}
			}
		})
		h := &sseview.Handler{View: view, WriteTimeout: 30 * time.Second, KeepAlive: -1, Logger: quiet}
		s := sseviewtest.OpenT(t, h, httptest.NewRequest(http.MethodGet, "/", nil))
		ev, err := s.Next()
		require.NoError(t, err)
		require.Equal(t, big.Data, ev.Data)
		select {
		case at := <-ended:
			// At WriteTimeout, or at most a tick of the stream's timer (a
			// quarter of it here) later.
			assert.GreaterOrEqual(t, at, 30*time.Second)
			assert.LessOrEqual(t, at, 37500*time.Millisecond)
		case <-time.After(time.Hour):
			t.Fatal("the stalled stream was never dropped")
		}
	})
}

// TestTimeoutIsTheStreamsOwn: a short Timeout fails a read at once on the
// fake clock, and the stream stays usable.
func TestTimeoutIsTheStreamsOwn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
			return func(yield func(sseview.Event, error) bool) {
				time.Sleep(5 * time.Second) // fake time: the view's own pace
				yield(sseview.Text{Data: "late"}, nil)
				<-ctx.Done()
			}
		})
		s := sseviewtest.OpenT(t, sseview.AsView(view), httptest.NewRequest(http.MethodGet, "/", nil))
		s.Timeout = 3 * time.Second
		start := time.Now()
		_, err := s.Next()
		assert.ErrorIs(t, err, sseviewtest.ErrTimeout)
		assert.Equal(t, 3*time.Second, time.Since(start))
		s.Expect(t, sseviewtest.Event{Type: "message", Data: "late"})
		assert.Equal(t, 5*time.Second, time.Since(start))
	})
}
