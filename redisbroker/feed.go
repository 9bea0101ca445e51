package redisbroker

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
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
// once and handed to every local subscriber.
type feed struct {
	key   string
	ids   string        // idPrefix(key)
	ready chan struct{} // closed once started; err and fan are set before
	err   error
	fan   *fanout // set under Broker.mu
	users int     // guarded by Broker.mu
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
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	f.fan = newFanout(last, b.queue)
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
	pos := f.fan.position()
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
				f.fan.deliver(item{id: id, ev: ev})
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
