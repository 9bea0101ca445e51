package sseview_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"time"

	"github.com/sseview/sseview/sseview"
)

// Reading is a stand-in for the seed's WeatherPoint row.
type Reading struct {
	Temp    float64 `json:"temp"`
	Created int     `json:"-"`
}

// WeatherStream is the seed's view, ported: it polls for the point's latest
// reading, yields it when it changed, and pings between polls.
type WeatherStream struct {
	Latest func(ctx context.Context, point string) (Reading, error)
	Poll   time.Duration
}

func (v WeatherStream) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
	lat, lng := p.At(0), p.At(1) // Django's positional args
	return func(yield func(sseview.Event, error) bool) {
		last := -1
		for range 2 { // the real view loops until ctx is done
			wp, err := v.Latest(ctx, lat+","+lng)
			if err != nil {
				yield(nil, err)
				return
			}
			if wp.Created != last {
				last = wp.Created
				if !yield(sseview.JSON{Type: "weather", Data: wp}, nil) {
					return
				}
			}
			if !yield(sseview.JSON{Type: "ping", Data: nil}, nil) {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(v.Poll):
			}
		}
	}
}

// get serves one GET request and prints the response as the client gets it.
func get(h http.Handler, target string) { do(h, http.MethodGet, target) }

// do serves one request and prints the response as the client gets it.
func do(h http.Handler, method, target string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	fmt.Printf("%d %s", rec.Code, rec.Header().Get("Content-Type"))
	if allow := rec.Header().Get("Allow"); allow != "" {
		fmt.Printf(" (Allow: %s)", allow)
	}
	fmt.Printf("\n%s", rec.Body)
}

// The seed's WeatherStream, registered with Handle so that every method
// reaches the Handler: GET streams, HEAD gets the stream's headers and no
// body, other methods 405. On chi, r.Handle does the same, with the seed's
// coordinate pattern: `/weather/{lat:-?\d{1,3}\.\d{2}},{lng:-?\d{1,3}\.\d{2}}/`.
func Example() {
	latest := func(context.Context, string) (Reading, error) { return Reading{Temp: 21.5, Created: 1}, nil }

	mux := http.NewServeMux()
	mux.Handle("/weather/{lat}/{lng}/", sseview.AsView(WeatherStream{Latest: latest, Poll: time.Millisecond}))

	get(mux, "/weather/40.71/-74.01/")
	do(mux, http.MethodHead, "/weather/40.71/-74.01/")
	do(mux, http.MethodPost, "/weather/40.71/-74.01/")
	// Output:
	// 200 text/event-stream
	// event: weather
	// data: {"temp":21.5}
	//
	// event: ping
	// data: null
	//
	// event: ping
	// data: null
	//
	// 200 text/event-stream
	// 405 application/json (Allow: GET, HEAD)
	// {"error":"Method Not Allowed"}
}

// finiteView yields its events and ends.
type finiteView []sseview.Event

func (v finiteView) Stream(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		for _, ev := range v {
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// Every kind of event in one stream. Line breaks in data become data lines;
// a line break in an event type or id could start a field of its own, so
// it ends the stream instead of being written.
func ExampleEvent() {
	get(sseview.AsView(finiteView{
		sseview.Text{Data: "two\nlines"},
		sseview.Text{Type: "update", ID: "17", Data: "with type and id"},
		sseview.JSON{Type: "weather", Data: map[string]any{"temp": 21.5}},
		sseview.Comment("comments are ignored by clients"),
		sseview.Text{Retry: 5 * time.Second, Data: "reconnect after 5s"},
	}), "/")
	// Output:
	// 200 text/event-stream
	// data: two
	// data: lines
	//
	// event: update
	// id: 17
	// data: with type and id
	//
	// event: weather
	// data: {"temp":21.5}
	//
	// : comments are ignored by clients
	// retry: 5000
	// data: reconnect after 5s
}

// Celsius is an event kind of the user's own: MarshalEvent says how it is
// written, and the stream validates the result like any other event.
type Celsius float64

func (c Celsius) MarshalEvent() (sseview.Text, error) {
	return sseview.Text{Type: "temperature", Data: fmt.Sprintf("%.1f°C", float64(c))}, nil
}

func ExampleEvent_custom() {
	get(sseview.AsView(finiteView{Celsius(21.54)}), "/")
	// Output:
	// 200 text/event-stream
	// event: temperature
	// data: 21.5°C
}

// failingView sends one event, then fails.
type failingView struct{}

func (failingView) Stream(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		if !yield(sseview.Text{Data: "partial"}, nil) {
			return
		}
		yield(nil, errors.New("database is down")) // alone, and last
	}
}

// A Handler with settings other than the defaults. The error is logged
// with its text; the client only gets the event ErrorEvent makes.
func ExampleHandler() {
	h := &sseview.Handler{
		View:      failingView{},
		KeepAlive: 30 * time.Second,
		Retry:     10 * time.Second,
		ErrorEvent: func(error) sseview.Event {
			return sseview.Text{Type: "failure", Data: "try again later"}
		},
		Logger: slog.New(slog.DiscardHandler),
	}
	get(h, "/")
	// Output:
	// 200 text/event-stream
	// retry: 10000
	//
	// data: partial
	//
	// event: failure
	// data: try again later
}

// MembersOnly refuses requests before any event is sent.
type MembersOnly struct{ finiteView }

func (MembersOnly) Accept(r *http.Request, p sseview.Params) error {
	switch r.Header.Get("Authorization") {
	case "":
		return sseview.Refuse(http.StatusUnauthorized, map[string]string{"error": "log in first"})
	case "Bearer gone":
		return sseview.Refuse(http.StatusNoContent, nil) // EventSource stops reconnecting
	}
	return nil
}

func ExampleAcceptor() {
	get(sseview.AsView(MembersOnly{finiteView{sseview.Text{Data: "hi"}}}), "/")
	// Output:
	// 401 application/json
	// {"error":"log in first"}
}

// RoomView reads its typed param in Stream, before it returns the
// iterator.
type RoomView struct{}

func (RoomView) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
	room := p.Int("room")
	return finiteView{sseview.Text{Data: fmt.Sprint("room ", room)}}.Stream(ctx, r, p)
}

// Typed params read in Stream before it returns the iterator: a bad value
// is answered with 400 and the stream never starts.
func ExampleParams() {
	mux := http.NewServeMux()
	mux.Handle("/rooms/{room}", sseview.AsView(RoomView{}))
	get(mux, "/rooms/12")
	get(mux, "/rooms/twelve")
	// Output:
	// 200 text/event-stream
	// data: room 12
	//
	// 400 application/json
	// {"error":"sseview: URL param room=\"twelve\": not a plain decimal integer"}
}

func ExampleEndStreamsOnShutdown() {
	mux := http.NewServeMux()
	mux.Handle("/events", sseview.AsView(finiteView{}))
	srv := &http.Server{Addr: "127.0.0.1:8000", Handler: mux}
	// Streams end at once on Shutdown, and clients come back 1-3 s later.
	sseview.EndStreamsOnShutdown(srv, 2*time.Second)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			log.Print(err)
		}
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
