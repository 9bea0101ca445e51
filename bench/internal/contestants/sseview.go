package contestants

import (
	"context"
	"iter"
	"net/http"
	"time"

	"github.com/sseview/sseview/sseview"
)

// sseviewView is this project, per request: a StreamView served by AsView
// with its defaults (15 s keep-alive, 30 s write timeout).
var sseviewView = &Contestant{
	Name:      "sseview",
	Mode:      PerRequest,
	Shutdown:  "sseview.EndStreamsOnShutdown",
	KeepAlive: "built in, 15 s",
	New: func() *Instance {
		inst := perRequest(sseview.AsView(countView{}), sseview.AsView(idleView{}))
		inst.Prepare = endStreams
		return inst
	},
}

func endStreams(srv *http.Server) { sseview.EndStreamsOnShutdown(srv, 3*time.Second) }

// countView is written as the README shows for hot streams whose payload
// is a string: one reused *Text (the stream keeps no event after yield
// returns). Its payload is appended into a reused buffer, as raw's is,
// and Data = string(buf) is the one copy per event that a string field
// costs; sseview-bytes sends the same buffer without it.
type countView struct{}

func (countView) Stream(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	n, size := streamArgs(r)
	return func(yield func(sseview.Event, error) bool) {
		ev := &sseview.Text{}
		var buf []byte
		for i := range n {
			buf = appendPayload(buf[:0], i, size)
			ev.Data = string(buf)
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// sseviewBytes is sseview sending its payload buffer as a reused
// *sseview.Bytes: no copy and no allocation per event, as raw. It differs
// from sseview in its throughput view alone.
var sseviewBytes = &Contestant{
	Name:           "sseview-bytes",
	Mode:           PerRequest,
	Shutdown:       "sseview.EndStreamsOnShutdown",
	KeepAlive:      "built in, 15 s",
	ThroughputOnly: true,
	New: func() *Instance {
		inst := perRequest(sseview.AsView(bytesView{}), sseview.AsView(idleView{}))
		inst.Prepare = endStreams
		return inst
	},
}

type bytesView struct{}

func (bytesView) Stream(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	n, size := streamArgs(r)
	return func(yield func(sseview.Event, error) bool) {
		ev := &sseview.Bytes{}
		var buf []byte
		for i := range n {
			buf = appendPayload(buf[:0], i, size)
			ev.Data = buf
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// sseviewPlain is sseview without sseview.EndStreamsOnShutdown: nothing can
// end its streams early, so the view gets the request's own context, and
// Shutdown waits for its deadline. It shows what the shutdown path costs
// an idle stream.
var sseviewPlain = &Contestant{
	Name:      "sseview-plain",
	Mode:      PerRequest,
	Shutdown:  "none (the variant without EndStreamsOnShutdown)",
	KeepAlive: "built in, 15 s",
	IdleOnly:  true,
	New: func() *Instance {
		return perRequest(sseview.AsView(countView{}), sseview.AsView(idleView{}))
	},
}

// sseviewValues is sseview yielding a new Text value per event, the form
// most examples use: Go boxes each into the Event interface with a 64-byte
// allocation. It differs from sseview in its throughput view alone.
var sseviewValues = &Contestant{
	Name:           "sseview-values",
	Mode:           PerRequest,
	Shutdown:       "sseview.EndStreamsOnShutdown",
	KeepAlive:      "built in, 15 s",
	ThroughputOnly: true,
	New: func() *Instance {
		inst := perRequest(sseview.AsView(valuesView{}), sseview.AsView(idleView{}))
		inst.Prepare = endStreams
		return inst
	},
}

type valuesView struct{}

func (valuesView) Stream(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	n, size := streamArgs(r)
	return func(yield func(sseview.Event, error) bool) {
		for i := range n {
			if !yield(sseview.Text{Data: payload(i, size)}, nil) {
				return
			}
		}
	}
}

type idleView struct{}

func (idleView) Stream(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		if !yield(sseview.Text{Data: payload(0, idleSize)}, nil) {
			return
		}
		<-ctx.Done()
	}
}

// sseviewBroker is this project's fan-out: a StreamView returning a
// subscription of the broker newBroker makes.
var sseviewBroker = &Contestant{
	Name:      "sseview-broker",
	Mode:      Broadcast,
	Shutdown:  "sseview.EndStreamsOnShutdown",
	KeepAlive: "built in, 15 s",
	New: func() *Instance {
		b := newBroker()
		return &Instance{
			Handler: sseview.AsView(subView{b}),
			Publish: func(ctx context.Context, data string) error {
				_, err := b.Publish(ctx, "t", sseview.Text{Data: data})
				return err
			},
			Prepare: endStreams,
		}
	},
}

type subView struct{ b sseview.Broker }

func (v subView) Stream(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	return v.b.Subscribe(ctx, "t", sseview.LastEventID(r))
}
