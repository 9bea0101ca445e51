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

// countView reuses one *Text for all its events, as sseview.Event's doc
// shows for hot streams: the stream keeps no event after yield returns.
// raw reuses its buffer the same way.
type countView struct{}

func (countView) Stream(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	n, size := streamArgs(r)
	return func(yield func(sseview.Event, error) bool) {
		ev := &sseview.Text{}
		for i := range n {
			ev.Data = payload(i, size)
			if !yield(ev, nil) {
				return
			}
		}
	}
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
