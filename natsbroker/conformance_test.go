package natsbroker_test

// This file runs the shared conformance suite sseview/brokertest, the
// behaviour every sseview.Broker must have, against the NATS broker.

import (
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/natsbroker"
	"github.com/sseview/sseview/natsbroker/internal/natstest"
	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/brokertest"
)

// TestConformance runs the shared sseview.Broker suite: the same behaviour
// tests as the in-memory broker's. Each broker the suite asks for gets its
// own stream (its limits are the stream's) on one NATS server.
func TestConformance(t *testing.T) {
	srv := natstest.Start(t)
	var streams atomic.Int64
	brokertest.Run(t, func(t *testing.T, l brokertest.Limits) sseview.Broker {
		n := strconv.FormatInt(streams.Add(1), 10)
		cfg := natsbroker.Config{Stream: "CONFORMANCE" + n, SubjectPrefix: "conformance" + n, MaxEvents: l.MaxEvents, MaxAge: l.MaxAge, QueueLen: l.QueueLen, Logger: quiet}
		b, err := natsbroker.New(t.Context(), srv.Connect(t), cfg)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, b.Close()) })
		return b
	})
}
