package sseviewtest_test

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

// Reading is what the weather service reports for a point.
type Reading struct {
	Point string  `json:"point"`
	Temp  float64 `json:"temp"`
}

// WeatherStream is the view of sseview's README, with its database query
// as a function.
type WeatherStream struct {
	Latest func(ctx context.Context, point string) (Reading, error)
}

func (v WeatherStream) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
	lat, lng := p.At(0), p.At(1)
	return func(yield func(sseview.Event, error) bool) {
		for {
			reading, err := v.Latest(ctx, lat+","+lng)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(sseview.JSON{Type: "weather", Data: reading}, nil) {
				return // the client left
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(30 * time.Second):
			}
		}
	}
}

func latest(_ context.Context, point string) (Reading, error) {
	return Reading{Point: point, Temp: 12.5}, nil
}

// The README's WeatherStream, served in process behind a ServeMux (whose
// wildcards are whole path segments, so the README's "{lat},{lng}" becomes
// "{lat}/{lng}"), and its first reading read as a browser would get it.
func Example() {
	mux := http.NewServeMux()
	mux.Handle("GET /weather/{lat}/{lng}/", sseview.AsView(WeatherStream{Latest: latest}))

	s, err := sseviewtest.Open(mux, httptest.NewRequest(http.MethodGet, "/weather/51.51/-0.13/", nil))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	ev, err := s.Next()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev.Type, ev.Data)
	fmt.Println(s.Response().Header.Get("Content-Type"))
	// Output:
	// weather {"point":"51.51,-0.13","temp":12.5}
	// text/event-stream
}

// Countdown yields its events and ends the stream.
type Countdown struct{}

func (Countdown) Stream(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		for _, ev := range []sseview.Event{
			sseview.Text{Type: "tick", Data: "2", ID: "2"},
			sseview.Text{Type: "tick", Data: "1", ID: "1"},
			sseview.Text{Data: "liftoff\nwe have liftoff"},
		} {
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// Events reads a stream to its end. An event without an id carries the
// last one forward, and a multi-line data arrives joined with LF.
func ExampleOpen() {
	s, err := sseviewtest.Open(sseview.AsView(Countdown{}), httptest.NewRequest(http.MethodGet, "/", nil))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	for ev, err := range s.Events() {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(ev)
	}
	fmt.Println("the server ended the stream")
	// Output:
	// {Type: "tick", Data: "2", ID: "2"}
	// {Type: "tick", Data: "1", ID: "1"}
	// {Type: "message", Data: "liftoff\nwe have liftoff", ID: "1"}
	// the server ended the stream
}

// Dial reads a stream from a server over the network, here an
// httptest.Server on the loopback interface.
func ExampleDial() {
	srv := httptest.NewServer(sseview.AsView(Countdown{}))
	defer srv.Close()

	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := sseviewtest.Dial(nil, req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	ev, err := s.Next()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev)
	// Output:
	// {Type: "tick", Data: "2", ID: "2"}
}

// Room is the broker-backed view of sseview's README: a subscription to
// the room's topic, resumed from the client's Last-Event-ID.
type Room struct{ Broker sseview.Broker }

func (v Room) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
	return v.Broker.Subscribe(ctx, "room."+p.Get("room"), sseview.LastEventID(r))
}

// Reconnect resumes a broker-backed view: the second connection sends the
// id of the last event read as Last-Event-ID, and the broker sends what
// came after it, once.
func ExampleStream_Reconnect() {
	ctx := context.Background()
	broker := &sseview.MemoryBroker{}
	mux := http.NewServeMux()
	mux.Handle("GET /rooms/{room}", sseview.AsView(Room{Broker: broker}))

	var ids []string
	for _, text := range []string{"hello", "anyone here?", "bye"} {
		id, err := broker.Publish(ctx, "room.lobby", sseview.Text{Type: "chat", Data: text})
		if err != nil {
			fmt.Println(err)
			return
		}
		ids = append(ids, id)
	}

	// Start after the first message, as a client that had it would.
	req := httptest.NewRequest(http.MethodGet, "/rooms/lobby", nil)
	req.Header.Set("Last-Event-ID", ids[0])
	s, err := sseviewtest.Open(mux, req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	ev, err := s.Next()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev.Data, ev.ID == ids[1])

	if err := s.Reconnect(); err != nil {
		fmt.Println(err)
		return
	}
	ev, err = s.Next()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev.Data, ev.ID == ids[2])
	// Output:
	// anyone here? true
	// bye true
}

// HalfAnEvent sends the first line of an event and never the blank line
// that would end it.
func HalfAnEvent(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, "data: a first line\n")
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

// A read that times out says what arrived: here an event that never got the
// blank line that ends it.
func ExampleStream_Next() {
	s, err := sseviewtest.Open(http.HandlerFunc(HalfAnEvent), httptest.NewRequest(http.MethodGet, "/", nil))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	s.Timeout = 50 * time.Millisecond
	_, err = s.Next()
	fmt.Println(err)
	// Output:
	// sseviewtest: timed out: no event within 50ms; none arrived yet; then 19 bytes that make no event yet (an event ends with a blank line), ending "data: a first line\n"
}

// With Comments set, comment lines arrive too, in stream order: here the
// Handler's keep-alive, set to 10 ms so that the example does not wait
// 15 s. (In a testing/synctest bubble the default costs no time.)
func ExampleStream_comments() {
	mux := http.NewServeMux()
	mux.Handle("GET /rooms/{room}", &sseview.Handler{View: Room{Broker: &sseview.MemoryBroker{}}, KeepAlive: 10 * time.Millisecond})
	s, err := sseviewtest.Open(mux, httptest.NewRequest(http.MethodGet, "/rooms/quiet", nil))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	s.Comments = true
	ev, err := s.Next()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev, ev.IsComment())
	// Output:
	// {Comment: ": keep-alive"} true
}
