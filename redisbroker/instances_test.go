package redisbroker_test

import (
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/brokercheck"
	"github.com/sseview/sseview/redisbroker"
	"github.com/sseview/sseview/redisbroker/internal/redistest"
	"github.com/sseview/sseview/sseview"
)

// outageTimeout is the instances' Config.Timeout: how long a Publish
// waits for a Redis that does not answer.
const outageTimeout = time.Second

// startInstance starts one server process of a deployment (see
// brokercheck.Instance): its own broker on the shared Redis.
func startInstance(t *testing.T, srv *redistest.Server) *brokercheck.Instance {
	t.Helper()
	return brokercheck.Serve(t, newBroker(t, srv, redisbroker.Config{Timeout: outageTimeout}))
}

// TestFanOutAcrossInstances runs the check both broker modules share with
// two brokers on one Redis.
func TestFanOutAcrossInstances(t *testing.T) {
	srv := redistest.Start(t)
	brokercheck.FanOutAcrossInstances(t, func(t *testing.T) sseview.Broker {
		return newBroker(t, srv, redisbroker.Config{Timeout: outageTimeout})
	})
}

// TestResumeOnAnotherInstance runs the check both broker modules share
// with two brokers on one Redis.
func TestResumeOnAnotherInstance(t *testing.T) {
	srv := redistest.Start(t)
	brokercheck.ResumeOnAnotherInstance(t, func(t *testing.T) sseview.Broker {
		return newBroker(t, srv, redisbroker.Config{Timeout: outageTimeout})
	})
}

// TestRedisOutages freezes, kills and stops the redis-server under two
// instances with connected clients. Each time: Publish fails within the
// Timeout with ErrNotConnected, the clients stay connected, and once Redis
// is back every event reaches every client once, in order, with the
// history kept by Redis's append-only file.
func TestRedisOutages(t *testing.T) {
	srv := redistest.Start(t)
	a, b := startInstance(t, srv), startInstance(t, srv)
	marker := a.Publish(t, "1", "marker")
	onA, onB := a.Open(t, "1", marker), b.Open(t, "1", marker)
	before := a.Publish(t, "1", "before")
	brokercheck.Expect(t, onA, before)
	brokercheck.Expect(t, onB, before)

	failsFast := func(t *testing.T, ev sseview.Event, refused bool) {
		t.Helper()
		start := time.Now()
		_, err := a.Broker.Publish(t.Context(), "room.1", ev)
		took := time.Since(start)
		require.ErrorIs(t, err, redisbroker.ErrNotConnected, "publishing while Redis is down fails rather than hangs")
		assert.Less(t, took, outageTimeout+time.Second, "it fails within the Timeout")
		if refused {
			assert.Less(t, took, outageTimeout/5, "with nothing listening it fails at once")
		}
		// A subscription that needs Redis to start fails too.
		for _, last := range []string{"", before} {
			for ev, err := range a.Broker.Subscribe(t.Context(), "room.new"+strconv.Itoa(len(last)), last) {
				assert.Nil(t, ev)
				require.ErrorIs(t, err, redisbroker.ErrNotConnected)
			}
		}
	}
	all := []string{before}
	for _, outage := range []struct {
		name       string
		down, back func()
		refused    bool // connections are refused while it is down
	}{
		{"SIGSTOP", srv.Pause, srv.Resume, false},
		{"kill -9", srv.Kill, srv.Up, true},
		{"SIGTERM", srv.Stop, srv.Up, true},
	} {
		t.Run(outage.name, func(t *testing.T) {
			outage.down()
			// A Keyed event may or may not be stored when its Publish
			// fails; retrying it once Redis is back stores it once.
			keyed := sseview.Keyed{Key: "during-" + strings.ReplaceAll(outage.name, " ", "_"), Event: sseview.Text{Type: "msg", Data: "keyed"}}
			failsFast(t, keyed, outage.refused)
			outage.back()
			id, err := b.Broker.Publish(t.Context(), "room.1", keyed)
			require.NoError(t, err)
			after := []string{id}
			for i := range 4 {
				from := a
				if i%2 == 1 {
					from = b
				}
				after = append(after, from.Publish(t, "1", outage.name+" after "+strconv.Itoa(i)))
			}
			brokercheck.Expect(t, onA, after...)
			brokercheck.Expect(t, onB, after...)
			all = append(all, after...)
		})
	}
	// The whole history survived the restarts: a client resuming from
	// before them gets every event once.
	again := b.Open(t, "1", before)
	brokercheck.Expect(t, again, all[1:]...)
	live := a.Publish(t, "1", "live")
	brokercheck.Expect(t, again, live)
	brokercheck.Expect(t, onA, live)
	brokercheck.Expect(t, onB, live)
}

// TestHistoryEvictionSendsReset runs the check both broker modules share.
func TestHistoryEvictionSendsReset(t *testing.T) {
	srv := redistest.Start(t)
	brokercheck.HistoryEvictionSendsReset(t, func(t *testing.T, maxEvents int) sseview.Broker {
		return newBroker(t, srv, redisbroker.Config{MaxEvents: maxEvents})
	})
}

// TestOutageIsProbedOnce checks that the live readers of many topics wait
// for one probe of Redis while it is down, rather than each redialling it
// (and logging it) on its own, and all read on once it is back.
func TestOutageIsProbedOnce(t *testing.T) {
	const topics = 20
	srv := redistest.Start(t)
	logs := newLogCounter()
	b := newBroker(t, srv, redisbroker.Config{Logger: slog.New(logs)})
	subs := make([]*brokercheck.Subscription, topics)
	for i := range subs {
		topic := "t" + strconv.Itoa(i)
		subs[i] = brokercheck.Subscribe(t, b, topic, brokercheck.Publish(t, b, topic, "marker"))
		id := brokercheck.Publish(t, b, topic, "before")
		require.Equal(t, id, subs[i].Next().ID)
	}
	srv.Kill()
	srv.Up()
	for i, s := range subs {
		id := brokercheck.Publish(t, b, "t"+strconv.Itoa(i), "after")
		assert.Equal(t, id, s.Next().ID)
	}
	assert.Equal(t, 1, logs.count(slog.LevelWarn), "one warning for the outage, not one per topic")
}
