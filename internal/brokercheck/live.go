package brokercheck

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
)

// SubscribeWithoutIDStartsWithTheNextEvent checks that a subscription with
// no Last-Event-ID, which joins the live feed while events are being
// published, gets every event after the first one it gets, in order.
func SubscribeWithoutIDStartsWithTheNextEvent(t *testing.T, b sseview.Broker) {
	Publish(t, b, "live", "before")
	s := Subscribe(t, b, "live", "")
	// The subscription joins the feed at some point while events are being
	// published; from the first event it gets, it must get every later one.
	stop := make(chan struct{})
	published := make(chan string, 1000)
	go func() {
		defer close(published)
		for i := range 1000 {
			select {
			case <-stop:
				return
			default:
			}
			id, err := b.Publish(t.Context(), "live", sseview.Text{Data: strconv.Itoa(i)})
			if !assert.NoError(t, err) {
				return
			}
			published <- id
		}
	}()
	first := s.Next()
	close(stop)
	var ids []string
	for id := range published {
		ids = append(ids, id)
	}
	i := 0
	for i < len(ids) && ids[i] != first.ID {
		i++
	}
	require.Less(t, i, len(ids), "the first event received was published")
	for _, id := range ids[i+1:] {
		assert.Equal(t, id, s.Next().ID)
	}
}
