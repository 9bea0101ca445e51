package sseview

import (
	"context"
	"fmt"
	"hash/maphash"
	"iter"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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
// A topic is forgotten once it has no subscribers and its history has aged
// out, so topics used once do not pile up. With MaxAge negative, a topic
// that ever had an event is kept for the broker's life. The broker keeps a
// fixed-size table of how far forgotten topics had got, so that resuming a
// forgotten topic from before its last event is a reset; a client that had
// every event of it gets one only if another topic forgotten later shares
// its slot of the table.
type MemoryBroker struct {
	// MaxEvents is how many events each topic keeps for resume. Zero means
	// 1000.
	MaxEvents int
	// MaxAge is how long an event is kept for resume. Zero means one hour;
	// negative means no age limit.
	MaxAge time.Duration
	// QueueLen is how many events a subscriber may fall behind before it is
	// dropped with [ErrSlowSubscriber]. Zero means 256.
	QueueLen int

	once      sync.Once
	epoch     string // the ids' prefix, "<base 36>-"
	start     time.Time
	seq       atomic.Uint64 // the newest sequence number given
	mu        sync.RWMutex  // guards topics and forgotten
	topics    map[string]*memTopic
	forgotten *[forgottenBuckets]uint64
	seed      maphash.Seed
}

const (
	defaultMaxEvents = 1000
	defaultMaxAge    = time.Hour
	defaultQueueLen  = 256
	// maxSpareQueue bounds the queue array a subscriber keeps between
	// bursts, in events.
	maxSpareQueue = 64
	// replayBatch is how many history events a resuming subscriber copies
	// per hold of the topic lock, so a long replay never holds it long.
	replayBatch = 64
	// forgottenBuckets is how many horizons the broker remembers for the
	// topics it forgot: a topic's name hashes to one, which holds the newest
	// sequence number of any topic forgotten in it.
	forgottenBuckets = 1024
)

// lastEpoch makes the epochs of MemoryBrokers in one process distinct
// even when two start within the clock's resolution.
var lastEpoch atomic.Int64

func (b *MemoryBroker) init() {
	b.once.Do(func() {
		b.start = time.Now()
		n := b.start.UnixNano()
		for {
			prev := lastEpoch.Load()
			n = max(n, prev+1)
			if lastEpoch.CompareAndSwap(prev, n) {
				break
			}
		}
		b.epoch = strconv.FormatInt(n, 36) + "-"
		b.topics = make(map[string]*memTopic)
		b.seed = maphash.MakeSeed()
	})
}

func (b *MemoryBroker) maxEvents() int {
	if b.MaxEvents <= 0 {
		return defaultMaxEvents
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

func (b *MemoryBroker) queueLen() int {
	if b.QueueLen <= 0 {
		return defaultQueueLen
	}
	return b.QueueLen
}

// now is the broker's monotonic clock: nanoseconds since its first use.
func (b *MemoryBroker) now() int64 { return int64(time.Since(b.start)) }

func (b *MemoryBroker) formatID(seq uint64) string {
	return b.epoch + strconv.FormatUint(seq, 10)
}

// parseID returns the sequence number of an id this broker gave. It
// accepts only the exact form it writes, so that two spellings never name
// one position.
func (b *MemoryBroker) parseID(id string) (uint64, bool) {
	digits, ok := strings.CutPrefix(id, b.epoch)
	if !ok || digits == "" || (digits[0] == '0' && digits != "0") {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || seq > b.seq.Load() {
		return 0, false
	}
	return seq, true
}

// memTopic is one topic: its history ring and its subscribers, all guarded
// by mu.
type memTopic struct {
	name string

	mu      sync.Mutex
	ring    []memEntry // circular; grows up to MaxEvents
	head    int        // index of the oldest event
	n       int        // number of events kept
	lastSeq uint64     // the newest event ever published here
	evicted uint64     // the newest event evicted; resuming before it is a reset
	subs    []*memSub
	timer   bool // an expiry timer is pending
	removed bool // no longer in the broker's map: callers look it up again
}

type memEntry struct {
	seq uint64
	at  int64 // broker clock at publish
	enc *Encoded
}

// memSub is one subscription. Its queue is a slice that grows with what
// the subscriber has yet to take, rather than a channel of QueueLen slots:
// an idle subscriber holds a few bytes of queue, not QueueLen pointers.
type memSub struct {
	idx   int       // position in subs, -1 when not registered
	topic *memTopic // the topic looked up last, nil before
	// wake holds a signal when queue has events or the subscriber was
	// dropped.
	wake chan struct{}
	// behind counts the events queued or taken and not yet yielded; the
	// publisher drops the subscriber when it reaches the broker's QueueLen.
	behind atomic.Int32

	mu      sync.Mutex
	queue   []*Encoded
	dropped bool // by the publisher, for a full queue
}

// put queues enc, or drops s when it is QueueLen events behind. It reports
// whether enc was queued.
func (s *memSub) put(enc *Encoded, limit int) bool {
	s.mu.Lock()
	ok := int(s.behind.Load()) < limit
	if ok {
		s.queue = append(s.queue, enc)
		s.behind.Add(1)
	} else {
		s.dropped = true
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default: // a signal is already pending
	}
	return ok
}

// take returns what is queued, leaving spare's array as the new queue, and
// whether s was dropped after those events.
func (s *memSub) take(spare []*Encoded) ([]*Encoded, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = spare[:0]
	return q, s.dropped
}

func (t *memTopic) entry(i int) *memEntry { return &t.ring[(t.head+i)%len(t.ring)] }

func (t *memTopic) evictOldest() {
	e := t.entry(0)
	t.evicted = e.seq
	*e = memEntry{}
	t.head = (t.head + 1) % len(t.ring)
	t.n--
	if t.n == 0 {
		// Release the ring of a topic gone quiet.
		t.ring, t.head = nil, 0
	}
}

// evictAged drops the events older than maxAge (nanoseconds, -1 none).
func (t *memTopic) evictAged(now, maxAge int64) {
	if maxAge < 0 {
		return
	}
	for t.n > 0 && now-t.entry(0).at > maxAge {
		t.evictOldest()
	}
}

func (t *memTopic) push(e memEntry, maxEvents int) {
	for t.n >= maxEvents {
		t.evictOldest()
	}
	if t.n == len(t.ring) {
		grown := make([]memEntry, min(max(2*len(t.ring), 8), maxEvents))
		for i := range t.n {
			grown[i] = *t.entry(i)
		}
		t.ring, t.head = grown, 0
	}
	t.ring[(t.head+t.n)%len(t.ring)] = e
	t.n++
	t.lastSeq = e.seq
}

// firstAfter returns the index of the oldest kept event newer than seq.
func (t *memTopic) firstAfter(seq uint64) int {
	return sort.Search(t.n, func(i int) bool { return t.entry(i).seq > seq })
}

func (t *memTopic) register(s *memSub) {
	s.idx = len(t.subs)
	t.subs = append(t.subs, s)
}

func (t *memTopic) unregister(s *memSub) {
	last := len(t.subs) - 1
	moved := t.subs[last]
	t.subs[s.idx], moved.idx = moved, s.idx
	t.subs[last] = nil
	t.subs = t.subs[:last]
	s.idx = -1
}

// lockTopic returns the topic called name, created if need be, locked.
func (b *MemoryBroker) lockTopic(name string) *memTopic {
	for {
		b.mu.RLock()
		t := b.topics[name]
		b.mu.RUnlock()
		if t == nil {
			b.mu.Lock()
			t = b.topics[name]
			if t == nil {
				// A topic of this name may have been forgotten with events
				// newer than a client's id: resuming from before them must
				// be a reset, not a silent gap. The horizon is shared with
				// the other names of the bucket, so a reset here is
				// sometimes one more than needed, never one fewer.
				t = &memTopic{name: name}
				if b.forgotten != nil {
					t.evicted = b.forgotten[b.bucket(name)]
				}
				b.topics[name] = t
			}
			b.mu.Unlock()
		}
		t.mu.Lock()
		if !t.removed {
			return t
		}
		t.mu.Unlock()
	}
}

// forgetIfIdle drops t from the broker when nobody subscribes and nothing
// is kept, or else arms the timer that expires its history. t.mu must not
// be held.
func (b *MemoryBroker) forgetIfIdle(t *memTopic) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.evictAged(b.now(), b.maxAge())
	if t.removed || t.n > 0 || len(t.subs) > 0 {
		b.armExpiry(t)
		return
	}
	t.removed = true
	delete(b.topics, t.name)
	if b.forgotten == nil {
		b.forgotten = new([forgottenBuckets]uint64)
	}
	h := &b.forgotten[b.bucket(t.name)]
	*h = max(*h, t.lastSeq, t.evicted)
}

func (b *MemoryBroker) bucket(topic string) uint64 {
	return maphash.String(b.seed, topic) % forgottenBuckets
}

// armExpiry makes sure a timer will evict t's history once it ages out, so
// the memory of a topic that goes quiet is returned. Evictions are batched:
// the timer fires at most every eighth of MaxAge (at most a minute). t.mu
// must be held.
func (b *MemoryBroker) armExpiry(t *memTopic) {
	maxAge := b.maxAge()
	if t.timer || t.n == 0 || maxAge < 0 {
		return
	}
	t.timer = true
	slack := min(maxAge/8, int64(time.Minute))
	wait := max(t.entry(0).at+maxAge-b.now(), 0) + slack
	time.AfterFunc(time.Duration(wait), func() {
		t.mu.Lock()
		t.timer = false
		t.mu.Unlock()
		b.forgetIfIdle(t)
	})
}

// Publish gives e the topic's next id, keeps it in the topic's history and
// queues it for every subscriber. It never waits for a subscriber. It fails
// when ctx is done or e cannot be encoded (see [ErrInvalidEvent]); a
// [Comment] cannot be published.
func (b *MemoryBroker) Publish(ctx context.Context, topic string, e Event) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("sseview: publish to %q: %w", topic, err)
	}
	text, err := textOf(e)
	if err == nil {
		// The id is replaced, but an event Encode refuses is refused here
		// too, as by every Broker.
		err = checkID(text.ID)
	}
	if err != nil {
		return "", fmt.Errorf("sseview: publish to %q: %w", topic, err)
	}
	b.init()
	t := b.lockTopic(topic)
	defer t.mu.Unlock()
	// The id is taken under the topic lock so that the topic's ids
	// increase in the order its events are kept and delivered.
	seq := b.seq.Add(1)
	text.ID = b.formatID(seq)
	enc, err := Encode(text)
	if err != nil {
		return "", fmt.Errorf("sseview: publish to %q: %w", topic, err)
	}
	now := b.now()
	t.evictAged(now, b.maxAge())
	t.push(memEntry{seq: seq, at: now, enc: enc}, b.maxEvents())
	b.armExpiry(t)
	limit := b.queueLen()
	for i := 0; i < len(t.subs); {
		if s := t.subs[i]; s.put(enc, limit) {
			i++
		} else {
			// Full: dropped. Its iterator yields what is queued, then
			// ErrSlowSubscriber. The last subscriber moves into slot i.
			t.unregister(s)
		}
	}
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
		b.init()
		sub := &memSub{idx: -1}
		defer b.leave(sub)
		if !b.catchUp(ctx, topic, lastEventID, sub, yield) {
			return
		}
		// The live loop is all that stays on the stack while the stream
		// waits; catchUp's frame is gone by then (see Handler.accept).
		var batch []*Encoded
		for {
			select {
			case <-ctx.Done():
				return
			case <-sub.wake:
			}
			var dropped bool
			batch, dropped = sub.take(batch)
			for i, e := range batch {
				batch[i] = nil
				sub.behind.Add(-1)
				if !yield(e, nil) {
					return
				}
			}
			if dropped {
				yield(nil, ErrSlowSubscriber)
				return
			}
			if cap(batch) > maxSpareQueue {
				batch = nil // a burst's array is not kept while idle
			}
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
			sub.wake = make(chan struct{}, 1)
			t.register(sub)
		}
		t.mu.Unlock()
		if reset != nil && !yield(reset, nil) {
			return false
		}
		for _, e := range batch {
			if !yield(e, nil) {
				return false
			}
		}
		if live {
			return true
		}
	}
}

// leave unregisters sub, and lets its topic go when nothing holds it.
func (b *MemoryBroker) leave(sub *memSub) {
	t := sub.topic
	if t == nil {
		return
	}
	t.mu.Lock()
	if sub.idx >= 0 {
		t.unregister(sub)
	}
	idle := len(t.subs) == 0 && t.n == 0
	t.mu.Unlock()
	if idle {
		b.forgetIfIdle(t)
	}
}
