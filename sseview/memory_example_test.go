package sseview_test

import (
	"context"
	"fmt"
	"iter"
	"net/http"

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
	mux := http.NewServeMux()
	mux.Handle("GET /rooms/{room}", sseview.AsView(ChatRoom{Broker: &broker}))
	mux.HandleFunc("POST /rooms/{room}", func(w http.ResponseWriter, r *http.Request) {
		_, err := broker.Publish(r.Context(), "room."+r.PathValue("room"),
			sseview.JSON{Type: "chat", Data: map[string]string{"text": r.FormValue("text")}})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
	_ = http.ListenAndServe // serve mux
}

// A client that had the first event resumes after it.
func ExampleMemoryBroker_Subscribe() {
	var broker sseview.MemoryBroker
	ctx := context.Background()
	first, err := broker.Publish(ctx, "room.lobby", sseview.Text{Type: "chat", Data: "hello"})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	_, err = broker.Publish(ctx, "room.lobby", sseview.JSON{Type: "chat", Data: map[string]string{"text": "how are you?"}})
	if err != nil {
		fmt.Println("error:", err)
		return
	}

	for ev, err := range broker.Subscribe(ctx, "room.lobby", first) {
		if err != nil {
			fmt.Println("error:", err)
			break
		}
		text, err := ev.MarshalEvent()
		if err != nil {
			fmt.Println("error:", err)
			break
		}
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

// A topic outside the syntax every broker shares is refused: the
// subscription yields the error alone, and Publish publishes nothing.
func ExampleMemoryBroker_Subscribe_invalidTopic() {
	var broker sseview.MemoryBroker
	ctx := context.Background()
	for ev, err := range broker.Subscribe(ctx, "room.a b", "") {
		fmt.Println(ev, err)
	}
	_, err := broker.Publish(ctx, "room.*", sseview.Text{Data: "hello"})
	fmt.Println(err)
	// Output:
	// <nil> sseview: invalid topic "room.a b": byte ' ' at 6 is not a letter, digit, '_', '-' or a dot between tokens
	// sseview: invalid topic "room.*": byte '*' at 5 is not a letter, digit, '_', '-' or a dot between tokens
}

// Two instances that computed the same reading, or a retry after a
// Publish whose outcome was unknown, publish it with the same key: it is
// stored and delivered once, and the repeat returns the first id.
func ExampleKeyed() {
	var broker sseview.MemoryBroker
	ctx := context.Background()
	reading := sseview.Keyed{
		Key:   "40.71,-74.01@2026-12-01T09:15",
		Event: sseview.JSON{Type: "weather", Data: map[string]float64{"temperature_2m": 3.5}},
	}
	first, err := broker.Publish(ctx, "weather.40_71.-74_01", reading)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	again, err := broker.Publish(ctx, "weather.40_71.-74_01", reading)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println("the repeat has the first id:", again == first)
	// Output: the repeat has the first id: true
}
