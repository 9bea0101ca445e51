package sseview_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

// writeLog is a middleware that records every Write and Flush that reach
// the connection's writer, and holds the first Write until release is
// closed, so that a test can queue events behind it.
type writeLog struct {
	entered chan struct{} // closed when the first Write arrives
	release chan struct{}

	mu  sync.Mutex
	ops []string // "write <bytes>" or "flush", after the first Write
}

func newWriteLog() *writeLog {
	return &writeLog{entered: make(chan struct{}), release: make(chan struct{})}
}

func (l *writeLog) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&loggedWriter{ResponseWriter: w, log: l}, r)
	})
}

func (l *writeLog) record(op string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops = append(l.ops, op)
}

func (l *writeLog) recorded() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ops...)
}

type loggedWriter struct {
	http.ResponseWriter
	log   *writeLog
	wrote bool
}

func (w *loggedWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.wrote = true
		close(w.log.entered)
		<-w.log.release
	} else {
		w.log.record("write " + strconv.Itoa(len(p)))
	}
	return w.ResponseWriter.Write(p)
}

func (w *loggedWriter) Flush() {
	if w.wrote {
		w.log.record("flush")
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *loggedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var _ http.Flusher = (*loggedWriter)(nil)

// A subscriber that wakes to several queued events writes them in one
// write and one flush, in order, and the client ends with the last id. The
// broker finds the stream through the context the Handler gives the view,
// whether or not something may end the stream early (EndStreamsOnShutdown,
// as the README sets up every server, or MaxLifetime).
func TestSubscriberWritesQueuedEventsTogether(t *testing.T) {
	tests := []struct {
		name     string
		handler  sseview.Handler
		shutdown bool
	}{
		{"EndStreamsOnShutdown", sseview.Handler{}, true},
		{"MaxLifetime", sseview.Handler{MaxLifetime: time.Hour}, false},
		{"nothing ends streams early", sseview.Handler{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			broker := &sseview.MemoryBroker{}
			wl := newWriteLog()
			r := appRouter()
			r.Use(wl.middleware)
			h := tt.handler
			h.View = room{broker: broker}
			r.Handle("/rooms/{room}", &h)
			srv := httptest.NewUnstartedServer(r)
			if tt.shutdown {
				sseview.EndStreamsOnShutdown(srv.Config, time.Second)
			}
			srv.Start()
			defer srv.Close()
			s, err := sseviewtest.Dial(srv.Client(), httptest.NewRequest(http.MethodGet, srv.URL+"/rooms/lobby", nil))
			require.NoError(t, err)
			defer s.Close()

			// Warm up until the stream's first write is held: from then
			// on, whatever is published queues behind it.
			var ids []string
			publish := func(data string) {
				id, err := broker.Publish(t.Context(), "room.lobby", sseview.Text{Data: data})
				require.NoError(t, err)
				ids = append(ids, id)
			}
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			deadline := time.After(10 * time.Second)
			for held := false; !held; {
				select {
				case <-wl.entered:
					held = true
				case <-tick.C:
					publish("warm-up")
				case <-deadline:
					t.Fatal("the subscription never wrote")
				}
			}
			for i := range 10 {
				publish("burst " + strconv.Itoa(i))
			}
			close(wl.release)

			// Every event arrives once, in order.
			for range len(ids) - 10 {
				ev, err := s.Next()
				require.NoError(t, err)
				assert.Equal(t, "warm-up", ev.Data)
			}
			for i := range 10 {
				s.Expect(t, sseviewtest.Event{Type: "message", ID: ids[len(ids)-10+i], Data: "burst " + strconv.Itoa(i)})
			}
			assert.Equal(t, ids[len(ids)-1], s.LastEventID())
			// The first write was held; what had queued behind it went
			// out in one write and one flush.
			ops := wl.recorded()
			require.NotEmpty(t, ops)
			assert.Equal(t, []string{"flush", ops[1], "flush"}, ops, "after the held write")
		})
	}
}
