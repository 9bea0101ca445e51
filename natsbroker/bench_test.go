package natsbroker_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/brokercheck"
	"github.com/sseview/sseview/natsbroker"
	"github.com/sseview/sseview/natsbroker/internal/natstest"
	"github.com/sseview/sseview/sseview"
)

// BenchmarkFanOut runs the shared fan-out benchmark (see
// brokercheck.FanOut) on a stream in memory storage.
func BenchmarkFanOut(b *testing.B) {
	brokercheck.FanOut(b, func(b *testing.B, queueLen int) sseview.Broker {
		srv := natstest.Start(b)
		broker, err := natsbroker.New(b.Context(), srv.Connect(b), natsbroker.Config{MemoryStorage: true, QueueLen: queueLen})
		require.NoError(b, err)
		b.Cleanup(func() { _ = broker.Close() })
		return broker
	})
}

// BenchmarkCatchUp runs the shared catch-up benchmark (see
// brokercheck.CatchUp).
func BenchmarkCatchUp(b *testing.B) {
	brokercheck.CatchUp(b, func(b *testing.B, maxEvents int) sseview.Broker {
		srv := natstest.Start(b)
		broker, err := natsbroker.New(b.Context(), srv.Connect(b), natsbroker.Config{MaxEvents: maxEvents})
		require.NoError(b, err)
		b.Cleanup(func() { _ = broker.Close() })
		return broker
	})
}
