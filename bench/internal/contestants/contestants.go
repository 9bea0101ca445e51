// Package contestants holds the server side of every library in the
// benchmark, each written the way its documentation recommends.
//
// A per-request contestant serves two routes:
//
//	/stream?n=N&size=S  N events of S bytes as fast as it can, then ends
//	/idle               one event, then nothing but its keep-alive, if it has one
//
// A broadcast contestant serves /sub, a subscription to one topic, and
// publishes through Publish.
package contestants

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/sseview/sseview/bench/internal/wire"
)

// Mode says which routes a contestant serves.
type Mode string

const (
	// PerRequest contestants produce each stream in its own handler.
	PerRequest Mode = "per-request"
	// Broadcast contestants fan one topic out to its subscribers.
	Broadcast Mode = "broadcast"
)

// Contestant describes one library under test.
type Contestant struct {
	Name string
	Mode Mode
	// Quoted is set when the library sends the payload as a JSON string.
	Quoted bool
	// Baseline is the contestant the others of its mode are compared to.
	Baseline bool
	// Shutdown says how the server ends its streams on http.Server.Shutdown.
	Shutdown string
	// KeepAlive says whether the library keeps idle streams alive.
	KeepAlive string
	// Unavailable, when set, says why the contestant cannot run; it is
	// still listed in every table.
	Unavailable string
	// ThroughputOnly marks a variant of another contestant that differs
	// from it in the per-event path alone: it runs in the throughput
	// scenarios only.
	ThroughputOnly bool
	// IdleOnly marks a variant of another contestant that differs from it
	// in what an idle stream costs: it runs in the idle scenarios only.
	IdleOnly bool
	// New builds a fresh instance for one server process.
	New func() *Instance
}

// Instance is one contestant inside one server process.
type Instance struct {
	Handler http.Handler
	// Publish sends data to every subscriber (broadcast only). It may block
	// when the library blocks.
	Publish func(ctx context.Context, data string) error
	// Prepare installs the library's recommended shutdown path on srv
	// before it serves.
	Prepare func(srv *http.Server)
	// routes are a per-request contestant's routes one by one; nil for a
	// broadcast contestant, whose Handler serves /sub.
	routes map[string]http.Handler
}

// Routes maps every path the contestant serves to its handler, for
// mounting on a router other than Handler.
func (i *Instance) Routes() map[string]http.Handler {
	if i.routes == nil {
		return map[string]http.Handler{"/sub": i.Handler}
	}
	return i.routes
}

// All lists the contestants in the order they run.
func All() []*Contestant {
	return []*Contestant{
		raw, rawCopy, sseviewView, sseviewBytes, sseviewValues, sseviewPlain, goSSEUpgrade, render,
		hub, sseviewBroker, goSSEServer, r3labs,
	}
}

// ByName returns the contestant called name, or nil.
func ByName(name string) *Contestant {
	for _, c := range All() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// streamArgs reads /stream's query.
func streamArgs(r *http.Request) (n, size int) {
	n, _ = strconv.Atoi(r.URL.Query().Get("n"))
	size, _ = strconv.Atoi(r.URL.Query().Get("size"))
	return n, min(size, wire.MaxSize)
}

// payload is the data of event seq: the application's work, the same for
// every contestant. A contestant whose library takes a string gets one
// allocated per event, as its users would.
func payload(seq int, size int) string {
	return wire.Payload(int64(seq), time.Now().UnixNano(), size)
}

// appendPayload appends the data of event seq to b, for contestants that
// take bytes: with a reused b it allocates nothing.
func appendPayload(b []byte, seq int, size int) []byte {
	return wire.AppendPayload(b, int64(seq), time.Now().UnixNano(), size)
}

const idleSize = 64

// keepAlive is the interval of every keep-alive in the benchmark: the
// spec's authoring note and sseview's default.
const keepAlive = 15 * time.Second

// perRequest is the instance of a per-request contestant: its two routes on
// a ServeMux.
func perRequest(stream, idle http.HandlerFunc) *Instance {
	m := http.NewServeMux()
	m.HandleFunc("GET /stream", stream)
	m.HandleFunc("GET /idle", idle)
	return &Instance{Handler: m, routes: map[string]http.Handler{"/stream": stream, "/idle": idle}}
}
