package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sseview/sseview/internal/fanout"
	"github.com/sseview/sseview/sseview"
)

// Subscribe implements [sseview.Broker.Subscribe].
//
// It resumes after lastEventID when no event of the topic after it can have
// left the stream: when it is an event of the topic still kept; when it is
// a sequence still kept (of any topic) and the topic keeps fewer than
// MaxEvents events, so that none was removed by age or by count; or when
// it is after the topic's newest event kept and not from the future.
// Otherwise (and for a malformed id) the first event is the reset, whose id
// is the topic's newest event kept or, when the topic keeps nothing, the
// stream's last sequence; both are resumable ids. A reset may be
// conservative; a gap is never silent.
//
// The first use of a topic on this instance creates its live consumer,
// which is deleted when its last local subscriber leaves. Errors talking to
// NATS while starting end the subscription with that error.
func (b *Broker) Subscribe(ctx context.Context, topic, lastEventID string) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		yield = connClosedErrors(yield)
		subj, err := b.subject(topic)
		if err != nil {
			yield(nil, err)
			return
		}
		h, err := b.acquire(ctx, subj)
		if err != nil {
			if ctx.Err() == nil {
				yield(nil, err)
			}
			return
		}
		defer b.release(ctx, h)
		s := &fanout.Queue[item]{}
		if lastEventID != "" {
			s.StartCatchUp()
		}
		start := h.add(s)
		defer h.remove(s)

		pos := start
		if lastEventID != "" {
			var ok bool
			pos, ok = b.catchUp(ctx, subj, s, start, lastEventID, yield)
			if !ok {
				return
			}
		}
		err = s.Drain(ctx, func(it item, _ error) bool {
			if it.seq <= pos {
				return true // already delivered by the catch-up
			}
			pos = it.seq
			if !yield(it.ev, nil) {
				return false
			}
			if b.observer != nil {
				b.observer.Delivered(ctx, topic, time.Unix(0, it.at))
			}
			return true
		})
		if err != nil && ctx.Err() == nil {
			b.observeDropped(ctx, topic, err)
			yield(nil, err)
		}
	}
}

// observeDropped tells the observer of a subscription on topic that ends
// with err, when err is the drop of a slow subscriber.
func (b *Broker) observeDropped(ctx context.Context, topic string, err error) {
	if b.observer != nil && errors.Is(err, sseview.ErrSlowSubscriber) {
		b.observer.Dropped(ctx, topic)
	}
}

// connClosedErrors wraps yield so that every error caused by a connection
// closed for good, whichever call met it, is an [ErrConnClosed].
func connClosedErrors(yield func(sseview.Event, error) bool) func(sseview.Event, error) bool {
	return func(ev sseview.Event, err error) bool {
		if err != nil && !errors.Is(err, ErrConnClosed) &&
			(errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, jetstream.ErrConnectionClosed)) {
			err = fmt.Errorf("%w: %w", ErrConnClosed, err)
		}
		return yield(ev, err)
	}
}
