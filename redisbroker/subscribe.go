package redisbroker

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/sseview/sseview/internal/fanout"
	"github.com/sseview/sseview/sseview"
)

// catchUpBatch is how many events a catch-up reads per call to Redis.
const catchUpBatch = 128

// Subscribe implements [sseview.Broker.Subscribe].
//
// It resumes after lastEventID when no event of the topic after it can have
// left the stream: when it is at or after the topic's history horizon (the
// oldest event kept, once any was removed) and not after the stream's last
// id. Otherwise, and for a malformed id, the first event is the reset, whose
// id is the topic's newest event kept or, when it keeps none, the stream's
// last id; both are ids to resume from. On a topic with no stream, a resume
// starts the stream (empty) so that the reset's id is such a position.
//
// The first subscription to a topic on this instance starts its live
// reader, which stops shortly after its last local subscriber leaves.
// Errors talking to Redis while starting end the subscription with that
// error; once started, a subscription waits through Redis outages.
func (b *Broker) Subscribe(ctx context.Context, topic, lastEventID string) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		key, err := b.key(topic)
		if err != nil {
			yield(nil, err)
			return
		}
		if ctx.Err() != nil {
			return
		}
		f, err := b.acquire(ctx, key)
		if err != nil {
			if ctx.Err() == nil {
				yield(nil, err)
			}
			return
		}
		defer b.release(f)
		s := &fanout.Queue[item]{}
		if lastEventID != "" {
			s.StartCatchUp()
		}
		join := f.add(s)
		defer f.remove(s)

		pos := join
		if lastEventID != "" {
			var ok bool
			if pos, ok = b.catchUp(ctx, f, s, join, lastEventID, yield); !ok {
				return
			}
		}
		err = s.Drain(ctx, func(it item, _ error) bool {
			if !pos.less(it.id) {
				return true // delivered by the catch-up
			}
			pos = it.id
			if !yield(it.ev, nil) {
				return false
			}
			if b.observer != nil {
				b.observer.Delivered(ctx, topic, time.UnixMilli(int64(it.id.ms)))
			}
			return true
		})
		if err != nil && ctx.Err() == nil {
			b.observeDropped(ctx, topic, err)
			yield(nil, err)
		}
	}
}

// catchUp delivers the events after lastEventID that the live feed will
// not: those up to join (the feed's position when s joined it), and any
// the feed had to discard from s's queue while s was catching up. It
// returns the id of the last event delivered; false means the subscription
// is over.
//
// Each batch is read in the same script that checks the history still
// reaches the position before it, so nothing in a batch's range had been
// removed when it was read. When the history moves past that position
// during a long catch-up, the subscription ends with
// [sseview.ErrSlowSubscriber] and its client resumes from what it has (or
// gets a reset then).
func (b *Broker) catchUp(ctx context.Context, f *feed, s *fanout.Queue[item], join streamID, lastEventID string,
	yield func(sseview.Event, error) bool) (streamID, bool) {
	pos, ok := parseEventID(f.ids, lastEventID)
	arg := ""
	if ok {
		arg = pos.String()
	}
	yielded, resetSent := false, false
	replayed := 0 // for the observer
	// The first batch is read even when pos is at or after join: it is
	// what checks that the history still reaches pos.
	target := join
	for first := true; ; first = false {
		if !first {
			var more bool
			if target, more = catchUpTarget(s, join, pos); !more {
				if b.observer != nil && !resetSent {
					b.observer.CaughtUp(ctx, b.topicOf(f.key), replayed)
				}
				return pos, true
			}
		}
		select {
		case b.catchUps <- struct{}{}:
		case <-ctx.Done():
			return pos, false
		case <-b.closing:
			yield(nil, ErrClosed)
			return pos, false
		}
		h, err := b.history(ctx, f, arg, target)
		<-b.catchUps
		if err != nil {
			if ctx.Err() == nil {
				yield(nil, err)
			}
			return pos, false
		}
		if h.reset != nil {
			if yielded {
				// Events this subscriber had yet to get were removed while it
				// caught up: it is too slow for the history.
				b.observeDropped(ctx, b.topicOf(f.key), sseview.ErrSlowSubscriber)
				yield(nil, sseview.ErrSlowSubscriber)
				return pos, false
			}
			if b.observer != nil {
				b.observer.Reset(ctx, b.topicOf(f.key))
			}
			if !yield(h.reset, nil) {
				return pos, false
			}
			yielded, resetSent = true, true
			pos, arg = h.resetID, h.resetID.String()
			continue
		}
		for _, it := range h.events {
			if it.ev != nil {
				if !yield(it.ev, nil) {
					return pos, false
				}
				yielded = true
				replayed++
			}
			pos = it.id
		}
		if len(h.events) < catchUpBatch && pos.less(target) {
			pos = target // nothing more up to target
		}
		arg = pos.String()
	}
}

// catchUpTarget returns the id the catch-up of s must read up to from pos,
// and false when it is done, in which case s leaves catch-up mode and the
// live queue takes over: join is the feed's position when s joined it, and
// the queue may have discarded newer events since.
func catchUpTarget(s *fanout.Queue[item], join, pos streamID) (streamID, bool) {
	target := join
	s.FinishCatchUp(func(lost item, hasLost bool) bool {
		target = join
		if hasLost && target.less(lost.id) {
			target = lost.id
		}
		return !pos.less(target)
	})
	return target, pos.less(target)
}

// history is what historyScript answered.
type history struct {
	reset   sseview.Event // non-nil: resuming after the position could miss an event
	resetID streamID
	events  []item
}

// history reads the entries of f's stream after pos (Redis form; "" asks
// for a reset) up to upTo, checking the history still reaches pos.
func (b *Broker) history(ctx context.Context, f *feed, pos string, upTo streamID) (history, error) {
	key := f.key
	tctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	res, err := historyScript.Run(tctx, b.rdb, []string{key}, b.maxAgeMs, pos, upTo.String(), catchUpBatch).Slice()
	if err != nil {
		return history{}, b.wrap(ctx, "read the history of "+key, err)
	}
	bad := fmt.Errorf("redisbroker: read the history of %s: unexpected answer", key)
	if len(res) != 2 {
		return history{}, bad
	}
	switch res[0] {
	case "reset":
		raw, _ := res[1].(string)
		id, err := parseStreamID(raw)
		if err != nil {
			return history{}, err
		}
		reset, err := sseview.Encode(sseview.Text{Type: sseview.ResetEventType, ID: id.eventID(f.ids)})
		if err != nil {
			return history{}, err
		}
		return history{reset: reset, resetID: id}, nil
	case "events":
	default:
		return history{}, bad
	}
	entries, _ := res[1].([]any)
	h := history{events: make([]item, 0, len(entries))}
	for _, e := range entries {
		pair, _ := e.([]any)
		if len(pair) != 2 {
			return history{}, bad
		}
		raw, _ := pair[0].(string)
		id, err := parseStreamID(raw)
		if err != nil {
			return history{}, err
		}
		flat, _ := pair[1].([]any)
		fields := make(map[string]any, len(flat)/2)
		for i := 0; i+1 < len(flat); i += 2 {
			name, _ := flat[i].(string)
			fields[name] = flat[i+1]
		}
		ev, err := decode(key, f.ids, id, fields)
		if err != nil {
			b.logger.ErrorContext(ctx, "redisbroker: skipping an entry that is not an event", "err", err)
		}
		h.events = append(h.events, item{id: id, ev: ev})
	}
	return h, nil
}
