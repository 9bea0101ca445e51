package contestants

import (
	"context"
	"net/http"
	"time"

	sse "github.com/tmaxmax/go-sse"
)

// goSSEUpgrade is github.com/tmaxmax/go-sse per request: a handler that
// calls sse.Upgrade and sends on the Session, as in its README.
var goSSEUpgrade = &Contestant{
	Name:      "go-sse",
	Mode:      PerRequest,
	Shutdown:  "none for Upgrade sessions: Shutdown waits for its deadline",
	KeepAlive: "none",
	New: func() *Instance {
		return perRequest(goSSEStream, goSSEIdle)
	},
}

func goSSEStream(w http.ResponseWriter, r *http.Request) {
	n, size := streamArgs(r)
	sess, err := sse.Upgrade(w, r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for i := range n {
		m := &sse.Message{}
		m.AppendData(payload(i, size))
		if sess.Send(m) != nil || sess.Flush() != nil {
			return
		}
	}
}

func goSSEIdle(w http.ResponseWriter, r *http.Request) {
	sess, err := sse.Upgrade(w, r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	m := &sse.Message{}
	m.AppendData(payload(0, idleSize))
	if sess.Send(m) != nil || sess.Flush() != nil {
		return
	}
	<-r.Context().Done()
}

// goSSEServer is go-sse's sse.Server with its default provider, Joe, shut
// down from RegisterOnShutdown as its Server.Shutdown doc asks.
var goSSEServer = &Contestant{
	Name:      "go-sse-server",
	Mode:      Broadcast,
	Shutdown:  "sse.Server.Shutdown from RegisterOnShutdown",
	KeepAlive: "none",
	New: func() *Instance {
		s := &sse.Server{}
		return &Instance{
			Handler: s,
			Publish: func(_ context.Context, data string) error {
				m := &sse.Message{}
				m.AppendData(data)
				return s.Publish(m)
			},
			Prepare: func(srv *http.Server) {
				srv.RegisterOnShutdown(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					_ = s.Shutdown(ctx)
				})
			},
		}
	},
}
