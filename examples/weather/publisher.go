package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/sseview/sseview/sseview"
)

// The defaults of the Updater's publishing, and how often it retries.
const (
	defaultPublishTimeout = 2 * time.Second
	defaultBacklog        = 100
	// A failed publish is retried after retryMin, doubling up to retryMax:
	// soon enough that a broker that is back gets the backlog within a
	// second, rarely enough that a broker that is down is not flooded.
	retryMin = 100 * time.Millisecond
	retryMax = time.Second
)

// publisher publishes readings to a broker in order per point, each point on
// a goroutine of its own, so that a point whose publish hangs delays no
// other point, nor the next round of readings.
//
// A reading that could not be published waits in its point's backlog and is
// retried, with the same [sseview.Keyed] key, until it is: a publish that
// failed ambiguously (a timeout after the broker stored it) is then stored
// once by a broker that honours Keyed. A backlog holds at most limit
// readings besides the one being published; past that the oldest waiting
// reading is dropped, logged at Error and counted ([Updater.Dropped]).
// Readings still waiting when run returns are logged at Error.
type publisher struct {
	broker      sseview.Broker
	timeout     time.Duration // bounds each Publish call
	limit       int           // readings waiting per point
	logger      *slog.Logger
	onPublished func(point string, r Reading, id string) // called with no lock of the publisher held

	// mu guards what follows. Lock order: Updater.mu is never held while
	// mu is taken, and mu is released before onPublished and before
	// any Publish.
	mu      sync.Mutex
	points  map[string]*backlog // point → its readings to publish
	ready   []*backlog          // backlogs with readings and no goroutine yet, started by run
	wake    chan struct{}       // capacity 1: ready has something for run
	dropped int                 // readings given up
}

// backlog is one point's readings to publish, oldest first. While draining,
// pending[0] is the reading being published, which no overflow drops.
type backlog struct {
	point    string
	pending  []*pending
	draining bool      // a goroutine of run publishes it
	failing  time.Time // when the current run of failures began; zero while publishing works
}

type pending struct {
	reading   Reading
	event     sseview.Keyed
	attempted chan struct{} // closed once it was tried, published or not
}

func newPublisher(broker sseview.Broker, timeout time.Duration, limit int, logger *slog.Logger, onPublished func(string, Reading, string)) *publisher {
	if timeout <= 0 {
		timeout = defaultPublishTimeout
	}
	if limit <= 0 {
		limit = defaultBacklog
	}
	return &publisher{broker: broker, timeout: timeout, limit: limit, logger: logger, onPublished: onPublished,
		points: make(map[string]*backlog), wake: make(chan struct{}, 1)}
}

// enqueue adds point's reading r, the event ev, to its backlog and returns
// a channel closed once it has been tried (or dropped). Readings are
// published only while run runs.
func (p *publisher) enqueue(point string, r Reading, ev sseview.Keyed) <-chan struct{} {
	pd := &pending{reading: r, event: ev, attempted: make(chan struct{})}
	p.mu.Lock()
	defer p.mu.Unlock()
	bl := p.points[point]
	if bl == nil {
		bl = &backlog{point: point}
		p.points[point] = bl
	}
	bl.pending = append(bl.pending, pd)
	waiting := len(bl.pending)
	oldest := 0
	if bl.draining {
		waiting--
		oldest = 1
	}
	if waiting > p.limit {
		gone := bl.pending[oldest]
		bl.pending = append(bl.pending[:oldest], bl.pending[oldest+1:]...)
		close(gone.attempted)
		p.dropped++
		p.logger.Error("weather: publish backlog full, dropped a reading", "point", point,
			"reading", gone.reading.Time, "backlog", p.limit, "dropped_total", p.dropped)
	}
	if !bl.draining {
		bl.draining = true
		p.ready = append(p.ready, bl)
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	return pd.attempted
}

// run publishes the backlogs until ctx is done, each on a goroutine of its
// own, and returns when they all have stopped.
func (p *publisher) run(ctx context.Context) {
	var wg sync.WaitGroup
	for {
		p.mu.Lock()
		ready := p.ready
		p.ready = nil
		p.mu.Unlock()
		for _, bl := range ready {
			wg.Go(func() { p.drain(ctx, bl) })
		}
		select {
		case <-p.wake:
		case <-ctx.Done():
			wg.Wait()
			p.logUnpublished()
			return
		}
	}
}

// drain publishes bl's readings in order until it is empty or ctx is done.
func (p *publisher) drain(ctx context.Context, bl *backlog) {
	delay := retryMin
	for {
		p.mu.Lock()
		if len(bl.pending) == 0 || ctx.Err() != nil {
			bl.draining = false
			if len(bl.pending) == 0 && p.points[bl.point] == bl {
				delete(p.points, bl.point)
			}
			p.mu.Unlock()
			return
		}
		head := bl.pending[0]
		p.mu.Unlock()

		pctx, cancel := context.WithTimeout(ctx, p.timeout)
		id, err := p.broker.Publish(pctx, Topic(bl.point), head.event)
		cancel()
		if err != nil && ctx.Err() != nil {
			continue // shutting down: the reading stays, logged by run
		}
		invalid := errors.Is(err, sseview.ErrInvalidEvent)
		if err == nil {
			// Before attempted is closed: whoever waits on it reads it back.
			p.onPublished(bl.point, head.reading, id)
		}

		p.mu.Lock()
		select {
		case <-head.attempted:
		default:
			close(head.attempted)
		}
		if err == nil || invalid {
			bl.pending = bl.pending[1:]
		}
		failingSince := bl.failing
		if err == nil {
			bl.failing = time.Time{}
		} else if !invalid && failingSince.IsZero() {
			bl.failing = time.Now()
		}
		waiting := len(bl.pending)
		if invalid {
			p.dropped++
		}
		p.mu.Unlock()

		switch {
		case err == nil:
			if !failingSince.IsZero() {
				p.logger.Info("weather: publishing works again", "point", bl.point,
					"failed_for", time.Since(failingSince).Round(time.Millisecond), "waiting", waiting)
			}
			delay = retryMin
		case invalid:
			// Retrying cannot help: the event itself is refused.
			p.logger.Error("weather: reading cannot be published, dropped", "point", bl.point,
				"reading", head.reading.Time, "err", err)
		default:
			if failingSince.IsZero() {
				p.logger.Warn("weather: publish failed, retrying until it works", "point", bl.point,
					"reading", head.reading.Time, "waiting", waiting, "err", err)
			}
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
			delay = min(2*delay, retryMax)
		}
	}
}

// logUnpublished logs, per point, the readings that are still waiting.
func (p *publisher) logUnpublished() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for point, bl := range p.points {
		if len(bl.pending) > 0 {
			p.logger.Error("weather: readings never published", "point", point, "count", len(bl.pending),
				"oldest", bl.pending[0].reading.Time)
		}
	}
}

// droppedCount is how many readings were given up.
func (p *publisher) droppedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped
}
