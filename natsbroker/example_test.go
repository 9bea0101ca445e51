package natsbroker_test

import (
	"context"
	"errors"
	"iter"
	"log"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sseview/sseview/natsbroker"
	"github.com/sseview/sseview/sseview"
)

// Room streams a chat room: the subscription is the view's whole stream.
type Room struct{ Broker sseview.Broker }

func (v Room) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
	return v.Broker.Subscribe(ctx, "room."+p.Get("room"), sseview.LastEventID(r))
}

// Every instance of the server runs this against the same NATS: an event
// published through one reaches the clients of all, and a client resumes on
// any instance from its Last-Event-ID.
func Example() {
	ctx := context.Background()
	nc, err := nats.Connect("nats://127.0.0.1:4222", nats.MaxReconnects(-1))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	broker, err := natsbroker.New(ctx, nc, natsbroker.Config{MaxEvents: 500, MaxAge: 30 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		if err := broker.Close(); err != nil {
			log.Print(err)
		}
	}()

	mux := http.NewServeMux()
	mux.Handle("GET /rooms/{room}", sseview.AsView(Room{Broker: broker}))
	mux.HandleFunc("POST /rooms/{room}", func(w http.ResponseWriter, r *http.Request) {
		// The client's own message id makes a retried POST publish once.
		msg := sseview.Keyed{Key: r.FormValue("msgid"), Event: sseview.JSON{Type: "message", Data: map[string]string{"text": r.FormValue("text")}}}
		id, err := broker.Publish(r.Context(), "room."+r.PathValue("room"), msg)
		switch {
		case errors.Is(err, sseview.ErrInvalidEvent), errors.Is(err, sseview.ErrInvalidTopic):
			http.Error(w, err.Error(), http.StatusBadRequest)
		case err != nil: // NATS down or slow: the client retries with the same msgid
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		default:
			if _, err := w.Write([]byte(id)); err != nil {
				log.Print(err)
			}
		}
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8000", mux))
}
