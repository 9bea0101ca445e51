package contestants

import (
	"context"
	"net/http"

	chirender "github.com/go-chi/render"
)

// render is github.com/go-chi/render: render.Respond with a channel, which
// it streams as JSON events ("event: data"). A goroutine of the
// application feeds the channel.
var render = &Contestant{
	Name:      "render",
	Mode:      PerRequest,
	Quoted:    true,
	Shutdown:  "none: Shutdown waits for its deadline",
	KeepAlive: "none",
	New: func() *Instance {
		return perRequest(renderStream, renderIdle)
	},
}

func renderStream(w http.ResponseWriter, r *http.Request) {
	n, size := streamArgs(r)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	ch := make(chan any)
	go func() {
		defer close(ch)
		for i := range n {
			select {
			case ch <- payload(i, size):
			case <-ctx.Done():
				return
			}
		}
	}()
	chirender.Respond(w, r, ch)
}

// renderIdle hands render a channel holding the one event, so that no
// producer goroutine is counted against it.
func renderIdle(w http.ResponseWriter, r *http.Request) {
	ch := make(chan any, 1)
	ch <- payload(0, idleSize)
	chirender.Respond(w, r, ch)
}
