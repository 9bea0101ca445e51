package natsbroker_test

import (
	"testing"

	"github.com/sseview/sseview/internal/brokercheck"
	"github.com/sseview/sseview/natsbroker"
	"github.com/sseview/sseview/natsbroker/internal/natstest"
	"github.com/sseview/sseview/sseview"
)

// TestObserver runs the observer test both broker modules share. An id
// from the future is unknown: a subscription from it resets.
func TestObserver(t *testing.T) {
	brokercheck.Observer(t, func(t *testing.T, obs sseview.BrokerObserver) sseview.Broker {
		return newBroker(t, natstest.Start(t), natsbroker.Config{QueueLen: 1, Observer: obs})
	}, "999999", " (the NATS server's, on this host)")
}
