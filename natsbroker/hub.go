package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sseview/sseview/internal/fanout"
	"github.com/sseview/sseview/sseview"
)

// hub is the live feed of one subject on this instance: one ordered
// consumer whose messages are decoded and encoded once, then handed to
// every local subscriber's queue by the shared fan-out.
type hub struct {
	b       *Broker
	subject string
	ready   chan struct{} // closed when started; err is set before
	err     error
	users   int           // guarded by b.mu
	halted  chan struct{} // closed once stop has stopped the consumer

	mu       sync.Mutex
	last     uint64 // the sequence of the last message fanned out
	subs     fanout.Group[item]
	done     error // why the feed ended; nil while it runs
	cons     jetstream.Consumer
	cc       jetstream.ConsumeContext
	stopping bool // stop was called: a consumer started later is stopped at once
}

// item is one event of the live feed.
type item struct {
	seq uint64
	ev  *sseview.Encoded
	at  int64 // when the NATS server stored it (Unix ns), for the observer
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
			h = &hub{b: b, subject: subj, ready: make(chan struct{}), halted: make(chan struct{})}
			b.hubs[subj] = h
			b.starting.Add(1)
		}
		h.users++
		b.mu.Unlock()

		if starter {
			sctx, cancel := b.withLife(ctx)
			h.err = h.start(sctx)
			cancel()
			if h.err != nil && b.life.Err() != nil {
				h.err = ErrClosed
			}
			if h.err != nil {
				// Later users start afresh rather than inherit this failure.
				b.mu.Lock()
				if b.hubs[subj] == h {
					delete(b.hubs, subj)
				}
				b.mu.Unlock()
			}
			close(h.ready)
			b.starting.Done()
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
	stopping := h.stopping
	if !stopping {
		h.cons, h.cc = cons, cc
	}
	h.mu.Unlock()
	if stopping {
		// Close stopped the hub while it started.
		cc.Stop()
		<-cc.Closed()
		h.b.deleteConsumer(ctx, cons)
		return ErrClosed
	}
	return nil
}

// stop ends the live consumer and deletes it from the server. It returns
// once the consumer has stopped, whichever call of stop stopped it.
func (h *hub) stop(ctx context.Context) {
	h.mu.Lock()
	if h.stopping {
		h.mu.Unlock()
		<-h.halted
		return
	}
	h.stopping = true
	cons, cc := h.cons, h.cc
	h.cons, h.cc = nil, nil
	h.mu.Unlock()
	if cc != nil {
		cc.Stop()
		<-cc.Closed()
		h.b.deleteConsumer(ctx, cons)
	}
	close(h.halted)
}

// fail ends the feed and every subscription on it with err, after the
// events each had waiting.
func (h *hub) fail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done == nil {
		h.done = err
	}
	h.subs.End(err)
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
	h.subs.Send(item{seq: seq, ev: ev, at: md.Timestamp.UnixNano()}, h.b.queue)
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
func (h *hub) add(s *fanout.Queue[item]) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done != nil {
		s.End(h.done)
		return h.last
	}
	h.subs.Add(s)
	return h.last
}

func (h *hub) remove(s *fanout.Queue[item]) {
	h.mu.Lock()
	h.subs.Remove(s)
	h.mu.Unlock()
}
