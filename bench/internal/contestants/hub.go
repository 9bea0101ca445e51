package contestants

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// hub is the fan-out floor: a minimal hand-written hub, one buffered
// channel per subscriber, a subscriber whose channel is full dropped.
var hub = &Contestant{
	Name:      "hub",
	Mode:      Broadcast,
	Baseline:  true,
	Shutdown:  "BaseContext cancelled from RegisterOnShutdown",
	KeepAlive: "ticker in the handler, 15 s",
	New: func() *Instance {
		h := &hubT{subs: map[*hubSub]struct{}{}}
		return &Instance{Handler: h, Publish: h.publish, Prepare: cancelOnShutdown}
	},
}

// hubQueue matches the default queue of sseview.MemoryBroker.
const hubQueue = 256

type hubT struct {
	mu   sync.Mutex
	subs map[*hubSub]struct{}
}

type hubSub struct {
	ch      chan []byte
	dropped chan struct{}
}

func (h *hubT) publish(_ context.Context, data string) error {
	b := []byte("data: " + data + "\n\n")
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- b:
		default:
			delete(h.subs, s)
			close(s.dropped)
		}
	}
	return nil
}

func (h *hubT) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	rawHeaders(w)
	if rc.Flush() != nil {
		return
	}
	s := &hubSub{ch: make(chan []byte, hubQueue), dropped: make(chan struct{})}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
	}()
	t := time.NewTicker(keepAlive)
	defer t.Stop()
	for {
		var b []byte
		select {
		case <-r.Context().Done():
			return
		case <-s.dropped:
			return
		case b = <-s.ch:
		case <-t.C:
			b = []byte(": keep-alive\n\n")
		}
		if _, err := w.Write(b); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}
