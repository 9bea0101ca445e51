package contestants

import (
	"context"
	"net"
	"net/http"
	"time"
)

// raw is the floor: a net/http handler written by hand, flushing each event
// through http.ResponseController, with a ticker for keep-alive and the
// cancellable BaseContext that ends streams on Shutdown.
var raw = &Contestant{
	Name:      "raw",
	Mode:      PerRequest,
	Baseline:  true,
	Shutdown:  "BaseContext cancelled from RegisterOnShutdown",
	KeepAlive: "ticker in the handler, 15 s",
	New: func() *Instance {
		inst := perRequest(rawStream, rawIdle)
		inst.Prepare = cancelOnShutdown
		return inst
	},
}

func rawHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
}

// rawStream is the floor: it appends each event, payload and framing,
// into one reused buffer, so it allocates nothing per event.
func rawStream(w http.ResponseWriter, r *http.Request) {
	n, size := streamArgs(r)
	rc := http.NewResponseController(w)
	rawHeaders(w)
	var buf []byte
	for i := range n {
		buf = append(buf[:0], "data: "...)
		buf = appendPayload(buf, i, size)
		buf = append(buf, "\n\n"...)
		if _, err := w.Write(buf); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// rawCopy is raw with one string([]byte) copy of each payload, the copy
// that an API taking string data forces on a view whose payload is a
// []byte: the difference between raw and raw-copy is the price of that
// copy, apart from any library's own cost.
var rawCopy = &Contestant{
	Name:           "raw-copy",
	Mode:           PerRequest,
	Shutdown:       "BaseContext cancelled from RegisterOnShutdown",
	KeepAlive:      "ticker in the handler, 15 s",
	ThroughputOnly: true,
	New: func() *Instance {
		inst := perRequest(rawCopyStream, rawIdle)
		inst.Prepare = cancelOnShutdown
		return inst
	},
}

func rawCopyStream(w http.ResponseWriter, r *http.Request) {
	n, size := streamArgs(r)
	rc := http.NewResponseController(w)
	rawHeaders(w)
	var pbuf, buf []byte
	for i := range n {
		pbuf = appendPayload(pbuf[:0], i, size)
		data := string(pbuf)
		buf = append(buf[:0], "data: "...)
		buf = append(buf, data...)
		buf = append(buf, "\n\n"...)
		if _, err := w.Write(buf); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

func rawIdle(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	rawHeaders(w)
	if _, err := w.Write([]byte("data: " + payload(0, idleSize) + "\n\n")); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	t := time.NewTicker(keepAlive)
	defer t.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
			if _, err := w.Write([]byte(": keep-alive\n\n")); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		}
	}
}

// cancelOnShutdown is the known cure for golang/go#41344, written by hand.
func cancelOnShutdown(srv *http.Server) {
	ctx, cancel := context.WithCancel(context.Background())
	srv.BaseContext = func(net.Listener) context.Context { return ctx }
	srv.RegisterOnShutdown(cancel)
}
