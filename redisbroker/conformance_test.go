package redisbroker_test

// This file runs the shared conformance suite sseview/brokertest, the
// behaviour every sseview.Broker must have, against the Redis broker.

import (
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/redisbroker"
	"github.com/sseview/sseview/redisbroker/internal/redistest"
	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/brokertest"
)

// TestConformance runs the shared sseview.Broker suite: the same behaviour
// tests as the other brokers'. Each broker the suite asks for gets its own
// key prefix (its limits are its own) on one redis-server.
func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	var prefixes atomic.Int64
	brokertest.Run(t, func(t *testing.T, l brokertest.Limits) sseview.Broker {
		cfg := redisbroker.Config{
			KeyPrefix: "conformance" + strconv.FormatInt(prefixes.Add(1), 10) + ":",
			MaxEvents: l.MaxEvents, MaxAge: l.MaxAge, QueueLen: l.QueueLen, Logger: quiet,
		}
		if l.MaxAge == 0 {
			cfg.MaxAge = -1
		}
		b, err := redisbroker.Open(t.Context(), srv.URL(), cfg)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, b.Close()) })
		return b
	})
}
