package sseview

import (
	"context"
	"fmt"
	"hash/maphash"
	"iter"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sseview/sseview/internal/fanout"
	"github.com/sseview/sseview/internal/names"
	"github.com/sseview/sseview/internal/quote"
)

// MemoryBroker is a [Broker] inside one process. Its zero value is ready to
// use; it must not be copied after first use, and its fields must not change
// once it is in use.
//
// Each topic keeps its newest events in a ring for resume, bounded by
// MaxEvents and MaxAge. Each published event is encoded once; every
// subscriber and the history share the same [*Encoded]. Publish hands the
// event to each subscriber's queue without waiting: a subscriber whose
// queue is full is dropped with [ErrSlowSubscriber] after the events already
// queued, and never delays the others.
//
// Event ids look like "lx7k2p9q1c0w-42": the broker's epoch (the time it
// was first used, in base 36, unique within the process) and a sequence
// number shared by all its topics, so ids increase within a topic but are
// not consecutive. An id with another epoch — from before a restart, or from
// another MemoryBroker — or one that is malformed or from the future, is
// unknown: such a subscription starts with the reset event, never with a
// silent gap.
//
// A [Keyed] event's duplicate window is the topic's history: publishing a
// key again is a no-op returning the first id for as long as the event
// published with it is kept (MaxEvents, MaxAge), and publishes anew after.
//
// A topic is forgotten once it has no subscribers and its history has aged
// out, so topics used once do not pile up. With MaxAge negative, a topic
// that ever had an event is kept for the broker's life. The broker keeps a
// fixed-size table of how far forgotten topics had got, so that resuming a
// forgotten topic from before its last event is a reset; a client that had
// every event of it gets one only if another topic forgotten later shares
// its slot of the table.
type MemoryBroker struct {
	// MaxEvents is how many events each topic keeps for resume. Zero means
	// 1000; negative means no limit.
	MaxEvents int
	// MaxAge is how long an event is kept for resume. Zero means one hour;
	// negative means no age limit.
	MaxAge time.Duration
	// QueueLen is how many events a subscriber may have waiting before it
	// is dropped with [ErrSlowSubscriber]. Zero means 256; negative means
	// no limit (a subscriber is never dropped, and its queue grows with
	// what it has yet to take).
	QueueLen int
	// Observer, when set, hears the broker's publishes, live deliveries,
	// resets, catch-ups and drops (see [BrokerObserver]), for metrics. A
	// delivery's publish time is this process's clock at Publish. Nil
	// observes nothing.
	Observer BrokerObserver

	once  sync.Once
	epoch string // the ids' prefix, "<base 36>-"
	start time.Time
	seq   atomic.Uint64 // the newest sequence number given
	seed  maphash.Seed

	// Lock order: mu, then a topic's mu, then a subscriber's queue's
	// (internal/fanout). Publish and Subscribe take only a topic's mu
	// once the topic is found; forgetting a topic takes mu first.
	mu        sync.RWMutex // guards topics and forgotten
	topics    map[string]*memTopic
	forgotten *[forgottenBuckets]uint64
}

const (
	defaultMaxEvents = 1000
	defaultMaxAge    = time.Hour
	// replayBatch is how many history events a resuming subscriber copies
	// per hold of the topic lock, so a long replay never holds it long.
	replayBatch = 64
)

func (b *MemoryBroker) init() {
	b.once.Do(func() {
		b.start = time.Now()
		b.epoch = newEpoch(b.start)
		b.topics = make(map[string]*memTopic)
		b.seed = maphash.MakeSeed()
	})
}

func (b *MemoryBroker) maxEvents() int {
	switch {
	case b.MaxEvents == 0:
		return defaultMaxEvents
	case b.MaxEvents < 0:
		return math.MaxInt
	}
	return b.MaxEvents
}

// maxAge returns the age limit in nanoseconds, or -1 for none.
func (b *MemoryBroker) maxAge() int64 {
	switch {
	case b.MaxAge == 0:
		return int64(defaultMaxAge)
	case b.MaxAge < 0:
		return -1
	}
	return int64(b.MaxAge)
}

// now is the broker's monotonic clock: nanoseconds since its first use.
func (b *MemoryBroker) now() int64 { return int64(time.Since(b.start)) }

// Publish gives e the topic's next id, keeps it in the topic's history and
// queues it for every subscriber. It never waits for a subscriber. A
// [Keyed] event whose key the topic's history still holds is not published
// again: Publish returns the id it had. It fails when ctx is done, the
// topic is invalid (see [ErrInvalidTopic]) or e cannot be encoded (see
// [ErrInvalidEvent]); a [Comment] cannot be published.
func (b *MemoryBroker) Publish(ctx context.Context, topic string, e Event) (string, error) {
	if err := names.CheckTopic(topic); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("sseview: publish to %s: %w", quote.Bounded(topic), err)
	}
	key, e, err := KeyOf(e)
	if err != nil {
		return "", err
	}
	text, err := textOf(e)
	if err == nil {
		// The id is replaced, but an event Encode refuses is refused here
		// too, as by every Broker.
		err = checkID(text.ID)
	}
	if err != nil {
		return "", err
	}
	b.init()
	t := b.lockTopic(topic)
	defer t.mu.Unlock()
	now := b.now()
	t.evictAged(now, b.maxAge())
	if seq, ok := t.keyed(key); ok {
		b.observePublished(ctx, topic, true)
		return b.formatID(seq), nil
	}
	// The id is taken under the topic lock so that the topic's ids
	// increase in the order its events are kept and delivered.
	seq := b.seq.Add(1)
	text.ID = b.formatID(seq)
	enc, err := Encode(text)
	if err != nil {
		return "", err
	}
	enc.published = b.start.UnixNano() + now
	t.push(memEntry{seq: seq, at: now, enc: enc, key: key}, b.maxEvents())
	b.armExpiry(t)
	// Told first, the observer never hears of a delivery before its publish.
	b.observePublished(ctx, topic, false)
	t.subs.Send(enc, fanout.Limit(b.QueueLen))
	return text.ID, nil
}

// Subscribe returns the topic's events after lastEventID, then its live
// events, as the [Broker] contract says. The events are [*Encoded].
//
// An unknown id (malformed, from another epoch, or newer than any given)
// and an id whose successors are no longer all kept both start the
// subscription with the reset event: type [ResetEventType], empty data, and
// the id of the newest event kept, followed by live events only. When the
// topic has nothing kept, the reset's id is an id of this broker from which
// a later resume continues without another reset.
//
// The replay is copied from the history in small batches without taking
// up the subscriber's queue; the subscription goes live under the same
// topic lock that copies the last of it, so no event falls into the seam or
// arrives twice. If events after the client's position age out or are
// evicted during a long replay, it ends with [ErrSlowSubscriber].
//
// The iterator is single-use per the Broker contract; iterating it again
// subscribes again from the same lastEventID.
func (b *MemoryBroker) Subscribe(ctx context.Context, topic, lastEventID string) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		if err := names.CheckTopic(topic); err != nil {
			yield(nil, err)
			return
		}
		b.init()
		sub := &memSub{}
		defer b.leave(sub)
		if !b.catchUp(ctx, topic, lastEventID, sub, yield) {
			return
		}
		// The live loop is all that stays on the stack while the stream
		// waits: catchUp's frame, deeper, is gone by then.
		if err := sub.Drain(ctx, func(e *Encoded, _ error) bool {
			if !yield(e, nil) {
				return false
			}
			b.observeDelivered(ctx, topic, e)
			return true
		}); err != nil {
			b.observeDropped(ctx, topic)
			yield(nil, err)
		}
	}
}

// catchUp sends sub what it missed after lastEventID, in batches, and
// registers it on the topic once no more history is left to send. It
// reports whether the subscription is live; sub.topic is set as soon as
// the topic is looked up, for leave.
func (b *MemoryBroker) catchUp(ctx context.Context, topic, lastEventID string, sub *memSub, yield func(Event, error) bool) bool {
	pos, known := b.parseID(lastEventID)
	live := lastEventID == ""
	replayed := 0 // for the observer; -1 after a reset
	var batch []*Encoded
	for first := true; ; first = false {
		if ctx.Err() != nil {
			return false
		}
		t := b.lockTopic(topic)
		sub.topic = t
		t.evictAged(b.now(), b.maxAge())
		var reset Event
		switch {
		case live:
		case first && (!known || t.evicted > pos):
			pos = max(t.lastSeq, t.evicted)
			reset = Text{Type: ResetEventType, ID: b.formatID(pos)}
			live = true
		case t.evicted > pos:
			// Events this subscriber had yet to get were evicted
			// while it replayed: it is too slow for the history.
			t.mu.Unlock()
			b.observeDropped(ctx, topic)
			yield(nil, ErrSlowSubscriber)
			return false
		}
		batch = batch[:0]
		if !live {
			i := t.firstAfter(pos)
			for ; i < t.n && len(batch) < replayBatch; i++ {
				batch = append(batch, t.entry(i).enc)
			}
			live = i == t.n
			if len(batch) > 0 {
				pos = t.entry(i - 1).seq
			}
		}
		if live {
			t.subs.Add(&sub.Queue)
		}
		t.mu.Unlock()
		if reset != nil {
			replayed = -1
			b.observeReset(ctx, topic)
			if !yield(reset, nil) {
				return false
			}
		}
		for _, e := range batch {
			if !yield(e, nil) {
				return false
			}
		}
		replayed += len(batch)
		if live {
			b.observeCaughtUp(ctx, topic, lastEventID, replayed)
			return true
		}
	}
}
