package redisbroker_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/brokercheck"
	"github.com/sseview/sseview/redisbroker"
	"github.com/sseview/sseview/redisbroker/internal/redistest"
	"github.com/sseview/sseview/sseview"
)

// BenchmarkFanOut runs the shared fan-out benchmark (see
// brokercheck.FanOut) on a redis-server that fsyncs its append-only file
// every second (as the README advises).
func BenchmarkFanOut(b *testing.B) {
	brokercheck.FanOut(b, func(b *testing.B, queueLen int) sseview.Broker {
		srv := redistest.Start(b, "--appendfsync", "everysec")
		broker, err := redisbroker.Open(b.Context(), srv.URL(), redisbroker.Config{QueueLen: queueLen, Logger: quiet})
		require.NoError(b, err)
		b.Cleanup(func() { _ = broker.Close() })
		return broker
	})
}

// BenchmarkCatchUp runs the shared catch-up benchmark (see
// brokercheck.CatchUp).
func BenchmarkCatchUp(b *testing.B) {
	brokercheck.CatchUp(b, func(b *testing.B, maxEvents int) sseview.Broker {
		srv := redistest.Start(b)
		broker, err := redisbroker.Open(b.Context(), srv.URL(), redisbroker.Config{MaxEvents: maxEvents, Logger: quiet})
		require.NoError(b, err)
		b.Cleanup(func() { _ = broker.Close() })
		return broker
	})
}
