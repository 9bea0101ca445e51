package redisbroker_test

import (
	"context"
	"errors"
	"iter"
	"log"
	"net/http"
	"time"

	"github.com/sseview/sseview/redisbroker"
	"github.com/sseview/sseview/sseview"
)

// Room streams a chat room: the subscription is the view's whole stream.
type Room struct{ Broker sseview.Broker }

func (v Room) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
	return v.Broker.Subscribe(ctx, "room."+p.Get("room"), sseview.LastEventID(r))
}

// Every instance of the server runs this against the same Redis: an event
// published through one reaches the clients of all, and a client resumes on
// any instance from its Last-Event-ID.
func Example() {
	broker, err := redisbroker.Open(context.Background(), "redis://127.0.0.1:6379/0",
		redisbroker.Config{MaxEvents: 500, MaxAge: 30 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer broker.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /rooms/{room}", sseview.AsView(Room{Broker: broker}))
	mux.HandleFunc("POST /rooms/{room}", func(w http.ResponseWriter, r *http.Request) {
		id, err := broker.Publish(r.Context(), "room."+r.PathValue("room"),
			sseview.JSON{Type: "message", Data: map[string]string{"text": r.FormValue("text")}})
		if errors.Is(err, sseview.ErrInvalidEvent) {
			http.Error(w, "not a valid event", http.StatusBadRequest)
			return
		}
		if err != nil {
			log.Print(err)
			http.Error(w, "cannot publish now", http.StatusServiceUnavailable)
			return
		}
		if _, err := w.Write([]byte(id)); err != nil {
			log.Print(err)
		}
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8000", mux))
}

// A retry after an error whose outcome is unknown (Redis went away during
// the call) is safe when the event has a Key: Redis stores it once.
func ExampleBroker_Publish_keyed() {
	broker, err := redisbroker.Open(context.Background(), "redis://127.0.0.1:6379/0", redisbroker.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer broker.Close()
	reading := sseview.Keyed{Key: "station-7/2025-06-01T12:00", Event: sseview.JSON{Type: "reading", Data: 21.5}}
	for attempt := 0; ; attempt++ {
		id, err := broker.Publish(context.Background(), "weather.station-7", reading)
		if err == nil {
			log.Printf("published as %s", id)
			return
		}
		if attempt == 3 {
			log.Fatal(err)
		}
		time.Sleep(time.Second)
	}
}
