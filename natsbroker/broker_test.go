package natsbroker_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sseview/sseview/natsbroker"
	"github.com/sseview/sseview/natsbroker/internal/natstest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const wait = 10 * time.Second

// quiet drops the broker's logs: the live feeds' reconnection warnings
// would bury the test output.
var quiet = slog.New(slog.DiscardHandler)

// logCounter counts the records logged at each level.
type logCounter struct {
	mu     sync.Mutex
	counts map[slog.Level]int
}

func (c *logCounter) Enabled(context.Context, slog.Level) bool { return true }

func (c *logCounter) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[r.Level]++
	return nil
}

func (c *logCounter) WithAttrs([]slog.Attr) slog.Handler { return c }

func (c *logCounter) WithGroup(string) slog.Handler { return c }

func (c *logCounter) count(l slog.Level) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[l]
}

func newBroker(t *testing.T, srv *natstest.Server, cfg natsbroker.Config) *natsbroker.Broker {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	nc := srv.Connect(t)
	b, err := natsbroker.New(t.Context(), nc, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return b
}

func TestNewValidates(t *testing.T) {
	srv := natstest.Start(t)
	nc := srv.Connect(t)
	_, err := natsbroker.New(t.Context(), nil, natsbroker.Config{})
	assert.ErrorContains(t, err, "natsbroker: ")
	_, err = natsbroker.New(t.Context(), nc, natsbroker.Config{SubjectPrefix: "a.*"})
	assert.ErrorContains(t, err, "natsbroker: Config.SubjectPrefix")
	_, err = natsbroker.New(t.Context(), nc, natsbroker.Config{PublishTimeout: -time.Second})
	assert.ErrorContains(t, err, "natsbroker: Config.PublishTimeout")
	_, err = natsbroker.New(t.Context(), nc, natsbroker.Config{DuplicateWindow: -time.Second})
	assert.ErrorContains(t, err, "natsbroker: Config.DuplicateWindow")
	_, err = natsbroker.New(t.Context(), nc, natsbroker.Config{MaxAge: time.Minute, DuplicateWindow: time.Hour})
	assert.ErrorContains(t, err, "natsbroker: stream ", "a duplicate window longer than MaxAge")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = natsbroker.New(ctx, nc, natsbroker.Config{})
	assert.True(t, errors.Is(err, context.Canceled), "%v", err)
}

func streamInfo(t *testing.T, nc *nats.Conn) *jetstream.StreamInfo {
	t.Helper()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	st, err := js.Stream(t.Context(), "SSEVIEW")
	require.NoError(t, err)
	info, err := st.Info(t.Context())
	require.NoError(t, err)
	return info
}

func TestConfigSetsTheStream(t *testing.T) {
	srv := natstest.Start(t)
	cases := []struct {
		name      string
		cfg       natsbroker.Config
		maxPerSub int64
		maxAge    time.Duration
		maxCons   int
		storage   jetstream.StorageType
		dupes     time.Duration
	}{
		{"defaults", natsbroker.Config{}, 1000, time.Hour, 10_000, jetstream.FileStorage, 2 * time.Minute},
		{"set", natsbroker.Config{MaxEvents: 5, MaxAge: 2 * time.Minute, MaxConsumers: 50, MemoryStorage: true, DuplicateWindow: 30 * time.Second}, 5, 2 * time.Minute, 50, jetstream.MemoryStorage, 30 * time.Second},
		{"no limits", natsbroker.Config{MaxEvents: -1, MaxAge: -1, MaxConsumers: -1}, -1, 0, -1, jetstream.FileStorage, 2 * time.Minute},
		{"a MaxAge shorter than the default duplicate window", natsbroker.Config{MaxAge: time.Second}, 1000, time.Second, 10_000, jetstream.FileStorage, time.Second},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Stream = "CFG" + strconv.Itoa(i)
			c.cfg.SubjectPrefix = "cfg" + strconv.Itoa(i)
			newBroker(t, srv, c.cfg)
			js, err := jetstream.New(srv.Connect(t))
			require.NoError(t, err)
			st, err := js.Stream(t.Context(), c.cfg.Stream)
			require.NoError(t, err)
			got := st.CachedInfo().Config
			assert.Equal(t, []string{c.cfg.SubjectPrefix + ".>"}, got.Subjects)
			assert.Equal(t, c.maxPerSub, got.MaxMsgsPerSubject)
			assert.Equal(t, c.maxAge, got.MaxAge)
			assert.Equal(t, c.maxCons, got.MaxConsumers)
			assert.Equal(t, c.storage, got.Storage)
			assert.Equal(t, c.dupes, got.Duplicates)
		})
	}
}
