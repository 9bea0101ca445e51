package main

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/sseview/sseview/internal/eventstream"
)

// client is an EventSource-like reader of one point's stream: it keeps the
// last event id, and when the stream ends it waits the reconnection time
// (the server's last retry, else its default) and reconnects with the id as
// Last-Event-ID. A pinned client only ever connects to its home instance,
// as a browser to a single host; another one, as behind a load balancer,
// goes to the other instance at once when its home refuses the connection.
//
// It reads with the spec's parser (internal/eventstream) rather than the
// test kit sseview/sseviewtest, whose Reconnect goes back to the same URL
// at once and leaves the Stream unconnected after a refusal: this client
// waits the retry, fails over to the other instance, and counts a refusal
// and goes on.
type client struct {
	n         int
	point     string
	home      int
	pinned    bool
	urls      []string      // the instances' base URLs
	reconnect time.Duration // the reconnection time until the server sets one
	httpc     *http.Client
	progress  chan<- struct{} // signalled, without blocking, after each event

	mu          sync.Mutex
	got         []received
	latest      time.Time // the newest reading received
	lastEventID string
	connects    int // streams opened
	failures    int // connections refused or answered with something else than a stream
}

// received is one event as the client got it.
type received struct {
	At       time.Time // when it arrived
	Type     string
	ID       string    // the last event id after it; "" when none was ever set
	Reading  time.Time // its data's "time" for a weather event
	Instance int
	Conn     int // which of the client's streams it came on, from 1
}

// run reads until ctx is done.
func (c *client) run(ctx context.Context) {
	retry := c.reconnect
	order := []int{c.home}
	if !c.pinned {
		for i := range c.urls {
			if i != c.home {
				order = append(order, i)
			}
		}
	}
	for ctx.Err() == nil {
		for _, i := range order {
			if c.stream(ctx, i, &retry) {
				break
			}
		}
		t := time.NewTimer(retry)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// stream reads one connection to instance i to its end. It returns false
// when there was no event stream to read.
func (c *client) stream(ctx context.Context, i int, retry *time.Duration) bool {
	c.mu.Lock()
	last := c.lastEventID
	c.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.urls[i]+"/weather/"+c.point+"/", nil)
	if err != nil {
		return false
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	resp, err := c.httpc.Do(req)
	if err != nil {
		c.count(&c.failures)
		return false
	}
	defer resp.Body.Close()
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || mediaType != "text/event-stream" {
		// A browser would give up for good; the harness counts it and
		// goes on, so one bad answer does not end the run.
		c.count(&c.failures)
		return false
	}
	conn := c.count(&c.connects)
	p := eventstream.NewResumedParser(resp.Body, last)
	for {
		ev, err := p.Next()
		if err != nil {
			break
		}
		c.record(received{At: time.Now(), Type: ev.Type, ID: ev.LastEventID,
			Reading: readingTime(ev.Data), Instance: i, Conn: conn}, p.ReconnectID())
	}
	if r, ok := p.Retry(); ok {
		*retry = r
	}
	c.mu.Lock()
	c.lastEventID = p.ReconnectID()
	c.mu.Unlock()
	return true
}

func (c *client) count(n *int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	*n++
	return *n
}

func (c *client) record(r received, lastEventID string) {
	c.mu.Lock()
	c.got = append(c.got, r)
	c.lastEventID = lastEventID
	if r.Type == "weather" && r.Reading.After(c.latest) {
		c.latest = r.Reading
	}
	c.mu.Unlock()
	select {
	case c.progress <- struct{}{}:
	default:
	}
}

// newest is the newest reading the client has received.
func (c *client) newest() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.latest
}

// log returns what the client received and its counts.
func (c *client) log() (got []received, connects, failures int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]received(nil), c.got...), c.connects, c.failures
}

// readingTime is the "time" of a weather event's data; zero when it has
// none.
func readingTime(data string) time.Time {
	var r struct {
		Time time.Time `json:"time"`
	}
	if json.Unmarshal([]byte(data), &r) != nil {
		return time.Time{}
	}
	return r.Time
}
