package sseview

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/sseview/sseview/internal/fanout"
)

// The MemoryBroker's topic lifecycle: topics are made on first use and
// forgotten once idle, remembering how far they had got.

// memTopic is one topic: its history and its subscribers, all guarded by
// mu.
type memTopic struct {
	name string

	mu sync.Mutex
	history
	subs    fanout.Group[*Encoded]
	timer   bool // an expiry timer is pending
	removed bool // no longer in the broker's map: callers look it up again
}

// memSub is one subscription: its queue, and the topic it looked up.
type memSub struct {
	fanout.Queue[*Encoded]
	topic *memTopic // the topic looked up last, nil before
}

// forgottenBuckets is how many horizons the broker remembers for the
// topics it forgot: a topic's name hashes to one, which holds the newest
// sequence number of any topic forgotten in it.
const forgottenBuckets = 1024

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
	if t.removed || t.n > 0 || t.subs.Len() > 0 {
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

// leave unregisters sub, and lets its topic go when nothing holds it.
func (b *MemoryBroker) leave(sub *memSub) {
	t := sub.topic
	if t == nil {
		return
	}
	t.mu.Lock()
	t.subs.Remove(&sub.Queue)
	idle := t.subs.Len() == 0 && t.n == 0
	t.mu.Unlock()
	if idle {
		b.forgetIfIdle(t)
	}
}
