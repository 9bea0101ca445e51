package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/testutil"
	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

// at is a fixed time for readings the tests write themselves.
var at = time.Date(2026, time.July, 14, 12, 0, 0, 0, time.UTC)

func addReading(t *testing.T, store *Store, point string, when time.Time) WeatherPoint {
	t.Helper()
	wp, err := Simulate(point, when)
	require.NoError(t, err)
	require.NoError(t, store.Add(t.Context(), wp))
	return wp
}

func currentJSON(t *testing.T, wp WeatherPoint) string {
	t.Helper()
	current, err := wp.Current()
	require.NoError(t, err)
	return string(current)
}

func TestStreamSendsNewReadingsAsWeatherEvents(t *testing.T) {
	store := openStore(t)
	url := serveView(t, WeatherStream{Points: store, Poll: testPoll}, nil)
	const point = "51.51,-0.13"

	s := open(t, url+"/weather/51.51,-0.13/", nil)
	// No reading yet: the first poll only pings, like the seed's.
	assert.Equal(t, sseviewtest.Event{Type: "ping", Data: "null"}, nextEvent(t, s))

	first := addReading(t, store, point, at)
	ev := nextOfType(t, s, "weather")
	assert.JSONEq(t, currentJSON(t, first), ev.Data, "the event is weather_data['current']")

	// The same reading is not sent again: the polls after it only ping.
	for range 3 {
		assert.Equal(t, "ping", nextEvent(t, s).Type)
	}

	// A reading of another point changes nothing here; a newer one of this
	// point is sent.
	addReading(t, store, "40.71,-74.01", at.Add(time.Minute))
	second := addReading(t, store, point, at.Add(2*time.Minute))
	ev = nextOfType(t, s, "weather")
	assert.JSONEq(t, currentJSON(t, second), ev.Data)
}

func TestStreamStartsWithTheLatestReading(t *testing.T) {
	store := openStore(t)
	const point = "-33.87,151.21"
	addReading(t, store, point, at)
	latest := addReading(t, store, point, at.Add(time.Hour))
	addReading(t, store, point, at.Add(-time.Hour)) // stored later, but older
	url := serveView(t, WeatherStream{Points: store, Poll: testPoll}, nil)

	s := open(t, url+"/weather/-33.87,151.21/", nil)
	ev := nextEvent(t, s)
	assert.Equal(t, "weather", ev.Type)
	assert.JSONEq(t, currentJSON(t, latest), ev.Data)
	assert.Equal(t, sseviewtest.Event{Type: "ping", Data: "null"}, nextEvent(t, s), "a ping follows every poll")
}

func TestFirstStreamOfAPointGetsAReadingAtOnce(t *testing.T) {
	store := openStore(t)
	now := at
	updater := &Updater{Store: store, Interval: time.Hour, Now: func() time.Time { return now }}
	url := serveView(t, WeatherStream{Points: store, Watcher: updater, Poll: time.Hour}, nil)

	// The poll interval is an hour: the reading can only come from the
	// updater's write on the first Watch, before the first poll.
	s := open(t, url+"/weather/35.68,139.69/", nil)
	ev := nextEvent(t, s)
	require.Equal(t, "weather", ev.Type)
	want, err := Simulate("35.68,139.69", now)
	require.NoError(t, err)
	assert.JSONEq(t, currentJSON(t, want), ev.Data)
}

func TestBadCoordinates(t *testing.T) {
	store := openStore(t)
	logs := &logBuffer{}
	url := serveView(t, WeatherStream{Points: store, Poll: testPoll}, logs.logger())

	tests := []struct {
		name, method, path string
		status             int
		body               string // a part of the body
	}{
		{"latitude over 90", "GET", "/weather/90.01,0.00/", 400, "latitude 90.01 is outside [-90, 90]"},
		{"latitude under -90", "GET", "/weather/-91.00,0.00/", 400, "latitude -91.00 is outside"},
		{"longitude over 180", "GET", "/weather/0.00,180.01/", 400, "longitude 180.01 is outside [-180, 180]"},
		{"longitude under -180", "GET", "/weather/0.00,-999.99/", 400, "longitude -999.99 is outside"},
		{"dot not escaped in the seed", "GET", "/weather/51x51,0y13/", 404, ""},
		{"one decimal", "GET", "/weather/51.5,0.13/", 404, ""},
		{"three decimals", "GET", "/weather/51.510,0.13/", 404, ""},
		{"four integer digits", "GET", "/weather/1000.00,0.13/", 404, ""},
		{"plus sign", "GET", "/weather/+51.51,0.13/", 404, ""},
		// One spelling per point: -0.00 and 0.00 would be two topics.
		{"negative zero", "GET", "/weather/-0.00,0.00/", 400, `lat=\"-0.00\": not a plain decimal number`},
		{"leading zero", "GET", "/weather/051.51,0.13/", 400, `lat=\"051.51\": not a plain decimal number`},
		{"words", "GET", "/weather/north,west/", 404, ""},
		{"no trailing slash", "GET", "/weather/51.51,-0.13", 404, ""},
		{"not GET", "POST", "/weather/51.51,-0.13/", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, contentType, body := get(t, tt.method, url+tt.path)
			assert.Equal(t, tt.status, status, "body: %s", body)
			assert.NotContains(t, contentType, "text/event-stream")
			assert.Contains(t, body, tt.body)
		})
	}
	assert.NotContains(t, logs.String(), "level=ERROR", "bad input is not a server error")
}

func TestCoordinatesOnTheEdgeAreAccepted(t *testing.T) {
	store := openStore(t)
	url := serveView(t, WeatherStream{Points: store, Poll: testPoll}, nil)
	for _, path := range []string{"/weather/90.00,180.00/", "/weather/-90.00,-180.00/", "/weather/0.00,-0.01/"} {
		t.Run(path, func(t *testing.T) {
			s := open(t, url+path, nil) // fails the test unless 200 text/event-stream
			assert.Equal(t, "ping", nextEvent(t, s).Type)
		})
	}
}

// watchSignal is a Watcher that reports each Watch and unwatch.
type watchSignal struct {
	watched, unwatched chan string
}

func (w *watchSignal) Watch(_ context.Context, point string) func() {
	w.watched <- point
	return func() { w.unwatched <- point }
}

// countingReadings counts the view's queries.
type countingReadings struct {
	Readings
	mu      sync.Mutex
	queries int
}

func (c *countingReadings) Latest(ctx context.Context, point string) (WeatherPoint, bool, error) {
	c.mu.Lock()
	c.queries++
	c.mu.Unlock()
	return c.Readings.Latest(ctx, point)
}

func (c *countingReadings) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queries
}

func TestClientDisconnectStopsPolling(t *testing.T) {
	store := openStore(t)
	points := &countingReadings{Readings: store}
	signal := &watchSignal{watched: make(chan string, 1), unwatched: make(chan string, 1)}
	url := serveView(t, WeatherStream{Points: points, Watcher: signal, Poll: testPoll}, nil)

	s := open(t, url+"/weather/64.15,-21.94/", nil)
	for range 3 {
		require.Equal(t, "ping", nextEvent(t, s).Type)
	}
	assert.Equal(t, "64.15,-21.94", <-signal.watched)
	require.NoError(t, s.Close())

	// unwatch runs in the iterator's defer: when it is called, the polling
	// loop has returned.
	select {
	case p := <-signal.unwatched:
		assert.Equal(t, "64.15,-21.94", p)
	case <-time.After(wait):
		t.Fatal("the view kept polling after the client left")
	}
	assert.GreaterOrEqual(t, points.count(), 3)
}

func TestUpdaterForgetsPointsWithoutStreams(t *testing.T) {
	store := openStore(t)
	updater := &Updater{Store: store, Interval: time.Hour}
	url := serveView(t, WeatherStream{Points: store, Watcher: updater, Poll: testPoll}, nil)

	waitWatched := func(want ...string) {
		t.Helper()
		deadline := time.After(wait)
		for {
			got, changed := updater.Watched()
			if assert.ObjectsAreEqual(want, got) {
				return
			}
			select {
			case <-changed:
			case <-deadline:
				t.Fatalf("watched points are %q, want %q", got, want)
			}
		}
	}

	a := open(t, url+"/weather/30.04,31.24/", nil)
	b := open(t, url+"/weather/30.04,31.24/", nil)
	c := open(t, url+"/weather/-1.29,36.82/", nil)
	waitWatched("-1.29,36.82", "30.04,31.24")
	require.NoError(t, a.Close())
	require.NoError(t, c.Close())
	waitWatched("30.04,31.24") // b still streams it
	assert.Equal(t, "weather", nextEvent(t, b).Type)
	require.NoError(t, b.Close())
	waitWatched()
}

// failingReadings fails every query after the first n.
type failingReadings struct {
	Readings
	n   int
	mu  sync.Mutex
	err error
}

var errDatabaseDown = errors.New("database down")

func (f *failingReadings) Latest(ctx context.Context, point string) (WeatherPoint, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		return WeatherPoint{}, false, f.err
	}
	f.n--
	return f.Readings.Latest(ctx, point)
}

func TestDatabaseErrorEndsTheStreamAndIsLogged(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, store *Store) Readings
		want  string
	}{
		{"query fails", func(t *testing.T, store *Store) Readings {
			return &failingReadings{Readings: store, n: 2, err: errDatabaseDown}
		}, "database down"},
		{"reading without current", func(t *testing.T, store *Store) Readings {
			require.NoError(t, store.Add(t.Context(), WeatherPoint{
				Point: "40.71,-74.01", Created: at, WeatherData: []byte(`{"hourly": []}`)}))
			return store
		}, `has no \"current\" object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := openStore(t)
			logs := &logBuffer{}
			url := serveView(t, WeatherStream{Points: tt.setup(t, store), Poll: testPoll}, logs.logger())

			s := open(t, url+"/weather/40.71,-74.01/", nil)
			var err error
			for err == nil {
				_, err = s.Next()
			}
			require.ErrorIs(t, err, io.EOF, "the stream ends instead of hanging")
			assert.Contains(t, logs.String(), "sseview: stream failed")
			assert.Contains(t, logs.String(), tt.want)
		})
	}
}

func TestClosedDatabaseMidStream(t *testing.T) {
	store := openStore(t)
	logs := &logBuffer{}
	url := serveView(t, WeatherStream{Points: store, Poll: testPoll}, logs.logger())

	s := open(t, url+"/weather/40.71,-74.01/", nil)
	require.Equal(t, "ping", nextEvent(t, s).Type)
	require.NoError(t, store.Close())
	var err error
	for err == nil {
		_, err = s.Next()
	}
	require.ErrorIs(t, err, io.EOF)
	assert.Contains(t, logs.String(), "sql: database is closed")
	assert.True(t, strings.Contains(logs.String(), "level=ERROR"))
}

// blockingReadings is a query that runs until its context is done, as a
// slow database query would.
type blockingReadings struct {
	started chan struct{}
}

func (b *blockingReadings) Latest(ctx context.Context, point string) (WeatherPoint, bool, error) {
	close(b.started)
	<-ctx.Done()
	return WeatherPoint{}, false, ctx.Err()
}

func TestClientLeavingDuringAQueryIsNoFailure(t *testing.T) {
	logs := &logBuffer{}
	points := &blockingReadings{started: make(chan struct{})}
	served := make(chan struct{})
	r := chi.NewRouter()
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer close(served) // after the Handler has logged whatever it logs
			next.ServeHTTP(w, r)
		})
	})
	handleStream(r, &sseview.Handler{View: WeatherStream{Points: points, Poll: testPoll}, Logger: logs.logger()})
	url := testutil.Serve(t, r).URL

	s := open(t, url+"/weather/1.00,2.00/", nil)
	select {
	case <-points.started:
	case <-time.After(wait):
		t.Fatal("the view did not query")
	}
	require.NoError(t, s.Close())
	select {
	case <-served:
	case <-time.After(wait):
		t.Fatal("the view did not return after the client left")
	}
	assert.NotContains(t, logs.String(), "stream failed")
}
