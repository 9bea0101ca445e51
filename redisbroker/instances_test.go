package redisbroker_test

import (
	"context"
	"iter"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/testutil"
	"github.com/sseview/sseview/redisbroker"
	"github.com/sseview/sseview/redisbroker/internal/redistest"
	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

// room is the view of the README: a subscription returned as it is.
type room struct{ broker sseview.Broker }

func (v room) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
	return v.broker.Subscribe(ctx, "room."+p.Get("room"), sseview.LastEventID(r))
}

// instance is one server process of a deployment: its own broker on the
// shared Redis, its own chi server with the middleware an application has.
type instance struct {
	broker *redisbroker.Broker
	url    string
}

// outageTimeout is the instances' Config.Timeout: how long a Publish
// waits for a Redis that does not answer.
const outageTimeout = time.Second

func startInstance(t *testing.T, srv *redistest.Server) *instance {
	t.Helper()
	b := newBroker(t, srv, redisbroker.Config{Timeout: outageTimeout})
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.CleanPath, middleware.Logger, middleware.Recoverer)
	r.Get("/rooms/{room}", sseview.AsView(room{broker: b}))
	return &instance{broker: b, url: testutil.Serve(t, r).URL}
}

func (in *instance) open(t *testing.T, roomName, lastEventID string) *sseviewtest.Stream {
	t.Helper()
	return dial(t, in.url+"/rooms/"+roomName, lastEventID)
}

// dial opens the event stream at url, resuming after lastEventID unless it
// is empty, and closes it when the test ends.
func dial(t *testing.T, url, lastEventID string) *sseviewtest.Stream {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, url, nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	return sseviewtest.DialT(t, nil, req)
}

func (in *instance) publish(t *testing.T, roomName, data string) string {
	t.Helper()
	id, err := in.broker.Publish(t.Context(), "room."+roomName, sseview.Text{Type: "msg", Data: data})
	require.NoError(t, err)
	return id
}

// expect reads the next events of s and checks they are want, in order.
func expect(t *testing.T, s *sseviewtest.Stream, want ...string) {
	t.Helper()
	for _, id := range want {
		ev, err := s.Next()
		require.NoError(t, err)
		require.Equal(t, id, ev.ID, "event %s", ev)
		assert.Equal(t, "msg", ev.Type)
	}
}

func TestFanOutAcrossInstances(t *testing.T) {
	srv := redistest.Start(t)
	a, b := startInstance(t, srv), startInstance(t, srv)
	marker := a.publish(t, "1", "marker")
	clients := []*sseviewtest.Stream{a.open(t, "1", marker), b.open(t, "1", marker), b.open(t, "1", marker)}
	other := b.open(t, "2", a.publish(t, "2", "marker"))
	var ids []string
	for i := range 6 {
		from := a
		if i%2 == 1 {
			from = b
		}
		ids = append(ids, from.publish(t, "1", strconv.Itoa(i)))
	}
	for _, c := range clients {
		expect(t, c, ids...)
	}
	otherID := a.publish(t, "2", "only room 2")
	expect(t, other, otherID) // and not one of room 1's events
}

func TestResumeOnAnotherInstance(t *testing.T) {
	srv := redistest.Start(t)
	a, b := startInstance(t, srv), startInstance(t, srv)
	marker := a.publish(t, "1", "marker")
	onA := a.open(t, "1", marker)
	var ids []string
	for i := range 3 {
		ids = append(ids, a.publish(t, "1", strconv.Itoa(i)))
	}
	expect(t, onA, ids...)
	require.NoError(t, onA.Close())

	var missed []string
	for i := range 3 {
		missed = append(missed, a.publish(t, "1", "missed "+strconv.Itoa(i)))
	}
	onB := b.open(t, "1", ids[len(ids)-1])
	expect(t, onB, missed...)
	live := a.publish(t, "1", "live")
	expect(t, onB, live) // the next event is the live one: nothing repeated
}

// TestRedisOutages freezes, kills and stops the redis-server under two
// instances with connected clients. Each time: Publish fails within the
// Timeout with ErrNotConnected, the clients stay connected, and once Redis
// is back every event reaches every client once, in order, with the
// history kept by Redis's append-only file.
func TestRedisOutages(t *testing.T) {
	srv := redistest.Start(t)
	a, b := startInstance(t, srv), startInstance(t, srv)
	marker := a.publish(t, "1", "marker")
	onA, onB := a.open(t, "1", marker), b.open(t, "1", marker)
	before := a.publish(t, "1", "before")
	expect(t, onA, before)
	expect(t, onB, before)

	failsFast := func(t *testing.T, ev sseview.Event, refused bool) {
		t.Helper()
		start := time.Now()
		_, err := a.broker.Publish(t.Context(), "room.1", ev)
		took := time.Since(start)
		require.ErrorIs(t, err, redisbroker.ErrNotConnected, "publishing while Redis is down fails rather than hangs")
		assert.Less(t, took, outageTimeout+time.Second, "it fails within the Timeout")
		if refused {
			assert.Less(t, took, outageTimeout/5, "with nothing listening it fails at once")
		}
		// A subscription that needs Redis to start fails too.
		for _, last := range []string{"", before} {
			for ev, err := range a.broker.Subscribe(t.Context(), "room.new"+strconv.Itoa(len(last)), last) {
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
			id, err := b.broker.Publish(t.Context(), "room.1", keyed)
			require.NoError(t, err)
			after := []string{id}
			for i := range 4 {
				from := a
				if i%2 == 1 {
					from = b
				}
				after = append(after, from.publish(t, "1", outage.name+" after "+strconv.Itoa(i)))
			}
			expect(t, onA, after...)
			expect(t, onB, after...)
			all = append(all, after...)
		})
	}
	// The whole history survived the restarts: a client resuming from
	// before them gets every event once.
	again := b.open(t, "1", before)
	expect(t, again, all[1:]...)
	live := a.publish(t, "1", "live")
	expect(t, again, live)
	expect(t, onA, live)
	expect(t, onB, live)
}

func TestHistoryEvictionSendsReset(t *testing.T) {
	srv := redistest.Start(t)
	small := newBroker(t, srv, redisbroker.Config{MaxEvents: 2})
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.CleanPath, middleware.Logger, middleware.Recoverer)
	r.Get("/rooms/{room}", sseview.AsView(room{broker: small}))
	url := testutil.Serve(t, r).URL

	first, err := small.Publish(t.Context(), "room.1", sseview.Text{Type: "msg", Data: "0"})
	require.NoError(t, err)
	var newest string
	for i := range 3 {
		newest, err = small.Publish(t.Context(), "room.1", sseview.Text{Type: "msg", Data: strconv.Itoa(i + 1)})
		require.NoError(t, err)
	}
	c := dial(t, url+"/rooms/1", first)
	c.Expect(t, sseviewtest.Event{Type: sseview.ResetEventType, Data: "", ID: newest})
	live, err := small.Publish(t.Context(), "room.1", sseview.Text{Type: "msg", Data: "live"})
	require.NoError(t, err)
	expect(t, c, live)
}

// TestOutageIsProbedOnce checks that the live readers of many topics wait
// for one probe of Redis while it is down, rather than each redialling it
// (and logging it) on its own, and all read on once it is back.
func TestOutageIsProbedOnce(t *testing.T) {
	const topics = 20
	srv := redistest.Start(t)
	logs := newLogCounter()
	b := newBroker(t, srv, redisbroker.Config{Logger: slog.New(logs)})
	subs := make([]*sub, topics)
	for i := range subs {
		topic := "t" + strconv.Itoa(i)
		subs[i] = subscribe(t, b, topic, publish(t, b, topic, "marker"))
		id := publish(t, b, topic, "before")
		require.Equal(t, id, subs[i].next().ID)
	}
	srv.Kill()
	srv.Up()
	for i, s := range subs {
		id := publish(t, b, "t"+strconv.Itoa(i), "after")
		assert.Equal(t, id, s.next().ID)
	}
	assert.Equal(t, 1, logs.count(slog.LevelWarn), "one warning for the outage, not one per topic")
}
