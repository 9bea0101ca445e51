package sseview_test

import (
	"context"
	"fmt"
	"iter"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/sseview/sseview/sseview"
)

// ChatRoom streams one room's messages from a broker.
type ChatRoom struct{ Broker sseview.Broker }

func (v ChatRoom) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
	return v.Broker.Subscribe(ctx, "room."+p.Get("room"), sseview.LastEventID(r))
}

// A view returns a subscription as it is; whatever publishes to the topic
// reaches every client of the room, and a client that reconnects with its
// Last-Event-ID gets what it missed.
func ExampleMemoryBroker() {
	var broker sseview.MemoryBroker // the zero value is ready
	r := chi.NewRouter()
	r.Get("/rooms/{room}", sseview.AsView(ChatRoom{Broker: &broker}))
	r.Post("/rooms/{room}", func(w http.ResponseWriter, r *http.Request) {
		_, err := broker.Publish(r.Context(), "room."+chi.URLParam(r, "room"),
			sseview.JSON{Type: "chat", Data: map[string]string{"text": r.FormValue("text")}})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	_ = http.ListenAndServe // serve r
}

// A client that had the first event resumes after it.
func ExampleMemoryBroker_Subscribe() {
	var broker sseview.MemoryBroker
	ctx := context.Background()
	first, _ := broker.Publish(ctx, "room.lobby", sseview.Text{Type: "chat", Data: "hello"})
	_, _ = broker.Publish(ctx, "room.lobby", sseview.JSON{Type: "chat", Data: map[string]string{"text": "how are you?"}})

	for ev, err := range broker.Subscribe(ctx, "room.lobby", first) {
		if err != nil {
			fmt.Println("error:", err)
			break
		}
		text, _ := ev.MarshalEvent()
		fmt.Println(text.Type, text.Data)
		break
	}
	// Output: chat {"text":"how are you?"}
}

// A client whose Last-Event-ID the broker cannot resume from (here, an id
// from before a restart) first gets a reset: it reloads its state, and its
// next Last-Event-ID is the reset's id.
func ExampleMemoryBroker_Subscribe_reset() {
	var broker sseview.MemoryBroker
	ctx := context.Background()
	newest, err := broker.Publish(ctx, "room.lobby", sseview.Text{Type: "chat", Data: "hello"})
	if err != nil {
		fmt.Println("error:", err)
		return
	}

	for ev, err := range broker.Subscribe(ctx, "room.lobby", "lx0cdsa5k2nk-41") {
		if err != nil {
			fmt.Println("error:", err)
			break
		}
		text, err := ev.MarshalEvent()
		if err != nil {
			fmt.Println("error:", err)
			break
		}
		fmt.Printf("type %s, data %q, id is the newest: %v\n", text.Type, text.Data, text.ID == newest)
		break
	}
	// Output: type sseview-reset, data "", id is the newest: true
}
