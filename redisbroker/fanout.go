package redisbroker

import (
	"sync"

	"github.com/sseview/sseview/sseview"
)

// This file is the fan-out of one topic's live feed to the subscribers of
// this instance. It has the shape of sseview.MemoryBroker's subscriber
// queue (a slice that grows with what a subscriber has yet to take, under a
// lock, and a one-slot wake channel; a subscriber QueueLen events behind is
// dropped after the events already queued), so that it can give way to a
// fan-out shared by every broker.

// item is one event of the live feed.
type item struct {
	id streamID
	ev *sseview.Encoded
}

// fanout hands each event of a feed to every subscriber. Lock order:
// fanout.mu, then subscriber.mu.
type fanout struct {
	mu    sync.Mutex
	last  streamID // the newest event handed out, or where the feed started
	subs  map[*subscriber]struct{}
	limit int   // QueueLen
	err   error // ends every subscriber, present and future, once set
}

func newFanout(start streamID, limit int) *fanout {
	return &fanout{last: start, subs: make(map[*subscriber]struct{}), limit: limit}
}

// join registers s and returns the feed's position: s gets every event
// after it.
func (f *fanout) join(s *subscriber) streamID {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		s.fail(f.err)
		return f.last
	}
	f.subs[s] = struct{}{}
	return f.last
}

func (f *fanout) leave(s *subscriber) {
	f.mu.Lock()
	delete(f.subs, s)
	f.mu.Unlock()
}

// position returns the id of the newest event handed out.
func (f *fanout) position() streamID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// deliver queues it for every subscriber, never waiting for one; one that
// is QueueLen events behind is dropped. An event at or before the feed's
// position is not handed out twice.
func (f *fanout) deliver(it item) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.last.less(it.id) {
		return
	}
	f.last = it.id
	if it.ev == nil {
		return // not an event: the position moves past it all the same
	}
	for s := range f.subs {
		if !s.put(it, f.limit) {
			delete(f.subs, s)
		}
	}
}

// fail ends every subscriber with err.
func (f *fanout) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
	for s := range f.subs {
		s.fail(err)
		delete(f.subs, s)
	}
}

// subscriber is the queue between a feed and one subscription.
type subscriber struct {
	// wake holds a signal when queue has events or err is set.
	wake chan struct{}

	mu    sync.Mutex
	queue []item
	err   error // after the queued events: sseview.ErrSlowSubscriber, or why the feed ended
}

func newSubscriber() *subscriber { return &subscriber{wake: make(chan struct{}, 1)} }

// put queues it, or drops s when limit events are waiting. It reports
// whether it was queued.
func (s *subscriber) put(it item, limit int) bool {
	s.mu.Lock()
	ok := s.err == nil && len(s.queue) < limit
	if ok {
		s.queue = append(s.queue, it)
	} else if s.err == nil {
		s.err = sseview.ErrSlowSubscriber
	}
	s.mu.Unlock()
	s.signal()
	return ok
}

func (s *subscriber) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.signal()
}

func (s *subscriber) signal() {
	select {
	case s.wake <- struct{}{}:
	default: // a signal is already pending
	}
}

// take returns what is queued, leaving spare's array as the new queue, and
// the error that follows those events, if any.
func (s *subscriber) take(spare []item) ([]item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = spare[:0]
	return q, s.err
}

// failure returns the error waiting behind s's queue, if any.
func (s *subscriber) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
