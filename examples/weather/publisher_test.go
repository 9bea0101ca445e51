package main

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
)

// errBrokerDown is what faultyBroker answers while it is down.
var errBrokerDown = errors.New("test broker: not connected")

// faultyBroker is a keyedBroker that can be taken down (Publish fails at
// once) or made to hang (Publish returns only when its ctx is done), per
// topic, and records every attempt.
type faultyBroker struct {
	keyedBroker

	mu       sync.Mutex
	down     bool
	hang     map[string]bool // topic → Publish hangs
	attempts []attempt
	started  chan attempt // when not nil, gets each attempt as it starts
	done     chan attempt // when not nil, gets each attempt once it returned
}

type attempt struct {
	topic, key string
	deadline   time.Duration // how far the ctx deadline was from the call; 0: none
	err        error
}

func (b *faultyBroker) Publish(ctx context.Context, topic string, e sseview.Event) (string, error) {
	a := attempt{topic: topic}
	if k, ok := e.(sseview.Keyed); ok {
		a.key = k.Key
	}
	if d, ok := ctx.Deadline(); ok {
		a.deadline = time.Until(d)
	}
	b.mu.Lock()
	down, hang := b.down, b.hang[topic]
	started, done := b.started, b.done
	b.mu.Unlock()
	if started != nil {
		started <- a
	}
	var id string
	switch {
	case hang:
		<-ctx.Done()
		a.err = ctx.Err()
	case down:
		a.err = errBrokerDown
	default:
		id, a.err = b.keyedBroker.Publish(ctx, topic, e)
	}
	b.mu.Lock()
	b.attempts = append(b.attempts, a)
	b.mu.Unlock()
	if done != nil {
		done <- a
	}
	return id, a.err
}

func (b *faultyBroker) setDown(down bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.down = down
}

func (b *faultyBroker) setHang(topic string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.hang == nil {
		b.hang = make(map[string]bool)
	}
	b.hang[topic] = true
}

func (b *faultyBroker) attemptsOf(topic string) []attempt {
	b.mu.Lock()
	defer b.mu.Unlock()
	var as []attempt
	for _, a := range b.attempts {
		if a.topic == topic {
			as = append(as, a)
		}
	}
	return as
}

// next returns the next attempt from c, failing after wait.
func next(t *testing.T, c <-chan attempt) attempt {
	t.Helper()
	select {
	case a := <-c:
		return a
	case <-time.After(wait):
		t.Fatal("no publish attempt")
		return attempt{}
	}
}

// readings subscribes to point's topic after id and returns the times of
// the first n readings that arrive, failing after wait.
func readings(t *testing.T, broker sseview.Broker, point, after string, n int) []time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	var got []time.Time
	for e, err := range broker.Subscribe(ctx, Topic(point), after) {
		require.NoError(t, err, "after %d readings of %d", len(got), n)
		text, err := e.MarshalEvent()
		require.NoError(t, err)
		at, err := readingTime([]byte(text.Data))
		require.NoError(t, err)
		if got = append(got, at); len(got) == n {
			break
		}
	}
	return got
}

func TestAPointWhosePublishHangsDelaysNoOther(t *testing.T) {
	broker := &faultyBroker{done: make(chan attempt, 16)}
	var mu sync.Mutex
	now := at
	u := &Updater{Store: openStore(t), Broker: broker, Interval: time.Hour,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	runUpdater(t, u)
	const stuck, fine = "0.00,0.00", "1.00,1.00" // Round visits them in this order
	defer u.Watch(t.Context(), stuck)()
	defer u.Watch(t.Context(), fine)()
	require.NoError(t, next(t, broker.done).err)
	require.NoError(t, next(t, broker.done).err)

	broker.setHang(Topic(stuck))
	mu.Lock()
	now = at.Add(time.Hour)
	mu.Unlock()
	rounded := make(chan struct{})
	go func() {
		defer close(rounded)
		u.Round(t.Context())
	}()
	a := next(t, broker.done)
	require.NoError(t, a.err, "a hanging publish of one point held up the others")
	assert.Equal(t, readingKey(fine, at.Add(time.Hour)), a.key)
	select {
	case <-rounded:
	case <-time.After(wait):
		t.Fatal("Round waited for a hanging publish")
	}
}

func TestEachPublishIsBoundedByPublishTimeout(t *testing.T) {
	broker := &faultyBroker{started: make(chan attempt, 16)}
	broker.setHang(Topic("2.00,2.00"))
	logs := &logBuffer{}
	u := &Updater{Store: openStore(t), Broker: broker, Interval: time.Hour, PublishTimeout: 50 * time.Millisecond,
		Now: func() time.Time { return at }, Logger: logs.logger()}
	runUpdater(t, u)
	// The caller's ctx allows far longer: the updater's own bound applies.
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	started := time.Now()
	defer u.Watch(ctx, "2.00,2.00")()
	assert.Less(t, time.Since(started), wait, "Watch waits for the first publish no longer than its timeout")

	first := next(t, broker.started)
	assert.Positive(t, first.deadline)
	assert.LessOrEqual(t, first.deadline, 50*time.Millisecond)
	next(t, broker.started) // the retry, after the first one failed
	as := broker.attemptsOf(Topic("2.00,2.00"))
	require.NotEmpty(t, as)
	assert.ErrorIs(t, as[0].err, context.DeadlineExceeded)
	assert.Contains(t, logs.String(), "weather: publish failed, retrying until it works")
}

func TestReadingsProducedDuringAnOutageArePublishedWhenTheBrokerIsBack(t *testing.T) {
	broker := &faultyBroker{done: make(chan attempt, 256)}
	logs := &logBuffer{}
	now := at
	var mu sync.Mutex
	u := &Updater{Store: openStore(t), Broker: broker, Interval: time.Hour, Logger: logs.logger(),
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	runUpdater(t, u)
	const point = "3.00,3.00"
	defer u.Watch(t.Context(), point)()
	before, ok := u.Published(point)
	require.True(t, ok, "published while the broker was up")

	broker.setDown(true)
	for h := 1; h <= 3; h++ {
		mu.Lock()
		now = at.Add(time.Duration(h) * time.Hour)
		mu.Unlock()
		u.Round(t.Context())
	}
	for a := next(t, broker.done); a.err == nil; a = next(t, broker.done) {
	}
	broker.setDown(false)

	want := []time.Time{at.Add(time.Hour), at.Add(2 * time.Hour), at.Add(3 * time.Hour)}
	assert.Equal(t, want, readings(t, broker, point, before.ID, 3), "each reading of the outage, once, in order")
	last := readingKey(point, want[2])
	for a := next(t, broker.done); a.err != nil || a.key != last; a = next(t, broker.done) {
	}
	keys := map[string]bool{}
	failed := 0
	for _, a := range broker.attemptsOf(Topic(point)) {
		keys[a.key] = true
		if a.err != nil {
			failed++
		}
	}
	assert.Positive(t, failed, "the outage was seen")
	assert.Len(t, keys, 4, "every retry of a reading carries its key: one key per reading")
	for _, w := range append(want, at) {
		assert.True(t, keys[readingKey(point, w)], "key of %v", w)
	}
	assert.Zero(t, u.Dropped())
	assert.Contains(t, logs.String(), "weather: publishing works again")
}

func TestBacklogIsBoundedAndItsDropsAreLoggedAndCounted(t *testing.T) {
	broker := &faultyBroker{}
	logs := &logBuffer{}
	now := at
	var mu sync.Mutex
	u := &Updater{Store: openStore(t), Broker: broker, Interval: time.Hour, Backlog: 2, PublishTimeout: 10 * time.Millisecond,
		Logger: logs.logger(), Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	runUpdater(t, u)
	const point = "4.00,4.00"
	first, err := broker.Publish(t.Context(), Topic(point), sseview.Text{Type: "note", Data: "before the readings"})
	require.NoError(t, err)

	broker.setDown(true)
	defer u.Watch(t.Context(), point)() // the reading at 12:00, tried and failed
	for h := 1; h <= 4; h++ {
		mu.Lock()
		now = at.Add(time.Duration(h) * time.Hour)
		mu.Unlock()
		u.Round(t.Context())
	}
	assert.Equal(t, 2, u.Dropped(), "two readings past the backlog of 2 (the one being retried is kept)")
	assert.Contains(t, logs.String(), "weather: publish backlog full, dropped a reading")
	assert.Contains(t, logs.String(), "reading=2026-07-14T13:00:00.000Z")
	assert.Contains(t, logs.String(), "reading=2026-07-14T14:00:00.000Z")
	broker.setDown(false)

	assert.Equal(t, []time.Time{at, at.Add(3 * time.Hour), at.Add(4 * time.Hour)}, readings(t, broker, point, first, 3))
}

// TestRunStoresEverySlotAfterALateWakeUp: a round that wakes up later than
// its slot (a paused process, a clock step) also stores the slots it
// passed, so no slot of the grid goes without its reading.
func TestRunStoresEverySlotAfterALateWakeUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, err := OpenStore(t.Context(), filepath.Join(t.TempDir(), "weather.db"))
		require.NoError(t, err)
		defer store.Close()
		broker := &faultyBroker{}
		var mu sync.Mutex
		var skew time.Duration
		start := time.Now().Truncate(time.Hour)
		u := &Updater{Store: store, Broker: broker, Interval: time.Hour,
			Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(skew) }}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			u.Run(ctx)
		}()
		const point = "5.00,5.00"
		unwatch := u.Watch(ctx, point)
		mu.Lock()
		skew = 2 * time.Hour // the wake-up at the next slot sees the clock two slots further
		mu.Unlock()
		time.Sleep(time.Until(start.Add(time.Hour)))
		synctest.Wait()
		unwatch()
		cancel()
		<-done

		var keys []string
		for _, a := range broker.attemptsOf(Topic(point)) {
			keys = append(keys, a.key)
		}
		want := []string{readingKey(point, start)}
		for h := 1; h <= 3; h++ {
			want = append(want, readingKey(point, start.Add(time.Duration(h)*time.Hour)))
		}
		assert.Equal(t, want, keys)
	})
}
