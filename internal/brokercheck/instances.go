package brokercheck

import (
	"context"
	"iter"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/testutil"
	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

// room is the view of the README: a subscription returned as it is.
type room struct{ broker sseview.Broker }

func (v room) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
	return v.broker.Subscribe(ctx, "room."+p.Get("room"), sseview.LastEventID(r))
}

// Instance is one server process of a deployment: its own broker, and its
// own chi server, with the middleware an application has, streaming the
// topic "room.{room}" at /rooms/{room}.
type Instance struct {
	Broker sseview.Broker
	URL    string
}

// Serve starts the chi server of an instance around b, and closes it when
// t ends.
func Serve(t *testing.T, b sseview.Broker) *Instance {
	t.Helper()
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.CleanPath, middleware.Logger, middleware.Recoverer)
	r.Get("/rooms/{room}", sseview.AsView(room{broker: b}))
	return &Instance{Broker: b, URL: testutil.Serve(t, r).URL}
}

// Open opens the event stream of the room, resuming after lastEventID
// unless it is empty, and closes it when t ends.
func (in *Instance) Open(t *testing.T, roomName, lastEventID string) *sseviewtest.Stream {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, in.URL+"/rooms/"+roomName, nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	return sseviewtest.DialT(t, nil, req)
}

// Publish publishes an event of type "msg" with data to the room, and
// returns its id.
func (in *Instance) Publish(t *testing.T, roomName, data string) string {
	t.Helper()
	id, err := in.Broker.Publish(t.Context(), "room."+roomName, sseview.Text{Type: "msg", Data: data})
	require.NoError(t, err)
	return id
}

// Expect reads the next events of s and checks they are the "msg" events
// with the ids want, in order.
func Expect(t *testing.T, s *sseviewtest.Stream, want ...string) {
	t.Helper()
	for _, id := range want {
		ev, err := s.Next()
		require.NoError(t, err)
		require.Equal(t, id, ev.ID, "event %s", ev)
		assert.Equal(t, "msg", ev.Type)
	}
}

// FanOutAcrossInstances checks that an event published on either of two
// instances reaches every client of its room on both, in order, and no
// client of another room. newBroker returns a broker of its own on the
// store the instances share (one NATS server, one Redis), and closes it
// when t ends.
func FanOutAcrossInstances(t *testing.T, newBroker func(t *testing.T) sseview.Broker) {
	a, b := Serve(t, newBroker(t)), Serve(t, newBroker(t))
	marker := a.Publish(t, "1", "marker")
	clients := []*sseviewtest.Stream{a.Open(t, "1", marker), b.Open(t, "1", marker), b.Open(t, "1", marker)}
	other := b.Open(t, "2", a.Publish(t, "2", "marker"))
	var ids []string
	for i := range 6 {
		from := a
		if i%2 == 1 {
			from = b
		}
		ids = append(ids, from.Publish(t, "1", strconv.Itoa(i)))
	}
	for _, c := range clients {
		Expect(t, c, ids...)
	}
	otherID := a.Publish(t, "2", "only room 2")
	Expect(t, other, otherID) // and not one of room 1's events
}

// ResumeOnAnotherInstance checks that a client that left one instance and
// resumes on another gets the events it missed, then the live ones, with
// nothing repeated. newBroker is as for FanOutAcrossInstances.
func ResumeOnAnotherInstance(t *testing.T, newBroker func(t *testing.T) sseview.Broker) {
	a, b := Serve(t, newBroker(t)), Serve(t, newBroker(t))
	marker := a.Publish(t, "1", "marker")
	onA := a.Open(t, "1", marker)
	var ids []string
	for i := range 3 {
		ids = append(ids, a.Publish(t, "1", strconv.Itoa(i)))
	}
	Expect(t, onA, ids...)
	require.NoError(t, onA.Close())

	var missed []string
	for i := range 3 {
		missed = append(missed, a.Publish(t, "1", "missed "+strconv.Itoa(i)))
	}
	onB := b.Open(t, "1", ids[len(ids)-1])
	Expect(t, onB, missed...)
	live := a.Publish(t, "1", "live")
	Expect(t, onB, live) // the next event is the live one: nothing repeated
}

// HistoryEvictionSendsReset checks that a client resuming from an event the
// history no longer keeps gets a reset to the newest event, then the live
// ones. newBroker returns a broker that keeps maxEvents events of a topic,
// and closes it when t ends.
func HistoryEvictionSendsReset(t *testing.T, newBroker func(t *testing.T, maxEvents int) sseview.Broker) {
	small := Serve(t, newBroker(t, 2))
	first := small.Publish(t, "1", "0")
	var newest string
	for i := range 3 {
		newest = small.Publish(t, "1", strconv.Itoa(i+1))
	}
	c := small.Open(t, "1", first)
	c.Expect(t, sseviewtest.Event{Type: sseview.ResetEventType, Data: "", ID: newest})
	live := small.Publish(t, "1", "live")
	Expect(t, c, live)
}
