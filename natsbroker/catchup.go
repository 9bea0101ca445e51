package natsbroker

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sseview/sseview/internal/fanout"
	"github.com/sseview/sseview/sseview"
)

// catchUp delivers the events after lastEventID that the live feed will
// not: those up to start (the live feed's position when s joined it), and
// any the live feed had to drop from s's buffer while it was catching up.
// It returns the sequence of the last event delivered; false means the
// subscription is over.
//
// An ordered consumer skips events removed before it reaches them. So the
// events are read in batches, and a batch is handed on only once the
// position before it is found still resumable: then nothing in the batch's
// range had been removed when it was read. Each batch has its own
// consumer, which is gone before the batch is handed on, so a slow client
// holds no consumer and no catch-up turn.
func (b *Broker) catchUp(ctx context.Context, subj string, s *fanout.Queue[item], start uint64, lastEventID string,
	yield func(sseview.Event, error) bool) (uint64, bool) {
	fail := func(err error) (uint64, bool) {
		if ctx.Err() == nil {
			yield(nil, err)
		}
		return 0, false
	}
	yielded, resetSent := false, false
	replayed := 0 // for the observer
	var pos uint64
	// begin decides where to start (again) from the client's id; false
	// means the subscription is over.
	begin := func() bool {
		var reset sseview.Event
		var err error
		if pos, reset, err = b.resumePoint(ctx, subj, lastEventID); err != nil {
			fail(err)
			return false
		}
		if reset != nil {
			yielded, resetSent = true, true
			if b.observer != nil {
				b.observer.Reset(ctx, b.topicOf(subj))
			}
			return yield(reset, nil)
		}
		return true
	}
	if !begin() {
		return 0, false
	}
	for restarts := 0; ; {
		target := catchUpTarget(s, start, pos)
		if target == 0 {
			if b.observer != nil && !resetSent {
				b.observer.CaughtUp(ctx, b.topicOf(subj), replayed)
			}
			return pos, true
		}
		select {
		case b.catchUps <- struct{}{}:
		case <-ctx.Done():
			return 0, false
		}
		batch, end, err := b.readBatchWhileOpen(ctx, subj, pos, target)
		<-b.catchUps
		if err != nil {
			return fail(err)
		}
		ok := true
		if len(batch) > 0 {
			if ok, err = b.resumable(ctx, subj, pos); err != nil {
				return fail(err)
			}
		}
		// Otherwise the stream no longer holds all the events up to the
		// target: some were removed before this subscriber could read them.
		ok = ok && !(end && batch.last(pos) < target)
		if !ok {
			if yielded || restarts == 2 {
				// Its client resumes from what it has, or gets a reset.
				b.observeDropped(ctx, b.topicOf(subj), sseview.ErrSlowSubscriber)
				return fail(sseview.ErrSlowSubscriber)
			}
			// The client's id went out of the history just now. Nothing
			// was sent yet, so the subscription can still start with the
			// reset it would get on reconnecting.
			restarts++
			if !begin() {
				return 0, false
			}
			continue
		}
		for _, it := range batch {
			if it.ev != nil {
				if !yield(it.ev, nil) {
					return 0, false
				}
				yielded = true
				replayed++
			}
			pos = it.seq
		}
	}
}

// catchUpTarget returns the sequence the catch-up of s must read up to
// from pos, or 0 when it is done, in which case s leaves catch-up mode and
// the live queue takes over: start is the live feed's position when s
// joined it, and the queue may have discarded newer events since.
func catchUpTarget(s *fanout.Queue[item], start, pos uint64) uint64 {
	var target uint64
	s.FinishCatchUp(func(lost item, hasLost bool) bool {
		target = start
		if hasLost {
			target = max(target, lost.seq)
		}
		return target <= pos
	})
	if target <= pos {
		return 0
	}
	return target
}

// readBatchWhileOpen is readBatch, counted for Close, which cancels it.
func (b *Broker) readBatchWhileOpen(ctx context.Context, subj string, pos, target uint64) (items, bool, error) {
	b.mu.Lock()
	closed := b.closed
	if !closed {
		b.reading.Add(1)
	}
	b.mu.Unlock()
	if closed {
		return nil, false, ErrClosed
	}
	defer b.reading.Done()
	ctx, cancel := b.withLife(ctx)
	defer cancel()
	batch, end, err := b.readBatch(ctx, subj, pos, target)
	if err != nil && b.life.Err() != nil {
		err = ErrClosed
	}
	return batch, end, err
}

// items are events read from the stream, oldest first.
type items []item

// last returns the sequence of the last item, or pos when there is none.
func (is items) last(pos uint64) uint64 {
	if len(is) == 0 {
		return pos
	}
	return is[len(is)-1].seq
}

// catchUpBatch is how many events a catch-up reads with one consumer.
const catchUpBatch = 128

// readBatch reads subj's events after pos with an ordered consumer: up to
// catchUpBatch of them, stopping at the first at or after target. end says
// the stream had no more.
func (b *Broker) readBatch(ctx context.Context, subj string, pos, target uint64) (batch items, end bool, err error) {
	cons, err := b.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{subj},
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       pos + 1,
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return nil, false, fmt.Errorf("natsbroker: catch-up consumer on %s: %w", subj, err)
	}
	defer b.deleteConsumer(ctx, cons)
	info := cons.CachedInfo()
	if info != nil && info.NumPending == 0 {
		return nil, true, nil
	}
	msgs, err := cons.Messages(jetstream.PullMaxMessages(catchUpBatch))
	if err != nil {
		return nil, false, fmt.Errorf("natsbroker: catch-up on %s: %w", subj, err)
	}
	defer msgs.Stop()
	for len(batch) < catchUpBatch {
		msg, err := msgs.Next(jetstream.NextContext(ctx))
		if err != nil {
			return nil, false, fmt.Errorf("natsbroker: catch-up on %s: %w", subj, err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return nil, false, fmt.Errorf("natsbroker: catch-up on %s: %w", subj, err)
		}
		seq := md.Sequence.Stream
		ev, err := decode(subj, seq, msg.Headers(), msg.Data())
		if err != nil {
			b.logger.ErrorContext(ctx, "natsbroker: skipping a message that is not an event", "err", err)
		}
		batch = append(batch, item{seq: seq, ev: ev})
		if md.NumPending == 0 {
			return batch, true, nil
		}
		if seq >= target {
			break
		}
	}
	return batch, false, nil
}

// deleteConsumer removes an ordered consumer from the server now rather
// than at its inactivity threshold. It is best effort: a failure leaves it
// to the threshold.
func (b *Broker) deleteConsumer(ctx context.Context, cons jetstream.Consumer) {
	info := cons.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = b.js.DeleteConsumer(ctx, b.name, info.Name)
}
