package main

import (
	"context"
	"log"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/testutil"
	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

// keyedBroker is a MemoryBroker that honours sseview.Keyed as the Broker
// contract states it: a key the topic already holds publishes nothing and
// returns the id given the first time. It lets these tests check the weather
// example's side of idempotent publish whatever the brokers under it do.
type keyedBroker struct {
	sseview.MemoryBroker

	mu   sync.Mutex
	ids  map[[2]string]string // {topic, key} → the id given
	keys []string             // every key Publish was given, in call order
}

func (b *keyedBroker) Publish(ctx context.Context, topic string, e sseview.Event) (string, error) {
	k, ok := e.(sseview.Keyed)
	if !ok {
		return b.MemoryBroker.Publish(ctx, topic, e)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.keys = append(b.keys, k.Key)
	if id, ok := b.ids[[2]string{topic, k.Key}]; ok {
		return id, nil
	}
	id, err := b.MemoryBroker.Publish(ctx, topic, k.Event)
	if err != nil {
		return "", err
	}
	if b.ids == nil {
		b.ids = make(map[[2]string]string)
	}
	b.ids[[2]string{topic, k.Key}] = id
	return id, nil
}

func (b *keyedBroker) publishedKeys() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.keys...)
}

// clock is a test clock that several goroutines read.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// instance is one weather process on a shared broker, as run behind a load
// balancer: its own database and updater, the broker-mode route behind the
// middleware a production router has.
type instance struct {
	updater *Updater
	url     string
}

func startInstance(t *testing.T, broker sseview.Broker, now func() time.Time) *instance {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	u := &Updater{Store: openStore(t), Broker: broker, Interval: time.Hour, Now: now, Logger: logger}
	runUpdater(t, u)
	r := chi.NewRouter()
	// No RealIP: chi deprecates it as spoofable.
	r.Use(middleware.RequestID,
		middleware.RequestLogger(&middleware.DefaultLogFormatter{Logger: log.New(t.Output(), "", 0), NoColor: true}),
		middleware.Recoverer)
	r.Get(weatherRoute, (&sseview.Handler{View: BrokerStream{Broker: broker, Published: u, Watcher: u, Logger: logger}, Logger: logger}).ServeHTTP)
	return &instance{updater: u, url: testutil.Serve(t, r).URL}
}

// runUpdater runs u until the test ends.
func runUpdater(t *testing.T, u *Updater) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		u.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func TestReadingsArePublishedKeyedByPointAndTime(t *testing.T) {
	broker := &keyedBroker{}
	const point = "40.71,-74.01"
	// Two processes whose clocks differ by 20 minutes, in the same hour.
	a := &Updater{Store: openStore(t), Broker: broker, Interval: time.Hour, Now: func() time.Time { return at }}
	b := &Updater{Store: openStore(t), Broker: broker, Interval: time.Hour, Now: func() time.Time { return at.Add(20 * time.Minute) }}
	runUpdater(t, a)
	runUpdater(t, b)
	defer a.Watch(t.Context(), point)()
	defer b.Watch(t.Context(), point)()
	defer a.Watch(t.Context(), "51.51,-0.13")()

	keys := broker.publishedKeys()
	require.Len(t, keys, 3, "every reading is published as a sseview.Keyed")
	assert.Equal(t, readingKey(point, at), keys[0])
	assert.Equal(t, keys[0], keys[1], "two processes computing the same reading agree on its key")
	assert.NotEqual(t, keys[0], keys[2], "another point, another key")
	assert.NotEqual(t, readingKey(point, at), readingKey(point, at.Add(time.Hour)), "another time, another key")
	pa, _ := a.Published(point)
	pb, _ := b.Published(point)
	assert.Equal(t, pa.ID, pb.ID, "the second publish got the first one's id")
}

// TestTwoInstancesShowEachReadingOnce is the scenario: two
// instances publish every reading of a point, and every stream, new or
// resumed, on either instance, gets each reading exactly once.
func TestTwoInstancesShowEachReadingOnce(t *testing.T) {
	broker := &keyedBroker{}
	const point = "40.71,-74.01"
	const path = "/weather/40.71,-74.01/"
	c := &clock{now: at}
	a := startInstance(t, broker, c.Now)
	b := startInstance(t, broker, func() time.Time { return c.Now().Add(20 * time.Minute) })

	sa := open(t, a.url+path, nil)
	first := nextEvent(t, sa)
	wantReading(t, first, point, at)
	sb := open(t, b.url+path, nil)
	ev := nextEvent(t, sb)
	wantReading(t, ev, point, at)
	assert.Equal(t, first.ID, ev.ID, "one copy of the reading, one id")

	c.Add(time.Hour)
	a.updater.Round(t.Context())
	b.updater.Round(t.Context())
	seen := nextEvent(t, sa)
	wantReading(t, seen, point, at.Add(time.Hour))
	wantReading(t, nextEvent(t, sb), point, at.Add(time.Hour))
	require.NoError(t, sa.Close())
	require.NoError(t, sb.Close())

	c.Add(time.Hour)
	a.updater.Round(t.Context())
	b.updater.Round(t.Context())
	for _, inst := range []*instance{a, b} {
		for _, from := range []sseviewtest.Event{first, seen} {
			s := open(t, inst.url+path, lastEventID(from.ID))
			if from == first {
				wantReading(t, nextEvent(t, s), point, at.Add(time.Hour))
			}
			next := nextEvent(t, s)
			wantReading(t, next, point, at.Add(2*time.Hour))
			assert.NotEqual(t, from.ID, next.ID)
			require.NoError(t, s.Close())
		}
	}
}
