package natsbroker_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/brokercheck"
	"github.com/sseview/sseview/natsbroker"
	"github.com/sseview/sseview/natsbroker/internal/natstest"
	"github.com/sseview/sseview/sseview"
)

// TestSubscribeWithoutIDStartsWithTheNextEvent runs the check both broker
// modules share.
func TestSubscribeWithoutIDStartsWithTheNextEvent(t *testing.T) {
	brokercheck.SubscribeWithoutIDStartsWithTheNextEvent(t, newBroker(t, natstest.Start(t), natsbroker.Config{}))
}

func TestResume(t *testing.T) {
	b := newBroker(t, natstest.Start(t), natsbroker.Config{})
	var ids, data []string
	for i := range 5 {
		ids = append(ids, brokercheck.Publish(t, b, "r", strconv.Itoa(i)))
		data = append(data, strconv.Itoa(i))
		brokercheck.Publish(t, b, "other", "x")
	}
	otherNewest := brokercheck.Publish(t, b, "other", "newest")
	for i, last := range ids {
		t.Run("after "+last, func(t *testing.T) {
			s := brokercheck.Subscribe(t, b, "r", last)
			for j := i + 1; j < len(ids); j++ {
				ev := s.Next()
				assert.Equal(t, ids[j], ev.ID)
				assert.Equal(t, data[j], ev.Data)
			}
			live := brokercheck.Publish(t, b, "r", "live "+last)
			ids = append(ids, live)
			data = append(data, "live "+last)
			assert.Equal(t, live, s.Next().ID)
		})
	}
	t.Run("kept id of another topic", func(t *testing.T) {
		// Nothing after it aged out, and the topic has fewer events than
		// MaxEvents, so none was removed by count: no reset.
		s := brokercheck.Subscribe(t, b, "r", otherNewest)
		for _, id := range ids[5:] { // the live events of the subtests above
			assert.Equal(t, id, s.Next().ID)
		}
		live := brokercheck.Publish(t, b, "r", "live")
		ids = append(ids, live)
		assert.Equal(t, live, s.Next().ID)
	})
	t.Run("id of another topic after the newest event", func(t *testing.T) {
		otherNewest := brokercheck.Publish(t, b, "other", "newest")
		// Nothing of the topic can have been lost after it: no reset.
		s := brokercheck.Subscribe(t, b, "r", otherNewest)
		live := brokercheck.Publish(t, b, "r", "live")
		assert.Equal(t, live, s.Next().ID)
	})
}

func TestResetEvent(t *testing.T) {
	srv := natstest.Start(t)
	b := newBroker(t, srv, natsbroker.Config{MaxEvents: 3})
	var ids []string
	for i := range 6 {
		ids = append(ids, brokercheck.Publish(t, b, "h", strconv.Itoa(i)))
		brokercheck.Publish(t, b, "other", "x")
	}
	t.Run("kept id resumes", func(t *testing.T) {
		s := brokercheck.Subscribe(t, b, "h", ids[4])
		assert.Equal(t, ids[5], s.Next().ID)
	})
	newest := ids[len(ids)-1]
	cases := map[string]string{
		"evicted":             ids[1],
		"just before history": ids[2], // kept: ids[3..5]; ids[2] itself is gone
		"malformed":           "abc",
		"leading zero":        "0" + ids[4],
		"zero":                "0",
		"negative":            "-1",
		"future":              "999999",
	}
	// An id of another topic before the topic's newest event is not an id
	// of this topic's history.
	otherID, err := strconv.ParseUint(ids[4], 10, 64)
	require.NoError(t, err)
	cases["other topic's id"] = strconv.FormatUint(otherID+1, 10)
	for name, last := range cases {
		t.Run(name, func(t *testing.T) {
			s := brokercheck.Subscribe(t, b, "h", last)
			reset := s.Next()
			assert.Equal(t, sseview.Text{Type: sseview.ResetEventType, ID: newest}, reset)
			live := brokercheck.Publish(t, b, "h", "after reset")
			assert.Equal(t, live, s.Next().ID)
			newest = live
		})
	}
	t.Run("empty topic", func(t *testing.T) {
		s := brokercheck.Subscribe(t, b, "never", ids[0])
		reset := s.Next()
		assert.Equal(t, sseview.ResetEventType, reset.Type)
		assert.NotEmpty(t, reset.ID)
		live := brokercheck.Publish(t, b, "never", "first")
		assert.Equal(t, live, s.Next().ID)
		// The reset's id is a place to resume from.
		again := brokercheck.Subscribe(t, b, "never", reset.ID)
		assert.Equal(t, live, again.Next().ID)
	})
}

func TestHistoryEvictedByAge(t *testing.T) {
	// The NATS server removes expired events on its own clock, which a test
	// cannot advance: the test polls, bounded, on a ticker.
	const maxAge = 300 * time.Millisecond
	b := newBroker(t, natstest.Start(t), natsbroker.Config{MaxAge: maxAge})
	old := brokercheck.Publish(t, b, "aging", "old")
	tick := time.NewTicker(maxAge / 5)
	defer tick.Stop()
	deadline := time.After(maxAge + wait)
	for {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("event %s still resumable %v after MaxAge %v", old, wait, maxAge)
		}
		fresh := brokercheck.Publish(t, b, "aging", "fresh")
		s := brokercheck.Subscribe(t, b, "aging", old)
		first := s.Next()
		if first.Type != sseview.ResetEventType {
			require.Equal(t, "t", first.Type, "neither a reset nor the replay: %+v", first)
			s.Stop()
			continue
		}
		assert.Equal(t, sseview.Text{Type: sseview.ResetEventType, ID: fresh}, first)
		live := brokercheck.Publish(t, b, "aging", "live")
		assert.Equal(t, live, s.Next().ID)
		return
	}
}
