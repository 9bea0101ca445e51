package redisbroker_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/redisbroker"
	"github.com/sseview/sseview/redisbroker/internal/redistest"
	"github.com/sseview/sseview/sseview"
)

const wait = 10 * time.Second

// quiet drops the broker's logs: the live readers' reconnection warnings
// would bury the test output.
var quiet = slog.New(slog.DiscardHandler)

// logCounter counts the records logged at each level.
type logCounter struct {
	mu     sync.Mutex
	counts map[slog.Level]int
}

func newLogCounter() *logCounter { return &logCounter{counts: map[slog.Level]int{}} }

func (c *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCounter) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[r.Level]++
	return nil
}
func (c *logCounter) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCounter) WithGroup(string) slog.Handler      { return c }
func (c *logCounter) count(l slog.Level) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[l]
}

func newBroker(t *testing.T, srv *redistest.Server, cfg redisbroker.Config) *redisbroker.Broker {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	b, err := redisbroker.Open(t.Context(), srv.URL(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return b
}

// client is a plain Redis client of the test's own, to look at and change
// what the broker stored.
func client(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// sub runs a subscription on its own goroutine and hands each element over
// unbuffered, so a test that stops reading makes the subscriber slow.
type sub struct {
	t      *testing.T
	out    chan result
	cancel context.CancelFunc
	done   chan struct{}
}

type result struct {
	ev  sseview.Text
	err error
}

func subscribe(t *testing.T, b sseview.Broker, topic, last string) *sub {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	s := &sub{t: t, out: make(chan result), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for ev, err := range b.Subscribe(ctx, topic, last) {
			r := result{err: err}
			if err == nil {
				r.ev, r.err = ev.MarshalEvent()
			}
			select {
			case s.out <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(s.stop)
	return s
}

// stop cancels the subscription and waits until its iterator returned.
func (s *sub) stop() {
	s.cancel()
	<-s.done
}

func (s *sub) next() sseview.Text {
	s.t.Helper()
	r := s.nextResult()
	require.NoError(s.t, r.err)
	return r.ev
}

func (s *sub) nextResult() result {
	s.t.Helper()
	select {
	case r := <-s.out:
		return r
	case <-s.done:
		s.t.Fatal("subscription ended")
	case <-time.After(wait):
		s.t.Fatal("no event in time")
	}
	return result{}
}

func publish(t *testing.T, b sseview.Broker, topic string, data string) string {
	t.Helper()
	id, err := b.Publish(t.Context(), topic, sseview.Text{Type: "t", Data: data})
	require.NoError(t, err)
	return id
}

// waitLive publishes warm-up events until each subscription has one (and
// has read it): from then on each gets every event published.
func waitLive(t *testing.T, b sseview.Broker, topic string, subs ...*sub) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for _, s := range subs {
		for live := false; !live; {
			require.True(t, time.Now().Before(deadline), "no warm-up event in %v", wait)
			_, err := b.Publish(t.Context(), topic, sseview.Text{Type: "warm-up"})
			require.NoError(t, err)
			select {
			case r := <-s.out:
				require.NoError(t, r.err)
				live = true
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	last := publish(t, b, topic, "warm-up done")
	for _, s := range subs {
		for s.next().ID != last {
		}
	}
}

// follow collects the ids of the topic's events after lastEventID until
// the one whose data is last, resuming after ErrSlowSubscriber as a client
// would.
func follow(ctx context.Context, b sseview.Broker, topic, lastEventID, last string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var got []string
	for {
		for ev, err := range b.Subscribe(ctx, topic, lastEventID) {
			if errors.Is(err, sseview.ErrSlowSubscriber) {
				break
			}
			if err != nil {
				return got, err
			}
			text, _ := ev.MarshalEvent()
			got = append(got, text.ID)
			lastEventID = text.ID
			if text.Data == last {
				return got, nil
			}
		}
		if err := ctx.Err(); err != nil {
			return got, err
		}
	}
}
