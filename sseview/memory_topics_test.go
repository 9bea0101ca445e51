package sseview_test

import (
	"context"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
)

// The tests of topic expiry run on a synctest bubble's clock: time.Sleep
// there moves the fake clock, and synctest.Wait lets the expiry timers
// that fired finish.

func TestMemoryBrokerForgetsIdleTopics(t *testing.T) {
	t.Run("a topic nobody published on, when its last subscriber leaves", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := &sseview.MemoryBroker{}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() {
				defer close(done)
				for range b.Subscribe(ctx, "t", "") {
				}
			}()
			synctest.Wait()
			require.Equal(t, 1, b.SubscriberCount("t"), "subscribed")
			cancel()
			<-done
			assert.Equal(t, 0, b.TopicCount())
		})
	})

	t.Run("a topic whose history aged out, with no subscriber", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := &sseview.MemoryBroker{MaxAge: 200 * time.Millisecond}
			a := mustPublish(t, b, "t", "a")
			mustPublish(t, b, "t", "b")
			mustPublish(t, b, "kept", "c")
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() {
				defer close(done)
				for range b.Subscribe(ctx, "kept", "") {
				}
			}()
			defer func() { cancel(); <-done }()
			synctest.Wait()
			require.Equal(t, 1, b.SubscriberCount("kept"), "subscribed")

			time.Sleep(200 * time.Millisecond) // MaxAge: nothing is older yet
			synctest.Wait()
			require.Equal(t, 2, b.TopicCount(), "a topic was forgotten before its history aged out")
			require.Equal(t, 1, b.KeptCount("kept"))
			// The expiry timer fires an eighth of MaxAge later.
			time.Sleep(25 * time.Millisecond)
			synctest.Wait()
			assert.Equal(t, 1, b.TopicCount(), "topic t forgotten")
			assert.Equal(t, 0, b.KeptCount("kept"), "topic kept's history expired")
			assert.Equal(t, 1, b.SubscriberCount("kept"), "the subscribed topic was forgotten")

			// Event b is gone with the topic: resuming from before it is a
			// reset, even though the topic is new.
			c := mustPublish(t, b, "t", "c")
			next := pullSubscription(t, b, "t", a)
			first, err, _ := next()
			require.NoError(t, err)
			assert.Equal(t, sseview.ResetEventType, first.Type)
			assert.Equal(t, c, first.ID)
		})
	})
}

func TestMemoryBrokerResumeAfterForgottenTopicNeedsNoReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &sseview.MemoryBroker{MaxAge: 200 * time.Millisecond}
		mustPublish(t, b, "t", "a")
		newest := mustPublish(t, b, "t", "b")
		time.Sleep(time.Second) // the bubble's clock
		synctest.Wait()
		require.Equal(t, 0, b.TopicCount(), "topic forgotten")
		c := mustPublish(t, b, "t", "c")
		// The client had everything up to b: nothing it lacks was lost.
		next := pullSubscription(t, b, "t", newest)
		first, err, _ := next()
		require.NoError(t, err)
		assert.Equal(t, sseview.Text{ID: c, Data: "c"}, first)
	})
}

func TestMemoryBrokerForgottenTopicsDoNotResetOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &sseview.MemoryBroker{MaxAge: 200 * time.Millisecond}
		other := "other"
		for i := 0; b.ShareForgottenSlot("quiet", other); i++ {
			other = "other" + strconv.Itoa(i)
		}
		last := mustPublish(t, b, "quiet", "the last of a quiet topic")
		mustPublish(t, b, other, "newer, on another topic")
		time.Sleep(time.Second) // the bubble's clock
		synctest.Wait()
		require.Equal(t, 0, b.TopicCount(), "both topics forgotten")

		// The client of the quiet topic had everything: it gets no reset.
		mustPublish(t, b, "quiet", "after")
		next := pullSubscription(t, b, "quiet", last)
		first, err, _ := next()
		require.NoError(t, err)
		assert.Equal(t, "after", first.Data)
	})
}
