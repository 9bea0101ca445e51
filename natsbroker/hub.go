package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sseview/sseview/sseview"
)

// hub is the live feed of one subject on this instance: one ordered
// consumer whose messages are decoded and encoded once, then handed to
// every local subscriber's queue.
type hub struct {
	b       *Broker
	subject string
	ready   chan struct{} // closed when started; err is set before
	err     error
	users   int // guarded by b.mu

	mu   sync.Mutex
	last uint64 // the sequence of the last message fanned out
	subs map[*subscriber]struct{}
	done error // why the feed ended; nil while it runs
	cons jetstream.Consumer
	cc   jetstream.ConsumeContext
}

// acquire returns the running hub of subj, starting it if this is its first
// user. Each successful acquire is paired with a release.
func (b *Broker) acquire(ctx context.Context, subj string) (*hub, error) {
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return nil, ErrClosed
		}
		h := b.hubs[subj]
		starter := h == nil
		if starter {
			h = &hub{b: b, subject: subj, ready: make(chan struct{}), subs: make(map[*subscriber]struct{})}
			b.hubs[subj] = h
		}
		h.users++
		b.mu.Unlock()

		if starter {
			h.err = h.start(ctx)
			if h.err != nil {
				// Later users start afresh rather than inherit this failure.
				b.mu.Lock()
				if b.hubs[subj] == h {
					delete(b.hubs, subj)
				}
				b.mu.Unlock()
			}
			close(h.ready)
		} else {
			select {
			case <-h.ready:
			case <-ctx.Done():
				b.release(ctx, h)
				return nil, context.Cause(ctx)
			}
		}
		if h.err == nil {
			return h, nil
		}
		b.release(ctx, h)
		if starter || ctx.Err() != nil || !isContextError(h.err) {
			return nil, h.err
		}
		// The user who started the hub left before it was up: that is no
		// reason to fail this one, which starts it again.
	}
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// release drops a user of h and stops h when it was the last.
func (b *Broker) release(ctx context.Context, h *hub) {
	b.mu.Lock()
	h.users--
	last := h.users == 0
	if last && b.hubs[h.subject] == h {
		delete(b.hubs, h.subject)
	}
	b.mu.Unlock()
	if last {
		h.stop(ctx)
	}
}

// start creates the live consumer at the message after the subject's
// newest, so that the feed's position is known before its first message:
// a subscriber joining now needs to catch up to exactly that position.
func (h *hub) start(ctx context.Context) error {
	if !h.b.nc.IsConnected() {
		return ErrNotConnected
	}
	newest, err := h.b.newest(ctx, h.subject)
	if err != nil {
		return err
	}
	h.last = newest
	cons, err := h.b.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{h.subject},
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       newest + 1,
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return fmt.Errorf("natsbroker: live consumer on %s: %w", h.subject, err)
	}
	cc, err := cons.Consume(h.deliver, jetstream.ConsumeErrHandler(h.consumeError))
	if err != nil {
		h.b.deleteConsumer(ctx, cons)
		return fmt.Errorf("natsbroker: live consumer on %s: %w", h.subject, err)
	}
	h.mu.Lock()
	h.cons, h.cc = cons, cc
	h.mu.Unlock()
	return nil
}

// stop ends the live consumer and deletes it from the server.
func (h *hub) stop(ctx context.Context) {
	h.mu.Lock()
	cons, cc := h.cons, h.cc
	h.cons, h.cc = nil, nil
	h.mu.Unlock()
	if cc == nil {
		return
	}
	cc.Stop()
	<-cc.Closed()
	h.b.deleteConsumer(ctx, cons)
}

// fail ends the feed and every subscription on it with err.
func (h *hub) fail(err error) {
	h.mu.Lock()
	if h.done == nil {
		h.done = err
	}
	for s := range h.subs {
		s.fail(err)
		delete(h.subs, s)
	}
	h.mu.Unlock()
}

// deliver runs on the consumer's goroutine, once per message in stream
// order. It never blocks on a subscriber.
func (h *hub) deliver(msg jetstream.Msg) {
	md, err := msg.Metadata()
	if err != nil {
		h.b.logger.Error("natsbroker: live message without metadata", "subject", h.subject, "err", err)
		return
	}
	seq := md.Sequence.Stream
	ev, err := decode(h.subject, seq, msg.Headers(), msg.Data())
	h.mu.Lock()
	defer h.mu.Unlock()
	if seq <= h.last {
		return // a consumer reset may repeat what was delivered
	}
	h.last = seq
	if err != nil {
		h.b.logger.Error("natsbroker: skipping a message that is not an event", "err", err)
		return
	}
	it := item{seq: seq, ev: ev}
	for s := range h.subs {
		if !s.offer(it) {
			delete(h.subs, s)
		}
	}
}

// consumeError hears the live consumer's troubles. The ordered consumer
// recreates itself after a reconnection or a missed heartbeat; only a
// connection closed for good ends the feed.
func (h *hub) consumeError(_ jetstream.ConsumeContext, err error) {
	if errors.Is(err, jetstream.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionClosed) {
		h.fail(fmt.Errorf("%w: live feed of %s: %w", ErrConnClosed, h.subject, err))
		return
	}
	h.b.logger.Warn("natsbroker: live feed trouble; it recovers by itself", "subject", h.subject, "err", err)
}

// add joins s to the feed and returns the feed's position: s gets every
// message after it.
func (h *hub) add(s *subscriber) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done != nil {
		s.fail(h.done)
		return h.last
	}
	h.subs[s] = struct{}{}
	return h.last
}

func (h *hub) remove(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// item is one event of the live feed.
type item struct {
	seq uint64
	ev  *sseview.Encoded
}

// subscriber is the queue between the live feed and one subscription.
type subscriber struct {
	wake chan struct{} // holds a token when there is news

	mu         sync.Mutex
	queue      []item // queue[head:] are waiting
	head       int
	max        int
	catchingUp bool   // an overflow drops the queue instead of the subscriber
	lostTo     uint64 // while catching up: the newest event dropped from the queue
	err        error
}

func newSubscriber(max int, catchingUp bool) *subscriber {
	return &subscriber{wake: make(chan struct{}, 1), max: max, catchingUp: catchingUp}
}

// offer queues it. It returns false when the subscriber is full and has
// been failed with [sseview.ErrSlowSubscriber].
func (s *subscriber) offer(it item) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue)-s.head >= s.max {
		if !s.catchingUp {
			s.err = sseview.ErrSlowSubscriber
			s.signal()
			return false
		}
		// The catch-up reads these from the stream instead.
		clear(s.queue)
		s.queue, s.head = s.queue[:0], 0
		s.lostTo = it.seq
		return true
	}
	if len(s.queue) == cap(s.queue) && s.head > 0 {
		n := copy(s.queue, s.queue[s.head:])
		clear(s.queue[n:])
		s.queue, s.head = s.queue[:n], 0
	}
	s.queue = append(s.queue, it)
	s.signal()
	return true
}

func (s *subscriber) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.signal()
}

// catchUpTarget returns the sequence the catch-up must read up to from
// pos, or 0 when it is done, in which case the live queue takes over.
func (s *subscriber) catchUpTarget(start, pos uint64) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := max(start, s.lostTo); t > pos {
		return t
	}
	s.catchingUp = false
	return 0
}

// take waits for the oldest queued event and removes it from the queue.
// An event stays in the queue, counting against its length, until the
// subscription is ready for it.
func (s *subscriber) take(ctx context.Context) (item, error) {
	for {
		s.mu.Lock()
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			return item{}, err
		}
		if s.head < len(s.queue) {
			it := s.queue[s.head]
			s.queue[s.head] = item{}
			s.head++
			if s.head == len(s.queue) {
				s.queue, s.head = s.queue[:0], 0
			}
			s.mu.Unlock()
			return it, nil
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-ctx.Done():
			return item{}, context.Cause(ctx)
		}
	}
}
