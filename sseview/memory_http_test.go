package sseview_test

import (
	"context"
	"fmt"
	"iter"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/testutil"
	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/brokertest"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

// room is the view of the Broker docs: one topic per room. When ended is
// set, it receives the ?who= query of each subscription that returns, with
// the error the broker ended it with, if any.
type room struct {
	broker sseview.Broker
	ended  chan<- roomEnd
}

type roomEnd struct {
	who string
	err error
}

func (v room) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
	events := v.broker.Subscribe(ctx, "room."+p.Get("room"), sseview.LastEventID(r))
	if v.ended == nil {
		return events
	}
	who := r.URL.Query().Get("who")
	return func(yield func(sseview.Event, error) bool) {
		var last error
		defer func() { v.ended <- roomEnd{who, last} }()
		for ev, err := range events {
			last = err
			if !yield(ev, err) {
				return
			}
		}
	}
}

func roomRouter(h *sseview.Handler) http.Handler {
	r := chi.NewRouter()
	r.Get("/rooms/{room}", h.ServeHTTP)
	return r
}

func resumeHeader(id string) http.Header {
	return http.Header{"Last-Event-Id": {id}}
}

func TestBrokerOverHTTPResumesAcrossReconnect(t *testing.T) {
	b := &sseview.MemoryBroker{MaxEvents: 10}
	srv := testutil.Serve(t, roomRouter(&sseview.Handler{View: room{broker: b}}))
	url := srv.URL + "/rooms/lobby"
	publish := func(data string) string { return mustPublish(t, b, "room.lobby", data) }

	// Resuming from an anchor gets every later event, however late the
	// subscription goes live.
	anchor := publish("anchor")
	first := dial(t, nil, url, resumeHeader(anchor))
	for i := range 3 {
		id := publish("before " + strconv.Itoa(i))
		first.Expect(t, msg("before "+strconv.Itoa(i), id))
	}
	lastSeen := first.LastEventID()
	require.NoError(t, first.Close())
	pollUntil(t, "the first connection's subscription to end", func() bool { return b.SubscriberCount("room.lobby") == 0 })

	t.Run("reconnecting with Last-Event-ID gets what was missed, then live", func(t *testing.T) {
		var missed []string
		for i := range 3 {
			missed = append(missed, publish("while away "+strconv.Itoa(i)))
		}
		again := dial(t, nil, url, resumeHeader(lastSeen))
		for i, id := range missed {
			again.Expect(t, msg("while away "+strconv.Itoa(i), id))
		}
		live := publish("live")
		again.Expect(t, msg("live", live))
	})

	t.Run("reconnecting after the history moved on gets a reset", func(t *testing.T) {
		var newest string
		for i := range 12 {
			newest = publish("flood " + strconv.Itoa(i))
		}
		again := dial(t, nil, url, resumeHeader(lastSeen))
		again.Expect(t, sseviewtest.Event{Type: sseview.ResetEventType, Data: "", ID: newest})
		live := publish("live after reset")
		again.Expect(t, msg("live after reset", live))
	})

	t.Run("reconnecting to a restarted server gets a reset", func(t *testing.T) {
		restarted := &sseview.MemoryBroker{}
		srv := testutil.Serve(t, roomRouter(&sseview.Handler{View: room{broker: restarted}}))
		again := dial(t, nil, srv.URL+"/rooms/lobby", resumeHeader(lastSeen))
		reset := next(t, again)
		assert.Equal(t, sseview.ResetEventType, reset.Type)
		assert.NotEqual(t, lastSeen, reset.ID)
		live := mustPublish(t, restarted, "room.lobby", "first after restart")
		again.Expect(t, msg("first after restart", live))
	})
}

// smallSendBuffers makes the kernel hold little of what the server writes
// to a client that does not read, so the stall shows after a few events.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

func TestBrokerOverHTTPSlowClientDoesNotDelayOthers(t *testing.T) {
	const fast, events, queueLen = 4, 200, 8
	b := &sseview.MemoryBroker{QueueLen: queueLen}
	ended := make(chan roomEnd, fast+1)
	logs := newLogRecorder()
	h := &sseview.Handler{View: room{broker: b, ended: ended}, WriteTimeout: wait, Logger: logs.logger()}
	srv := httptest.NewUnstartedServer(roomRouter(h))
	srv.Listener = smallSendBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	url := srv.URL + "/rooms/busy"
	anchor := mustPublish(t, b, "room.busy", "anchor")

	// The slow client sends its request and never reads a byte.
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.(*net.TCPConn).SetReadBuffer(4096))
	_, err = fmt.Fprintf(conn, "GET /rooms/busy?who=slow HTTP/1.1\r\nHost: test\r\nLast-Event-ID: %s\r\n\r\n", anchor)
	require.NoError(t, err)

	streams := make([]*sseviewtest.Stream, fast)
	for i := range streams {
		streams[i] = dial(t, nil, url+"?who=fast"+strconv.Itoa(i), resumeHeader(anchor))
	}

	// Lockstep: each event is published once every fast client has the one
	// before, so they never fall behind; the slow one falls behind at once.
	// Publish never waits for it, or this loop would stall.
	data := strings.Repeat("z", 4096)
	for i := range events {
		id, err := b.Publish(t.Context(), "room.busy", sseview.Text{Type: "tick", Data: data + strconv.Itoa(i)})
		require.NoError(t, err)
		for j, s := range streams {
			ev := next(t, s)
			require.Equal(t, id, ev.ID, "fast client %d, event %d", j, i)
			require.Equal(t, data+strconv.Itoa(i), ev.Data, "fast client %d, event %d", j, i)
		}
	}
	// The broker dropped the slow subscription when its queue overflowed,
	// while its handler is still stuck writing (the write timeout is far).
	assert.Equal(t, fast, b.SubscriberCount("room.busy"), "subscriptions still registered")
	select {
	case e := <-ended:
		t.Fatalf("a subscription ended before the slow client went away: %+v", e)
	default:
	}
	conn.Close()
	e := recv(t, ended, "the slow client's handler to return")
	assert.Equal(t, "slow", e.who)
	logs.waitFor(t, "sseview: client dropped")
}

// pollUntil polls cond until it holds, failing after brokertest.Wait: for
// what happens on the far side of a real connection, which a synctest
// bubble cannot hold.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(brokertest.Wait)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		require.True(t, time.Now().Before(deadline), "%s: not within %v", what, brokertest.Wait)
		<-tick.C
	}
}
