package natsbroker_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/brokercheck"
	"github.com/sseview/sseview/natsbroker"
	"github.com/sseview/sseview/natsbroker/internal/natstest"
	"github.com/sseview/sseview/sseview"
)

// instance is one server process of a deployment (see
// brokercheck.Instance) with its own NATS connection, which tells of its
// disconnections and reconnections.
type instance struct {
	*brokercheck.Instance
	reconnect  chan struct{} // a token per reconnection to NATS
	disconnect chan struct{} // a token per disconnection
}

func startInstance(t *testing.T, srv *natstest.Server) *instance {
	t.Helper()
	in := &instance{reconnect: make(chan struct{}, 16), disconnect: make(chan struct{}, 16)}
	nc := srv.Connect(t,
		nats.ReconnectHandler(func(*nats.Conn) { in.reconnect <- struct{}{} }),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { in.disconnect <- struct{}{} }))
	b, err := natsbroker.New(t.Context(), nc, natsbroker.Config{Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	in.Instance = brokercheck.Serve(t, b)
	return in
}

// TestFanOutAcrossInstances runs the check both broker modules share with
// two brokers on one NATS server.
func TestFanOutAcrossInstances(t *testing.T) {
	srv := natstest.Start(t)
	brokercheck.FanOutAcrossInstances(t, func(t *testing.T) sseview.Broker {
		return newBroker(t, srv, natsbroker.Config{})
	})
}

// TestResumeOnAnotherInstance runs the check both broker modules share
// with two brokers on one NATS server.
func TestResumeOnAnotherInstance(t *testing.T) {
	srv := natstest.Start(t)
	brokercheck.ResumeOnAnotherInstance(t, func(t *testing.T) sseview.Broker {
		return newBroker(t, srv, natsbroker.Config{})
	})
}

func TestNATSRestartWhileClientsAreConnected(t *testing.T) {
	srv := natstest.Start(t)
	a, b := startInstance(t, srv), startInstance(t, srv)
	marker := a.Publish(t, "1", "marker")
	onA, onB := a.Open(t, "1", marker), b.Open(t, "1", marker)
	before := a.Publish(t, "1", "before")
	brokercheck.Expect(t, onA, before)
	brokercheck.Expect(t, onB, before)

	srv.Shutdown()
	for _, in := range []*instance{a, b} {
		receive(t, in.disconnect, "disconnection from NATS")
	}
	_, err := a.Broker.Publish(t.Context(), "room.1", sseview.Text{Data: "while down"})
	require.ErrorIs(t, err, natsbroker.ErrNotConnected, "publishing while NATS is down fails rather than hangs")
	for _, last := range []string{"", before} {
		// A subscription that needs NATS to start fails at once too.
		for ev, err := range a.Broker.Subscribe(t.Context(), "room.new", last) {
			assert.Nil(t, ev)
			require.ErrorIs(t, err, natsbroker.ErrNotConnected)
		}
	}
	srv.Up()
	for _, in := range []*instance{a, b} {
		receive(t, in.reconnect, "reconnection to NATS")
	}

	// Both instances' live feeds recover: every event published after the
	// restart reaches every client, once, in order.
	var after []string
	for i := range 4 {
		from := a
		if i%2 == 1 {
			from = b
		}
		after = append(after, from.Publish(t, "1", "after "+strconv.Itoa(i)))
	}
	brokercheck.Expect(t, onA, after...)
	brokercheck.Expect(t, onB, after...)

	// A client that then reconnects (to the other instance) with its
	// Last-Event-ID gets exactly what it missed.
	last := after[len(after)-1]
	require.NoError(t, onA.Close())
	missed := b.Publish(t, "1", "missed")
	brokercheck.Expect(t, onB, missed)
	again := b.Open(t, "1", last)
	brokercheck.Expect(t, again, missed)
	live := a.Publish(t, "1", "live")
	brokercheck.Expect(t, again, live)
	brokercheck.Expect(t, onB, live)
}

// TestHistoryEvictionSendsReset runs the check both broker modules share.
func TestHistoryEvictionSendsReset(t *testing.T) {
	srv := natstest.Start(t)
	brokercheck.HistoryEvictionSendsReset(t, func(t *testing.T, maxEvents int) sseview.Broker {
		return newBroker(t, srv, natsbroker.Config{MaxEvents: maxEvents})
	})
}

func receive(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(wait):
		t.Fatalf("no %s in %v", what, wait)
	}
}
