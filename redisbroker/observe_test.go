package redisbroker_test

import (
	"testing"

	"github.com/sseview/sseview/internal/brokercheck"
	"github.com/sseview/sseview/redisbroker"
	"github.com/sseview/sseview/redisbroker/internal/redistest"
	"github.com/sseview/sseview/sseview"
)

// TestObserver runs the observer test both broker modules share. A string
// not of the broker's id syntax is unknown: a subscription from it resets.
func TestObserver(t *testing.T) {
	brokercheck.Observer(t, func(t *testing.T, obs sseview.BrokerObserver) sseview.Broker {
		return newBroker(t, redistest.Start(t), redisbroker.Config{QueueLen: 1, Observer: obs})
	}, "not-an-id", " (Redis's, on this host, in whole milliseconds)")
}
