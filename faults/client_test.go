package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const wait = 5 * time.Second

// sequence serves one event per connection, with the next id, and records
// the Last-Event-ID of every request. The first stream sets retry: 1 ms and
// ends; later ones end too, so the client keeps reconnecting.
type sequence struct {
	mu   sync.Mutex
	last []string
}

func (s *sequence) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.last = append(s.last, r.Header.Get("Last-Event-ID"))
	n := len(s.last)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprintf(w, "retry: 1\nid: %d\nevent: weather\ndata: {\"time\":%q}\n\n", n, t0.Add(time.Duration(n)*time.Second).Format(time.RFC3339))
}

func (s *sequence) lastEventIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.last...)
}

// runClient runs c until it has received n events, and returns them.
func runClient(t *testing.T, c *client, n int) []received {
	t.Helper()
	progress := make(chan struct{}, 1)
	c.progress = progress
	c.httpc = &http.Client{Transport: &http.Transport{}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.run(ctx)
	}()
	defer func() {
		cancel()
		<-done
		c.httpc.Transport.(*http.Transport).CloseIdleConnections()
	}()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		if got, _, _ := c.log(); len(got) >= n {
			return got[:n]
		}
		select {
		case <-progress:
		case <-deadline.C:
			got, _, _ := c.log()
			t.Fatalf("%d events of %d after %v", len(got), n, wait)
		}
	}
}

func TestClientResumesWithLastEventIDAfterTheServersRetry(t *testing.T) {
	seq := &sequence{}
	srv := httptest.NewServer(seq)
	defer srv.Close()
	c := &client{point: "1.00,2.00", urls: []string{srv.URL}, pinned: true, reconnect: time.Hour}
	got := runClient(t, c, 3)
	for i, r := range got {
		assert.Equal(t, fmt.Sprint(i+1), r.ID)
		assert.Equal(t, i+1, r.Conn)
		assert.Equal(t, t0.Add(time.Duration(i+1)*time.Second), r.Reading.UTC())
	}
	// The client waited the server's 1 ms, not its own hour, and sent back
	// the id it had each time.
	assert.Equal(t, []string{"", "1", "2"}, seq.lastEventIDs()[:3])
}

func TestClientFailsOverWhenItsHomeRefuses(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close() // nothing listens there now: connections are refused
	seq := &sequence{}
	srv := httptest.NewServer(seq)
	defer srv.Close()
	c := &client{point: "1.00,2.00", urls: []string{gone.URL, srv.URL}, home: 0, reconnect: time.Millisecond}
	got := runClient(t, c, 2)
	assert.Equal(t, 1, got[0].Instance, "served by the instance that is up")
	assert.Equal(t, "2", got[1].ID)
	_, connects, failures := c.log()
	assert.GreaterOrEqual(t, connects, 2)
	assert.GreaterOrEqual(t, failures, 2, "it tried its home first each time")
	require.Equal(t, "1", seq.lastEventIDs()[1], "resumed on the other instance with its id")
}

func TestClientCountsAnAnswerThatIsNoStream(t *testing.T) {
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	defer bad.Close()
	seq := &sequence{}
	srv := httptest.NewServer(seq)
	defer srv.Close()
	c := &client{point: "1.00,2.00", urls: []string{bad.URL, srv.URL}, reconnect: time.Millisecond}
	runClient(t, c, 1)
	_, _, failures := c.log()
	assert.Positive(t, failures)
}
