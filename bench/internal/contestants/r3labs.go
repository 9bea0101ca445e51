package contestants

import (
	"context"
	"net/http"

	r3 "github.com/r3labs/sse/v2"
)

// r3labs is github.com/r3labs/sse/v2: one stream, AutoReplay off, closed
// from RegisterOnShutdown.
var r3labs = &Contestant{
	Name:      "r3labs",
	Mode:      Broadcast,
	Shutdown:  "sse.Server.Close from RegisterOnShutdown",
	KeepAlive: "none",
	New: func() *Instance {
		s := r3.New()
		s.AutoReplay = false
		s.CreateStream("t")
		return &Instance{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				q := r.URL.Query()
				q.Set("stream", "t")
				r.URL.RawQuery = q.Encode()
				s.ServeHTTP(w, r)
			}),
			Publish: func(_ context.Context, data string) error {
				// Never empty: r3labs ends a subscriber's stream on empty data.
				s.Publish("t", &r3.Event{Data: []byte(data)})
				return nil
			},
			Prepare: func(srv *http.Server) { srv.RegisterOnShutdown(s.Close) },
		}
	},
}
