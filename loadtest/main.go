// Command fanoutload is the loopback load test of every broker of this
// repository (-broker memory, nats or redis), measured the same way behind
// a chi event stream route: it opens many real SSE connections over 127.0.0.1, publishes
// events at a steady rate for a bounded time, and prints deliveries per
// second, publish-to-receive latency (p50, p99, max), whether every client
// got every event exactly once and in order, and the server's memory per
// subscriber. It exits non-zero when an event went missing.
//
// The server runs in a child process (this program with -serve), so the
// memory it reports is the server's alone:
//
//	go run . -broker redis -clients 1000 -rate 100 -duration 10s   # in loadtest/
//
// With -broker nats and no -nats URL the child starts a NATS server with
// JetStream inside itself, storing in a temporary directory. With -broker
// redis and no -redis URL it starts a redis-server of its own on a free
// 127.0.0.1 port, storing in a temporary directory (append-only file on,
// fsynced every second, as the README advises); redis-server must be
// installed.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type options struct {
	broker     string
	natsURL    string
	redisURL   string
	clients    int
	rate       int
	duration   time.Duration
	cpuProfile string
	queue      int
}

func main() {
	var o options
	serve := flag.Bool("serve", false, "run as the server child (used by the load test itself)")
	flag.StringVar(&o.broker, "broker", "memory", "broker under test: "+brokers)
	flag.StringVar(&o.natsURL, "nats", "", "NATS URL for -broker nats; empty starts one in the server process")
	flag.StringVar(&o.redisURL, "redis", "", "Redis URL for -broker redis; empty starts a redis-server for the run")
	flag.IntVar(&o.clients, "clients", 1000, "SSE client connections")
	flag.IntVar(&o.rate, "rate", 100, "events published per second")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long to publish")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write the server's CPU profile to this file")
	flag.IntVar(&o.queue, "queue", 0, "the broker's per-subscriber queue length; 0 is its default")
	flag.Parse()
	if o.clients < 1 || o.rate < 1 || o.duration <= 0 || o.duration > 10*time.Minute {
		fmt.Fprintln(os.Stderr, "fanoutload: -clients and -rate must be positive, -duration in (0, 10m]")
		os.Exit(2)
	}
	var err error
	if *serve {
		err = runServer(o)
	} else {
		err = runLoad(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// stats is what the server reports about itself.
type stats struct {
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	Goroutines int    `json:"goroutines"`
}

func readStats() stats {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return stats{HeapInuse: m.HeapInuse, StackInuse: m.StackInuse, Goroutines: runtime.NumGoroutine()}
}

// maxReconnects bounds how often one client reconnects.
const maxReconnects = 100

// client is one SSE connection and what it received.
type client struct {
	lastID     string // the id of the last event, sent back on reconnection
	reconnects int
	next       int             // how many measured events it has
	seen       []bool          // by event index
	latencies  []time.Duration // one per measured event
	warm       atomic.Bool     // it has received a warm-up event
	broken     error           // out-of-order or duplicate event, or a reset
}

// idBefore is the order of a topic's ids that both brokers give: decimal
// sequences after a fixed prefix, so shorter first, then bytewise.
func idBefore(a, b string) bool {
	return len(a) < len(b) || len(a) == len(b) && a < b
}

func runLoad(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.duration+3*time.Minute)
	defer cancel()

	base, quit, err := startServer(ctx, o)
	if err != nil {
		return err
	}
	defer quit()
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: -1}}
	var before stats
	if err := getJSON(ctx, httpc, base+"/stats", &before); err != nil {
		return err
	}
	marker, err := post(ctx, httpc, base+"/publish?type=marker")
	if err != nil {
		return err
	}

	total := o.rate * int(o.duration/time.Second)
	if total == 0 {
		total = 1
	}
	clients := make([]*client, o.clients)
	var wg sync.WaitGroup
	finished := make(chan struct{}, o.clients)
	streamCtx, endStreams := context.WithCancel(ctx)
	defer endStreams()
	opened := make(chan error, o.clients)
	sem := make(chan struct{}, 64) // connections opened at once
	for i := range clients {
		c := &client{latencies: make([]time.Duration, 0, total), seen: make([]bool, total)}
		clients[i] = c
		wg.Go(func() {
			sem <- struct{}{}
			body, err := openStream(streamCtx, httpc, base+"/events", marker)
			<-sem
			opened <- err
			if err != nil {
				return
			}
			// Like EventSource, reconnect with the last id when the stream
			// ends early: a subscriber dropped as slow resumes this way.
			for attempt := 0; ; {
				c.read(body, total, finished)
				body.Close()
				if streamCtx.Err() != nil || c.next == total || attempt == maxReconnects {
					return
				}
				c.reconnects++
				last := c.lastID
				if last == "" {
					last = marker
				}
				for body = nil; body == nil && attempt < maxReconnects; attempt++ {
					if body, err = openStream(streamCtx, httpc, base+"/events", last); err != nil {
						body = nil
						select {
						case <-time.After(100 * time.Millisecond):
						case <-streamCtx.Done():
							return
						}
					}
				}
				if body == nil {
					return
				}
			}
		})
	}
	for range o.clients {
		if err := <-opened; err != nil {
			endStreams()
			wg.Wait()
			return fmt.Errorf("fanoutload: open stream: %w", err)
		}
	}
	// Every client is on the live feed once it has a warm-up event.
	warmDeadline := time.Now().Add(time.Minute)
	for !allWarm(clients) {
		if time.Now().After(warmDeadline) {
			return errors.New("fanoutload: clients did not receive the warm-up event within a minute")
		}
		if _, err := post(ctx, httpc, base+"/publish?type=warmup"); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	var after stats
	if err := getJSON(ctx, httpc, base+"/stats", &after); err != nil {
		return err
	}

	start := time.Now()
	published, err := post(ctx, httpc, fmt.Sprintf("%s/run?rate=%d&count=%d", base, o.rate, total))
	if err != nil {
		return err
	}
	n, secs, _ := strings.Cut(published, " ")
	publishedN, _ := strconv.Atoi(n)
	publishSecs, _ := strconv.ParseFloat(secs, 64)
	deadline := time.After(30 * time.Second) // after the last publish
	done := 0
wait:
	for done < o.clients {
		select {
		case <-finished:
			done++
		case <-deadline:
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	elapsed := time.Since(start)
	endStreams()
	wg.Wait()

	var all []time.Duration
	complete, reconnects := 0, 0
	var firstBroken error
	for _, c := range clients {
		reconnects += c.reconnects
		all = append(all, c.latencies...)
		if c.broken == nil && c.next == total {
			complete++
		} else if firstBroken == nil {
			firstBroken = c.broken
			if firstBroken == nil {
				firstBroken = fmt.Errorf("got %d of %d events", c.next, total)
			}
		}
	}
	slices.Sort(all)
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("machine: %d CPUs, load average %s\n", runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:3], " "))
	}
	fmt.Printf("broker %s: %d clients, %d events at %d/s: %d published in %.2fs (%.0f/s)\n",
		o.broker, o.clients, total, o.rate, publishedN, publishSecs, float64(publishedN)/publishSecs)
	fmt.Printf("  deliveries: %d in %.2fs = %.0f/s\n", len(all), elapsed.Seconds(), float64(len(all))/elapsed.Seconds())
	if len(all) > 0 {
		fmt.Printf("  publish-to-receive latency: p50 %.2fms  p99 %.2fms  max %.2fms\n",
			ms(all[len(all)/2]), ms(all[len(all)*99/100]), ms(all[len(all)-1]))
	}
	fmt.Printf("  complete: %d/%d clients got every event exactly once, in order (%d reconnections with Last-Event-ID)\n",
		complete, o.clients, reconnects)
	heap := float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / float64(o.clients)
	stack := float64(int64(after.StackInuse)-int64(before.StackInuse)) / float64(o.clients)
	fmt.Printf("  server memory per subscriber: %.0f B heap + %.0f B goroutine stacks (%d goroutines for %d streams)\n",
		heap, stack, after.Goroutines-before.Goroutines, o.clients)
	if complete != o.clients || publishedN != total {
		return fmt.Errorf("fanoutload: FAIL: %d of %d clients incomplete (first: %v)", o.clients-complete, o.clients, firstBroken)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func allWarm(clients []*client) bool {
	for _, c := range clients {
		if !c.warm.Load() {
			return false
		}
	}
	return true
}

// read parses the event stream the server writes (LF line endings, one
// data line per event) until it has total measured events or the stream
// ends. Measured events carry "index publishUnixNano" as data. Ids must
// increase; each index must come once: with the total count checked at the
// end, every event arrived exactly once, in the broker's order.
func (c *client) read(body io.Reader, total int, finished chan<- struct{}) {
	r := bufio.NewReaderSize(body, 4096)
	var typ, data, id []byte
	hasID := false
	for c.next < total {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		line = line[:len(line)-1]
		switch {
		case len(line) == 0:
			if len(data) > 0 || len(typ) > 0 {
				if hasID {
					if c.lastID != "" && !idBefore(c.lastID, string(id)) && c.broken == nil {
						c.broken = fmt.Errorf("id %s after %s", id, c.lastID)
					}
					c.lastID = string(id)
				}
				c.dispatch(string(typ), data, total, finished)
			}
			typ, data, hasID = typ[:0], data[:0], false
		case bytes.HasPrefix(line, []byte("id: ")):
			id, hasID = append(id[:0], line[len("id: "):]...), true
		case bytes.HasPrefix(line, []byte("event: ")):
			typ = append(typ[:0], line[len("event: "):]...)
		case bytes.HasPrefix(line, []byte("data: ")):
			data = append(data[:0], line[len("data: "):]...)
		}
	}
}

func (c *client) dispatch(typ string, data []byte, total int, finished chan<- struct{}) {
	now := time.Now()
	switch typ {
	case "warmup":
		c.warm.Store(true)
		return
	case "load":
	default:
		if c.broken == nil {
			c.broken = fmt.Errorf("unexpected event %q %q", typ, data)
		}
		return
	}
	i, ns, ok := strings.Cut(string(data), " ")
	index, err1 := strconv.Atoi(i)
	sent, err2 := strconv.ParseInt(ns, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		c.broken = fmt.Errorf("malformed data %q", data)
		return
	}
	if index < 0 || index >= total || c.seen[index] {
		if c.broken == nil {
			c.broken = fmt.Errorf("event %d twice or out of range", index)
		}
		return
	}
	c.seen[index] = true
	c.next++
	c.latencies = append(c.latencies, now.Sub(time.Unix(0, sent)))
	if c.next == total {
		finished <- struct{}{}
	}
}

func openStream(ctx context.Context, httpc *http.Client, url, lastEventID string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", lastEventID)
	resp, err := httpc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return resp.Body, nil
}

func post(ctx context.Context, httpc *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return "", fmt.Errorf("fanoutload: POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("fanoutload: POST %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("fanoutload: POST %s: %s: %s", url, resp.Status, body)
	}
	return strings.TrimSpace(string(body)), nil
}

func getJSON(ctx context.Context, httpc *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return fmt.Errorf("fanoutload: GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// startServer runs this program with -serve and returns the address it
// listens on and a function that stops it.
func startServer(ctx context.Context, o options) (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, self, "-serve", "-broker", o.broker, "-nats", o.natsURL, "-redis", o.redisURL,
		"-clients", strconv.Itoa(o.clients), "-rate", strconv.Itoa(o.rate), "-duration", o.duration.String(),
		"-cpuprofile", o.cpuProfile, "-queue", strconv.Itoa(o.queue))
	cmd.Stderr = os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	quit := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		quit()
		return "", nil, fmt.Errorf("fanoutload: server did not start (%v)", err)
	}
	addr := strings.TrimSpace(line)
	if _, _, err := net.SplitHostPort(strings.TrimPrefix(addr, "http://")); err != nil {
		quit()
		return "", nil, fmt.Errorf("fanoutload: server said %q", line)
	}
	return addr, quit, nil
}
