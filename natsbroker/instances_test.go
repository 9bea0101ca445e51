package natsbroker_test

import (
	"context"
	"iter"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/testutil"
	"github.com/sseview/sseview/natsbroker"
	"github.com/sseview/sseview/natsbroker/internal/natstest"
	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

// room is the view of the issue: a subscription returned as it is.
type room struct{ broker sseview.Broker }

func (v room) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
	return v.broker.Subscribe(ctx, "room."+p.Get("room"), sseview.LastEventID(r))
}

// instance is one server process of a deployment: its own NATS connection,
// its own broker, its own chi server.
type instance struct {
	broker     *natsbroker.Broker
	url        string
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
	in.broker = b
	r := chi.NewRouter()
	r.Get("/rooms/{room}", sseview.AsView(room{broker: b}))
	in.url = testutil.Serve(t, r).URL
	return in
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
	srv := natstest.Start(t)
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
	srv := natstest.Start(t)
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

func TestNATSRestartWhileClientsAreConnected(t *testing.T) {
	srv := natstest.Start(t)
	a, b := startInstance(t, srv), startInstance(t, srv)
	marker := a.publish(t, "1", "marker")
	onA, onB := a.open(t, "1", marker), b.open(t, "1", marker)
	before := a.publish(t, "1", "before")
	expect(t, onA, before)
	expect(t, onB, before)

	srv.Shutdown()
	for _, in := range []*instance{a, b} {
		receive(t, in.disconnect, "disconnection from NATS")
	}
	_, err := a.broker.Publish(t.Context(), "room.1", sseview.Text{Data: "while down"})
	require.ErrorIs(t, err, natsbroker.ErrNotConnected, "publishing while NATS is down fails rather than hangs")
	for _, last := range []string{"", before} {
		// A subscription that needs NATS to start fails at once too.
		for ev, err := range a.broker.Subscribe(t.Context(), "room.new", last) {
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
		after = append(after, from.publish(t, "1", "after "+strconv.Itoa(i)))
	}
	expect(t, onA, after...)
	expect(t, onB, after...)

	// A client that then reconnects (to the other instance) with its
	// Last-Event-ID gets exactly what it missed.
	last := after[len(after)-1]
	require.NoError(t, onA.Close())
	missed := b.publish(t, "1", "missed")
	expect(t, onB, missed)
	again := b.open(t, "1", last)
	expect(t, again, missed)
	live := a.publish(t, "1", "live")
	expect(t, again, live)
	expect(t, onB, live)
}

func TestHistoryEvictionSendsReset(t *testing.T) {
	srv := natstest.Start(t)
	nc := srv.Connect(t)
	small, err := natsbroker.New(t.Context(), nc, natsbroker.Config{MaxEvents: 2, Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, small.Close()) })
	r := chi.NewRouter()
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

func receive(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(wait):
		t.Fatalf("no %s in %v", what, wait)
	}
}
