package sseviewtest_test

// The views of sseview's README (WeatherStream and Room, defined in
// example_test.go), tested in a few lines each, behind chi with the
// middleware an application has.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

// TestREADMEWeatherStream: a reading every 30 s and keep-alives between,
// on synctest's fake clock, so the two minutes take no time. The Handler's
// keep-alive is 20 s here: at the default 15 s, a keep-alive and the
// 30 s reading fall due at the same instant, and either may go first.
func TestREADMEWeatherStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		view := WeatherStream{Latest: func(_ context.Context, point string) (Reading, error) {
			return Reading{Point: point, Temp: time.Since(start).Seconds()}, nil
		}}
		r := router(func(r chi.Router) {
			r.Get(`/weather/{lat:-?\d{1,3}\.\d{2}},{lng:-?\d{1,3}\.\d{2}}/`,
				(&sseview.Handler{View: view, KeepAlive: 20 * time.Second}).ServeHTTP)
		})
		s := sseviewtest.OpenT(t, r, httptest.NewRequest(http.MethodGet, "/weather/51.51,-0.13/", nil))
		s.Comments, s.Timeout = true, time.Minute

		weather := func(at string) sseviewtest.Event {
			return sseviewtest.Event{Type: "weather", Data: `{"point":"51.51,-0.13","temp":` + at + `}`}
		}
		s.Expect(t, weather("0"), keepAlive, weather("30"), keepAlive, weather("60"))
		require.Equal(t, 60*time.Second, time.Since(start))
	})
}

// TestREADMERoomResumes: a client that reconnects with the id of the last
// event it read gets the rest from the broker's history, exactly once, then
// the live events.
func TestREADMERoomResumes(t *testing.T) {
	ctx := context.Background()
	broker := &sseview.MemoryBroker{}
	publish := func(text string) sseviewtest.Event {
		id, err := broker.Publish(ctx, "room.lobby", sseview.Text{Type: "chat", Data: text})
		require.NoError(t, err)
		return sseviewtest.Event{Type: "chat", Data: text, ID: id}
	}
	r := router(func(r chi.Router) { r.Get("/rooms/{room}", sseview.AsView(Room{Broker: broker})) })

	// Start from a first event, so that nothing published later can be
	// missed while the subscription starts.
	req := httptest.NewRequest(http.MethodGet, "/rooms/lobby", nil)
	req.Header.Set("Last-Event-ID", publish("before").ID)
	s := sseviewtest.OpenT(t, r, req)

	one, two, three := publish("one"), publish("two"), publish("three")
	s.Expect(t, one, two)
	require.NoError(t, s.Reconnect()) // "three" was never read
	s.Expect(t, three, publish("four"))
}

// TestREADMERoomResetAfterRestart: an id the broker does not know (from
// before a restart) gets the reset event, and the stream carries on.
func TestREADMERoomResetAfterRestart(t *testing.T) {
	broker := &sseview.MemoryBroker{}
	r := router(func(r chi.Router) { r.Get("/rooms/{room}", sseview.AsView(Room{Broker: broker})) })
	req := httptest.NewRequest(http.MethodGet, "/rooms/lobby", nil)
	req.Header.Set("Last-Event-ID", "from-another-run")
	s := sseviewtest.OpenT(t, r, req)
	ev, err := s.Next()
	require.NoError(t, err)
	require.Equal(t, sseview.ResetEventType, ev.Type)
	require.Equal(t, ev.ID, s.LastEventID(), "the next reconnect resumes from the reset's id")
}
