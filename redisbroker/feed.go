package redisbroker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sseview/sseview/internal/fanout"
	"github.com/sseview/sseview/sseview"
)

const (
	// liveBlock is how long a live reader's XREAD waits for an entry. A
	// reader whose last subscriber left stops when its XREAD returns.
	liveBlock = 2 * time.Second
	// liveBatch is how many entries one XREAD returns at most.
	liveBatch = 512
	// The live readers retry a failed XREAD after a backoff between these.
	minBackoff = 20 * time.Millisecond
	maxBackoff = time.Second
)

// feed is the live feed of one topic on this instance: one reader, an
// XREAD BLOCK after the last entry it delivered, whose entries are decoded
// and encoded once and handed to every local subscriber's queue by the
// shared fan-out (internal/fanout).
type feed struct {
	key   string
	ids   string        // idPrefix(key)
	ready chan struct{} // closed once started; err is set before
	err   error
	users int // guarded by Broker.mu

	// Lock order: Broker.mu is never held while taking mu; mu is taken
	// before a subscriber's queue's (internal/fanout).
	mu   sync.Mutex
	last streamID // the newest entry handed out, or where the feed started
	subs fanout.Group[item]
	done error // ends every subscriber, present and future, once set
}

// item is one event of the live feed.
type item struct {
	id streamID
	ev *sseview.Encoded
}

// acquire returns the running feed of key, starting it if this is its
// first user. Each successful acquire is paired with a release.
func (b *Broker) acquire(ctx context.Context, key string) (*feed, error) {
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return nil, ErrClosed
		}
		f := b.feeds[key]
		starter := f == nil
		if starter {
			f = &feed{key: key, ids: idPrefix(key), ready: make(chan struct{})}
			b.feeds[key] = f
		}
		f.users++
		b.mu.Unlock()

		if starter {
			f.err = b.start(ctx, f)
			if f.err != nil {
				// Later users start afresh rather than inherit this failure.
				b.mu.Lock()
				if b.feeds[key] == f {
					delete(b.feeds, key)
				}
				b.mu.Unlock()
			}
			close(f.ready)
		} else {
			select {
			case <-f.ready:
			case <-ctx.Done():
				b.release(f)
				return nil, context.Cause(ctx)
			}
		}
		if f.err == nil {
			return f, nil
		}
		b.release(f)
		if starter || ctx.Err() != nil || !errors.Is(f.err, context.Canceled) {
			return nil, f.err
		}
		// The user who started the feed left before it was up: that is no
		// reason to fail this one, which starts it again.
	}
}

// release drops a user of f. The reader stops by itself once f has none.
func (b *Broker) release(f *feed) {
	b.mu.Lock()
	f.users--
	b.mu.Unlock()
}

// start finds where the feed begins, the stream's last id, so that its
// position is known before its first entry: a subscriber joining now needs
// to catch up to exactly there. Then it starts the reader.
func (b *Broker) start(ctx context.Context, f *feed) error {
	tctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	raw, err := lastIDScript.Run(tctx, b.rdb, []string{f.key}).Text()
	if err != nil {
		return b.wrap(ctx, "start the live feed of "+f.key, err)
	}
	last, err := parseStreamID(raw)
	if err != nil {
		return err
	}
	f.last = last
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	b.readers.Add(1)
	go b.read(f)
	return nil
}

// stopIfIdle removes f from the broker and reports true when it has no
// users left or the broker is closed.
func (b *Broker) stopIfIdle(f *feed) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f.users > 0 && !b.closed {
		return false
	}
	if b.feeds[f.key] == f {
		delete(b.feeds, f.key)
	}
	return true
}

// read is the feed's reader goroutine. While Redis is unreachable it waits
// for the broker's probe, then reads on after the last entry it delivered;
// subscribers just wait.
func (b *Broker) read(f *feed) {
	defer b.readers.Done()
	pos := f.position()
	for !b.stopIfIdle(f) {
		res, err := b.live.XRead(b.ctx, &redis.XReadArgs{
			Streams: []string{f.key, pos.String()},
			Count:   liveBatch,
			Block:   liveBlock,
		}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			if b.ctx.Err() != nil || !b.waitForRedis(err) {
				return
			}
			continue
		}
		for _, st := range res {
			for _, m := range st.Messages {
				id, err := parseStreamID(m.ID)
				if err != nil {
					b.logger.Error("redisbroker: skipping an entry", "key", f.key, "err", err)
					continue
				}
				ev, err := decode(f.key, f.ids, id, m.Values)
				if err != nil {
					b.logger.Error("redisbroker: skipping an entry that is not an event", "err", err)
				}
				f.deliver(item{id: id, ev: ev}, b.queue)
				pos = id
			}
		}
	}
}

// waitForRedis is called by a live reader whose XREAD failed with err. It
// waits until Redis answers again and reports true, or reports false once
// the broker is closed. The readers of every topic wait for one probe, so
// an outage costs one dial at a time (and one warning), not one per topic.
func (b *Broker) waitForRedis(err error) bool {
	b.mu.Lock()
	back := b.back
	if back == nil && !b.closed {
		back = make(chan struct{})
		b.back = back
		b.logger.Warn("redisbroker: lost Redis; the live feeds wait for it", "err", err)
		// The caller is a running reader, so the group is not at zero.
		b.readers.Add(1)
		go b.probe(back)
	}
	b.mu.Unlock()
	if back == nil {
		return false
	}
	select {
	case <-back:
		return true
	case <-b.closing:
		return false
	}
}

// probe pings Redis with backoff until it answers, then closes back.
func (b *Broker) probe(back chan struct{}) {
	defer b.readers.Done()
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for backoff := minBackoff; ; backoff = min(2*backoff, maxBackoff) {
		select {
		case <-timer.C:
		case <-b.closing:
			return
		}
		ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
		err := b.live.Ping(ctx).Err()
		cancel()
		if err == nil {
			b.mu.Lock()
			b.back = nil
			b.mu.Unlock()
			close(back)
			b.logger.Info("redisbroker: Redis answers again; the live feeds read on", "after", time.Since(start).Round(time.Millisecond))
			return
		}
		timer.Reset(backoff)
	}
}

// position returns the id of the newest entry handed out.
func (f *feed) position() streamID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// deliver queues it for every subscriber without waiting for one (limit is
// fanout's QueueLen limit). An entry at or before the feed's position is not
// handed out twice; one that is not an event moves the position all the
// same.
func (f *feed) deliver(it item, limit int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.last.less(it.id) {
		return
	}
	f.last = it.id
	if it.ev != nil {
		f.subs.Send(it, limit)
	}
}

// add joins s to the feed and returns the feed's position: s gets every
// entry after it.
func (f *feed) add(s *fanout.Queue[item]) streamID {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done != nil {
		s.End(f.done)
		return f.last
	}
	f.subs.Add(s)
	return f.last
}

func (f *feed) remove(s *fanout.Queue[item]) {
	f.mu.Lock()
	f.subs.Remove(s)
	f.mu.Unlock()
}

// fail ends the feed and every subscription on it with err, after the
// events each had waiting.
func (f *feed) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done == nil {
		f.done = err
	}
	f.subs.End(err)
}
