// Package fanout is the live delivery every broker of this repository
// shares: a bounded queue per subscriber with its wake-up, the loop that
// offers one event to every subscriber of a topic, and the overflow rule
// of the sseview.Broker contract.
//
// A [Queue] grows with what its subscriber has yet to take, rather than
// holding QueueLen slots from the start, and has no channel of its own:
// the queues of a [Group] wait on one wake-up that the Group shares, so an
// idle subscriber costs a few words. The publisher never waits on a
// subscriber: a subscriber that has its limit of items waiting when one
// more arrives is dropped, and yields what it had, then [ErrOverflow].
//
// Lock order: the lock of a [Group]'s owner (a topic, a live feed) is
// taken before a Queue's mu, and a Queue's mu before its wake-up's. A
// Queue's mu is held only inside this package; the one call out under it
// is [Queue.FinishCatchUp]'s done, which must neither block nor lock.
package fanout

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrOverflow ends the queue of a subscriber that fell too far behind. It
// is sseview.ErrSlowSubscriber.
var ErrOverflow = errors.New("sseview: subscriber fell behind")

// DefaultQueueLen is the limit of a QueueLen setting of zero.
const DefaultQueueLen = 256

// Limit returns the limit that a QueueLen setting means, as the
// sseview.Broker contract says: zero is DefaultQueueLen, negative is no
// limit (-1).
func Limit(queueLen int) int {
	switch {
	case queueLen == 0:
		return DefaultQueueLen
	case queueLen < 0:
		return -1
	}
	return queueLen
}

// maxSpare bounds the array a drained queue keeps between bursts, in
// items, so that a burst's array is not held while the subscriber idles.
// The price is a new array for each burst of more than maxSpare items.
const maxSpare = 64

// Queue is one subscriber's queue. Its zero value is ready; it must not be
// copied after first use. One goroutine, the subscriber's, calls [Queue.Drain]
// and the catch-up methods; any goroutine may [Queue.End] it.
type Queue[T any] struct {
	// pos is the queue's index in its Group plus one, 0 when in none;
	// guarded by the Group owner's lock.
	pos int32
	// waiting counts the items put and not yet yielded, including those
	// Drain has taken and not yet handed on: what the limit bounds.
	waiting atomic.Int32

	// The fields are laid out so that an idle subscriber of the memory
	// broker, a Queue and a pointer, fits 64 bytes.
	mu sync.Mutex
	// wake is what Drain waits on when nothing is queued: the wake-up of
	// the Group the queue joined, or one of its own if it waits outside a
	// Group. It stays the Group's after the queue leaves it, so that a
	// queue the Group dropped still hears of its end.
	wake  *wakeUp
	items []T
	// rare holds what few queues ever need, its end and its catch-up
	// state, so that they cost an idle queue one word; nil while neither.
	rare *rareState[T]
}

// rareState is the part of a queue's state that only an ended queue and
// one in catch-up mode have.
type rareState[T any] struct {
	end error // the queue ends with it after its items; nil while it goes on
	// In catch-up mode an overflow discards the queue instead of ending
	// it, and lost is the newest item discarded, so that the subscriber
	// reads what it lost from elsewhere before it goes live.
	catchingUp bool
	hasLost    bool
	lost       T
}

// wakeUp wakes every Drain waiting on it at once: the queues of a Group
// share one, closing a channel they all wait on, instead of a channel
// each. A channel is made when a Drain first waits after the last wake,
// so a wake-up costs one allocation per publish that finds a subscriber
// waiting, whatever the number of subscribers, and none per subscriber.
type wakeUp struct {
	mu sync.Mutex
	ch chan struct{} // nil while nobody waits
}

// wait returns the channel that the next fire closes.
func (w *wakeUp) wait() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

// fire wakes everyone waiting.
func (w *wakeUp) fire() {
	w.mu.Lock()
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
	w.mu.Unlock()
}

// ended returns the error q ends with, or nil. q.mu must be held.
func (q *Queue[T]) ended() error {
	if q.rare == nil {
		return nil
	}
	return q.rare.end
}

// put queues v, or ends q with ErrOverflow when limit items are waiting
// (limit < 0: never). It reports whether q goes on. The caller wakes q.
func (q *Queue[T]) put(v T, limit int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ended() != nil {
		return false
	}
	switch {
	case limit < 0 || int(q.waiting.Load()) < limit:
		q.items = append(q.items, v)
		q.waiting.Add(1)
	case q.rare != nil && q.rare.catchingUp:
		clear(q.items)
		q.items = q.items[:0]
		q.waiting.Store(0)
		q.rare.lost, q.rare.hasLost = v, true
	default:
		q.endLocked(ErrOverflow)
		return false
	}
	return true
}

// End makes q end with err after the items it holds, unless it has ended
// already. It is how a broker that closes, or loses its source, ends its
// subscriptions.
func (q *Queue[T]) End(err error) {
	q.mu.Lock()
	q.endLocked(err)
	w := q.wake
	q.mu.Unlock()
	if w != nil {
		w.fire()
	}
}

// endLocked records err as q's end unless q has one. q.mu must be held.
func (q *Queue[T]) endLocked(err error) {
	if q.rare == nil {
		q.rare = new(rareState[T])
	}
	if q.rare.end == nil {
		q.rare.end = err
	}
}

// take returns what is queued, leaving spare's array as the new queue, and
// the error q ends with after those items. When there is neither, it
// returns instead the channel to wait on, got under q's lock so that the
// wake of any put after the look closes it.
func (q *Queue[T]) take(spare []T) (items []T, wake <-chan struct{}, end error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	items, end = q.items, q.ended()
	if len(items) == 0 && end == nil {
		if q.wake == nil {
			q.wake = new(wakeUp)
		}
		return nil, q.wake.wait(), nil
	}
	q.items = spare[:0]
	return items, nil, end
}

// Coalescer is implemented by the writer at the end of a subscription (an
// sseview stream) that can write several items as one: Drain finds it in
// its ctx under [CoalescerKey] and brackets every batch of more than one
// item it hands on with Hold and Release, so that a subscriber that wakes
// to several queued events writes them in one write and one flush. Both
// are called on Drain's goroutine, Release on every way out of the batch;
// neither may block. A ctx without one changes nothing: a broker or a view
// that does not know of it gets its items one by one, as always.
type Coalescer interface {
	// Hold makes what is written from now on wait for Release.
	Hold()
	// Release writes and flushes what waited since the matching Hold.
	Release()
}

// CoalescerKey is the context key of a [Coalescer].
type CoalescerKey struct{}

// Drain hands every item put in q to yield, in order, until ctx is done or
// yield returns false (it returns nil then), or until q has ended and its
// items are handed on: it returns the error q ended with. yield has the
// shape of an iterator's, so that a broker can pass its own; its error is
// always nil. Several items taken at once are handed on between the Hold
// and Release of ctx's [Coalescer], if it has one. A queue that joins a
// Group joins it before Drain: Drain waits on the wake-up of the Group q is
// in when it finds q empty.
func (q *Queue[T]) Drain(ctx context.Context, yield func(T, error) bool) error {
	co, _ := ctx.Value(CoalescerKey{}).(Coalescer)
	var batch []T
	for {
		select {
		case <-ctx.Done():
			return nil
		default:
		}
		taken, wake, end := q.take(batch)
		if wake != nil {
			select {
			case <-ctx.Done():
				return nil
			case <-wake:
			}
			continue
		}
		batch = taken
		if !q.handOn(batch, co, yield) {
			return nil
		}
		if end != nil {
			return end
		}
		if cap(batch) > maxSpare {
			batch = nil // a burst's array is not kept while idle
		}
	}
}

// handOn yields the items of batch, clearing each slot as it goes, and
// reports whether yield took them all. A batch of more than one item is
// held by co, when there is one, until it is handed on or yield refused.
func (q *Queue[T]) handOn(batch []T, co Coalescer, yield func(T, error) bool) bool {
	if co != nil && len(batch) > 1 {
		co.Hold()
		defer co.Release()
	}
	for i, v := range batch {
		var zero T
		batch[i] = zero
		q.waiting.Add(-1)
		if !yield(v, nil) {
			return false
		}
	}
	return true
}

// StartCatchUp puts q in catch-up mode, before it joins a Group: an
// overflow discards what q holds instead of ending it (see
// [Queue.FinishCatchUp]).
func (q *Queue[T]) StartCatchUp() {
	q.mu.Lock()
	if q.rare == nil {
		q.rare = new(rareState[T])
	}
	q.rare.catchingUp = true
	q.mu.Unlock()
}

// FinishCatchUp calls done with the newest item q discarded in catch-up
// mode, if any, and leaves catch-up mode when done returns true; both under
// q's lock, so no item is discarded in between. It returns what done did.
func (q *Queue[T]) FinishCatchUp(done func(lost T, hasLost bool) bool) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	var lost T
	hasLost := false
	if q.rare != nil && q.rare.catchingUp {
		lost, hasLost = q.rare.lost, q.rare.hasLost
	}
	if !done(lost, hasLost) {
		return false
	}
	if q.rare != nil {
		var zero T
		q.rare.catchingUp, q.rare.hasLost, q.rare.lost = false, false, zero
	}
	return true
}

// Group is the set of queues a publisher feeds together: a topic's
// subscribers. Its zero value is empty; it must not be copied after first
// use. It is not safe for concurrent use: its owner's lock guards it, and
// the queues' positions in it.
type Group[T any] struct {
	queues []*Queue[T]
	wake   wakeUp // shared by the queues, see wakeUp
}

// Len returns how many queues g has.
func (g *Group[T]) Len() int { return len(g.queues) }

// Add joins q to g. q must not be in a Group.
func (g *Group[T]) Add(q *Queue[T]) {
	q.mu.Lock()
	q.wake = &g.wake
	q.mu.Unlock()
	g.queues = append(g.queues, q)
	q.pos = int32(len(g.queues))
}

// Remove takes q out of g; it does nothing when q is not in g.
func (g *Group[T]) Remove(q *Queue[T]) {
	i := int(q.pos) - 1
	if i < 0 || i >= len(g.queues) || g.queues[i] != q {
		return
	}
	last := len(g.queues) - 1
	moved := g.queues[last]
	g.queues[i], moved.pos = moved, int32(i+1)
	g.queues[last] = nil
	g.queues = g.queues[:last]
	q.pos = 0
}

// Send puts v in every queue of g without waiting. A queue that has limit
// items waiting (limit < 0: never) is ended with ErrOverflow and leaves g;
// its subscriber still gets what it had.
func (g *Group[T]) Send(v T, limit int) {
	for i := 0; i < len(g.queues); {
		if q := g.queues[i]; q.put(v, limit) {
			i++
		} else {
			g.Remove(q) // the last queue moves into slot i
		}
	}
	g.wake.fire()
}

// End ends every queue of g with err, after the items each holds, and
// empties g.
func (g *Group[T]) End(err error) {
	for _, q := range g.queues {
		q.mu.Lock()
		q.endLocked(err)
		q.mu.Unlock()
		q.pos = 0
	}
	g.wake.fire()
	clear(g.queues)
	g.queues = g.queues[:0]
}
