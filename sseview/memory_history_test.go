package sseview_test

import (
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
)

// TestMemoryBrokerKeysLastAsLongAsTheirEvent checks the memory broker's
// duplicate window: a key is known while the event published with it is
// kept, by count and by age, and published anew after.
func TestMemoryBrokerKeysLastAsLongAsTheirEvent(t *testing.T) {
	reading := sseview.Keyed{Key: "sensor-1@09:15", Event: sseview.Text{Data: "21.5"}}
	t.Run("by count", func(t *testing.T) {
		b := &sseview.MemoryBroker{MaxEvents: 3}
		first, err := b.Publish(t.Context(), "t", reading)
		require.NoError(t, err)
		for i := range 2 {
			mustPublish(t, b, "t", strconv.Itoa(i))
			again, err := b.Publish(t.Context(), "t", reading)
			require.NoError(t, err)
			require.Equal(t, first, again, "a repeat while the first copy is kept")
		}
		mustPublish(t, b, "t", "evicts the first copy")
		again, err := b.Publish(t.Context(), "t", reading)
		require.NoError(t, err)
		assert.NotEqual(t, first, again, "a repeat once the first copy left the history")
	})
	t.Run("by age", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := &sseview.MemoryBroker{MaxAge: time.Minute}
			first, err := b.Publish(t.Context(), "t", reading)
			require.NoError(t, err)
			time.Sleep(59 * time.Second) // the bubble's clock
			again, err := b.Publish(t.Context(), "t", reading)
			require.NoError(t, err)
			require.Equal(t, first, again, "a repeat while the first copy is kept")
			time.Sleep(2 * time.Second)
			again, err = b.Publish(t.Context(), "t", reading)
			require.NoError(t, err)
			assert.NotEqual(t, first, again, "a repeat once the first copy aged out")
		})
	})
}

func TestMemoryBrokerNoAgeLimitKeepsTheTopic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &sseview.MemoryBroker{MaxAge: -1, MaxEvents: 2}
		for i := range 3 {
			mustPublish(t, b, "t", strconv.Itoa(i))
		}
		time.Sleep(100 * time.Hour) // the bubble's clock
		synctest.Wait()
		assert.Equal(t, 2, b.KeptCount("t"))
		assert.Equal(t, 1, b.TopicCount())
	})
}
