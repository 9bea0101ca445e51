package redisbroker_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/redisbroker"
	"github.com/sseview/sseview/redisbroker/internal/redistest"
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
