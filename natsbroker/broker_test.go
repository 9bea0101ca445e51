package natsbroker_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sseview/sseview/natsbroker"
	"github.com/sseview/sseview/natsbroker/internal/natstest"
	"github.com/sseview/sseview/sseview"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const wait = 10 * time.Second

// quiet drops the broker's logs: the live feeds' reconnection warnings
// would bury the test output.
var quiet = slog.New(slog.DiscardHandler)

// logCounter counts the records logged at each level.
type logCounter struct {
	mu     sync.Mutex
	counts map[slog.Level]int
}

func (c *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCounter) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[r.Level]++
	return nil
}
func (c *logCounter) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCounter) WithGroup(string) slog.Handler      { return c }
func (c *logCounter) count(l slog.Level) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[l]
}

func newBroker(t *testing.T, srv *natstest.Server, cfg natsbroker.Config) *natsbroker.Broker {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	nc := srv.Connect(t)
	b, err := natsbroker.New(t.Context(), nc, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return b
}

// sub runs a subscription on its own goroutine and hands each element over
// unbuffered, so a test that stops reading makes the subscriber slow.
type sub struct {
	t      *testing.T
	out    chan result
	cancel context.CancelFunc
	done   chan struct{}
}

type result struct {
	ev  sseview.Text
	err error
}

func subscribe(t *testing.T, b sseview.Broker, topic, last string) *sub {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	s := &sub{t: t, out: make(chan result), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for ev, err := range b.Subscribe(ctx, topic, last) {
			r := result{err: err}
			if err == nil {
				r.ev, r.err = ev.MarshalEvent()
			}
			select {
			case s.out <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(s.stop)
	return s
}

// stop cancels the subscription and waits until its iterator returned.
func (s *sub) stop() {
	s.cancel()
	<-s.done
}

func (s *sub) next() sseview.Text {
	s.t.Helper()
	r := s.nextResult()
	require.NoError(s.t, r.err)
	return r.ev
}

func (s *sub) nextResult() result {
	s.t.Helper()
	select {
	case r := <-s.out:
		return r
	case <-s.done:
		s.t.Fatal("subscription ended")
	case <-time.After(wait):
		s.t.Fatal("no event in time")
	}
	return result{}
}

func publish(t *testing.T, b sseview.Broker, topic string, data string) string {
	t.Helper()
	id, err := b.Publish(t.Context(), topic, sseview.Text{Type: "t", Data: data})
	require.NoError(t, err)
	return id
}

func TestPublishAssignsIncreasingIDs(t *testing.T) {
	b := newBroker(t, natstest.Start(t), natsbroker.Config{})
	prev := uint64(0)
	for i := range 5 {
		id := publish(t, b, "a", strconv.Itoa(i))
		n, err := strconv.ParseUint(id, 10, 64)
		require.NoError(t, err, "id %q", id)
		assert.Equal(t, strconv.FormatUint(n, 10), id, "plain decimal")
		assert.Greater(t, n, prev)
		prev = n
		// Another topic shares the stream's sequence; ids still increase.
		publish(t, b, "b", "x")
	}
}

func TestEventFieldsTravelExactly(t *testing.T) {
	b := newBroker(t, natstest.Start(t), natsbroker.Config{})
	cases := []sseview.Text{
		{Data: "plain message"},
		{Type: "weather", Data: `{"t":21.5}`},
		{Type: " padded type ", Data: " padded data "},
		{Type: `"quoted"`, Data: "line 1\nline 2\n"},
		{Type: "ünïcode ☂", Data: "ünïcode"},
		{Type: "tab\there", Data: ""},
		{Type: "r", Data: "x", Retry: 1500 * time.Millisecond},
		{Data: "nul\x00inside"},
	}
	encoded, err := sseview.Encode(sseview.Text{Type: "pre", ID: "old", Data: "encoded"})
	require.NoError(t, err)
	marker := publish(t, b, "fields", "marker")
	s := subscribe(t, b, "fields", marker)
	for _, want := range cases {
		id, err := b.Publish(t.Context(), "fields", sseview.Text{Type: want.Type, Data: want.Data, Retry: want.Retry, ID: "ignored"})
		require.NoError(t, err)
		want.ID = id
		assert.Equal(t, want, s.next())
	}
	for _, c := range []struct {
		ev   sseview.Event
		want sseview.Text
	}{
		{sseview.JSON{Type: "reading", ID: "x", Data: map[string]any{"t": 21.5}}, sseview.Text{Type: "reading", Data: `{"t":21.5}`}},
		{encoded, sseview.Text{Type: "pre", Data: "encoded"}},
	} {
		id, err := b.Publish(t.Context(), "fields", c.ev)
		require.NoError(t, err)
		c.want.ID = id
		assert.Equal(t, c.want, s.next())
	}
}

func TestSubscribeWithoutIDStartsWithTheNextEvent(t *testing.T) {
	b := newBroker(t, natstest.Start(t), natsbroker.Config{})
	publish(t, b, "live", "before")
	s := subscribe(t, b, "live", "")
	// The subscription joins the feed at some point while events are being
	// published; from the first event it gets, it must get every later one.
	stop := make(chan struct{})
	published := make(chan string, 1000)
	go func() {
		defer close(published)
		for i := range 1000 {
			select {
			case <-stop:
				return
			default:
			}
			id, err := b.Publish(t.Context(), "live", sseview.Text{Data: strconv.Itoa(i)})
			if !assert.NoError(t, err) {
				return
			}
			published <- id
		}
	}()
	first := s.next()
	close(stop)
	var ids []string
	for id := range published {
		ids = append(ids, id)
	}
	i := 0
	for i < len(ids) && ids[i] != first.ID {
		i++
	}
	require.Less(t, i, len(ids), "the first event received was published")
	for _, id := range ids[i+1:] {
		assert.Equal(t, id, s.next().ID)
	}
}

func TestResume(t *testing.T) {
	b := newBroker(t, natstest.Start(t), natsbroker.Config{})
	var ids, data []string
	for i := range 5 {
		ids = append(ids, publish(t, b, "r", strconv.Itoa(i)))
		data = append(data, strconv.Itoa(i))
		publish(t, b, "other", "x")
	}
	otherNewest := publish(t, b, "other", "newest")
	for i, last := range ids {
		t.Run("after "+last, func(t *testing.T) {
			s := subscribe(t, b, "r", last)
			for j := i + 1; j < len(ids); j++ {
				ev := s.next()
				assert.Equal(t, ids[j], ev.ID)
				assert.Equal(t, data[j], ev.Data)
			}
			live := publish(t, b, "r", "live "+last)
			ids = append(ids, live)
			data = append(data, "live "+last)
			assert.Equal(t, live, s.next().ID)
		})
	}
	t.Run("kept id of another topic", func(t *testing.T) {
		// Nothing after it aged out, and the topic has fewer events than
		// MaxEvents, so none was removed by count: no reset.
		s := subscribe(t, b, "r", otherNewest)
		for _, id := range ids[5:] { // the live events of the subtests above
			assert.Equal(t, id, s.next().ID)
		}
		live := publish(t, b, "r", "live")
		ids = append(ids, live)
		assert.Equal(t, live, s.next().ID)
	})
	t.Run("id of another topic after the newest event", func(t *testing.T) {
		otherNewest := publish(t, b, "other", "newest")
		// Nothing of the topic can have been lost after it: no reset.
		s := subscribe(t, b, "r", otherNewest)
		live := publish(t, b, "r", "live")
		assert.Equal(t, live, s.next().ID)
	})
}

func TestResetEvent(t *testing.T) {
	srv := natstest.Start(t)
	b := newBroker(t, srv, natsbroker.Config{MaxEvents: 3})
	var ids []string
	for i := range 6 {
		ids = append(ids, publish(t, b, "h", strconv.Itoa(i)))
		publish(t, b, "other", "x")
	}
	t.Run("kept id resumes", func(t *testing.T) {
		s := subscribe(t, b, "h", ids[4])
		assert.Equal(t, ids[5], s.next().ID)
	})
	newest := ids[len(ids)-1]
	cases := map[string]string{
		"evicted":             ids[1],
		"just before history": ids[2], // kept: ids[3..5]; ids[2] itself is gone
		"malformed":           "abc",
		"leading zero":        "0" + ids[4],
		"zero":                "0",
		"negative":            "-1",
		"future":              "999999",
	}
	// An id of another topic before the topic's newest event is not an id
	// of this topic's history.
	otherID, err := strconv.ParseUint(ids[4], 10, 64)
	require.NoError(t, err)
	cases["other topic's id"] = strconv.FormatUint(otherID+1, 10)
	for name, last := range cases {
		t.Run(name, func(t *testing.T) {
			s := subscribe(t, b, "h", last)
			reset := s.next()
			assert.Equal(t, sseview.Text{Type: sseview.ResetEventType, ID: newest}, reset)
			live := publish(t, b, "h", "after reset")
			assert.Equal(t, live, s.next().ID)
			newest = live
		})
	}
	t.Run("empty topic", func(t *testing.T) {
		s := subscribe(t, b, "never", ids[0])
		reset := s.next()
		assert.Equal(t, sseview.ResetEventType, reset.Type)
		assert.NotEmpty(t, reset.ID)
		live := publish(t, b, "never", "first")
		assert.Equal(t, live, s.next().ID)
		// The reset's id is a place to resume from.
		again := subscribe(t, b, "never", reset.ID)
		assert.Equal(t, live, again.next().ID)
	})
}

func TestSlowSubscriberIsDropped(t *testing.T) {
	b := newBroker(t, natstest.Start(t), natsbroker.Config{QueueLen: 4})
	// Without a Last-Event-ID there is no catch-up, during which a slow
	// subscriber just reads on from the stream: these two are on the live
	// queue once each has an event.
	slow := subscribe(t, b, "slow", "")
	fast := subscribe(t, b, "slow", "")
	waitLive(t, b, "slow", slow, fast)
	// The slow subscriber's reader stops; the fast one keeps up.
	for i := range 20 {
		id := publish(t, b, "slow", strconv.Itoa(i))
		assert.Equal(t, id, fast.next().ID, "a slow subscriber does not hold up the others")
	}
	var err error
	for err == nil {
		err = slow.nextResult().err
	}
	assert.ErrorIs(t, err, sseview.ErrSlowSubscriber)
}

// waitLive publishes warm-up events until each subscription has one (and
// has read it): from then on each gets every event published.
func waitLive(t *testing.T, b sseview.Broker, topic string, subs ...*sub) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for _, s := range subs {
		for live := false; !live; {
			require.True(t, time.Now().Before(deadline), "no warm-up event in %v", wait)
			_, err := b.Publish(t.Context(), topic, sseview.Text{Type: "warm-up"})
			require.NoError(t, err)
			select {
			case r := <-s.out:
				require.NoError(t, r.err)
				live = true
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	// Warm-up events published after a subscription went live reach it
	// too: read them, so that the tests start on a clean queue.
	last := publish(t, b, topic, "warm-up done")
	for _, s := range subs {
		for s.next().ID != last {
		}
	}
}

func TestCatchUpWhileLiveOverflows(t *testing.T) {
	b := newBroker(t, natstest.Start(t), natsbroker.Config{QueueLen: 2})
	var want []string
	for i := range 200 {
		want = append(want, publish(t, b, "c", strconv.Itoa(i)))
	}
	last := want[0]
	want = want[1:]
	more := make(chan string, 100)
	go func() {
		defer close(more)
		for i := range 100 {
			id, err := b.Publish(t.Context(), "c", sseview.Text{Data: strconv.Itoa(200 + i)})
			if err != nil {
				return
			}
			more <- id
		}
	}()
	// The subscriber reads its catch-up while live events overflow its tiny
	// queue: it reads those from the stream too. When it is dropped as slow
	// it resumes from the last id it got, as a client would, and in the end
	// it has every event exactly once, in order.
	var got []string
	for len(got) < len(want)+100 {
		s := subscribe(t, b, "c", last)
		for {
			r := s.nextResult()
			if errors.Is(r.err, sseview.ErrSlowSubscriber) {
				break
			}
			require.NoError(t, r.err)
			got = append(got, r.ev.ID)
			last = r.ev.ID
			if len(got) == len(want)+100 {
				break
			}
		}
		s.stop()
	}
	for id := range more {
		want = append(want, id)
	}
	assert.Equal(t, want, got)
}

func TestManyTopics(t *testing.T) {
	b := newBroker(t, natstest.Start(t), natsbroker.Config{})
	const n = 40
	subs := make([]*sub, n)
	for i := range n {
		topic := fmt.Sprintf("room.%d", i)
		subs[i] = subscribe(t, b, topic, publish(t, b, topic, "marker"))
	}
	for round := range 3 {
		for i := range n {
			publish(t, b, fmt.Sprintf("room.%d", i), fmt.Sprintf("%d/%d", i, round))
		}
	}
	for round := range 3 {
		for i, s := range subs {
			assert.Equal(t, fmt.Sprintf("%d/%d", i, round), s.next().Data)
		}
	}
	assert.Equal(t, n, b.Feeds())
}

func TestLeavingFreesEverything(t *testing.T) {
	srv := natstest.Start(t)
	b := newBroker(t, srv, natsbroker.Config{})
	marker := publish(t, b, "f", "marker")
	var subs []*sub
	for range 5 {
		subs = append(subs, subscribe(t, b, "f", marker))
	}
	id := publish(t, b, "f", "x")
	for _, s := range subs {
		require.Equal(t, id, s.next().ID)
	}
	n, feed := b.Subscribers("f")
	assert.True(t, feed)
	assert.Equal(t, 5, n)
	for _, s := range subs[1:] {
		s.stop()
	}
	n, _ = b.Subscribers("f")
	assert.Equal(t, 1, n)
	subs[0].stop()
	_, feed = b.Subscribers("f")
	assert.False(t, feed, "the last subscriber's leaving stops the feed")
	assert.Zero(t, b.Feeds())

	// Nothing is left on the server either: every consumer was deleted.
	nc := srv.Connect(t)
	info := streamInfo(t, nc)
	assert.Zero(t, info.State.Consumers)
}

func TestCloseEndsSubscriptions(t *testing.T) {
	srv := natstest.Start(t)
	nc := srv.Connect(t)
	b, err := natsbroker.New(t.Context(), nc, natsbroker.Config{Logger: quiet})
	require.NoError(t, err)
	marker := publish(t, b, "x", "m")
	s := subscribe(t, b, "x", marker)
	id := publish(t, b, "x", "1")
	require.Equal(t, id, s.next().ID)
	require.NoError(t, b.Close())
	require.NoError(t, b.Close())
	assert.ErrorIs(t, s.nextResult().err, natsbroker.ErrClosed)
	_, err = b.Publish(t.Context(), "x", sseview.Text{})
	assert.ErrorIs(t, err, natsbroker.ErrClosed)
	for _, err := range b.Subscribe(t.Context(), "x", "") {
		assert.ErrorIs(t, err, natsbroker.ErrClosed)
	}
}

func TestConnectionClosedEndsSubscriptions(t *testing.T) {
	srv := natstest.Start(t)
	nc := srv.Connect(t)
	b, err := natsbroker.New(t.Context(), nc, natsbroker.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	marker := publish(t, b, "x", "m")
	s := subscribe(t, b, "x", marker)
	id := publish(t, b, "x", "1")
	require.Equal(t, id, s.next().ID)
	nc.Close()
	r := s.nextResult()
	assert.ErrorIs(t, r.err, natsbroker.ErrConnClosed)
}

func TestNewValidates(t *testing.T) {
	srv := natstest.Start(t)
	nc := srv.Connect(t)
	_, err := natsbroker.New(t.Context(), nil, natsbroker.Config{})
	assert.ErrorContains(t, err, "natsbroker: ")
	_, err = natsbroker.New(t.Context(), nc, natsbroker.Config{SubjectPrefix: "a.*"})
	assert.ErrorContains(t, err, "natsbroker: Config.SubjectPrefix")
	_, err = natsbroker.New(t.Context(), nc, natsbroker.Config{PublishTimeout: -time.Second})
	assert.ErrorContains(t, err, "natsbroker: Config.PublishTimeout")
	_, err = natsbroker.New(t.Context(), nc, natsbroker.Config{DuplicateWindow: -time.Second})
	assert.ErrorContains(t, err, "natsbroker: Config.DuplicateWindow")
	_, err = natsbroker.New(t.Context(), nc, natsbroker.Config{MaxAge: time.Minute, DuplicateWindow: time.Hour})
	assert.ErrorContains(t, err, "natsbroker: stream ", "a duplicate window longer than MaxAge")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = natsbroker.New(ctx, nc, natsbroker.Config{})
	assert.True(t, errors.Is(err, context.Canceled), "%v", err)
}

func streamInfo(t *testing.T, nc *nats.Conn) *jetstream.StreamInfo {
	t.Helper()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	st, err := js.Stream(t.Context(), "SSEVIEW")
	require.NoError(t, err)
	info, err := st.Info(t.Context())
	require.NoError(t, err)
	return info
}

func TestConfigSetsTheStream(t *testing.T) {
	srv := natstest.Start(t)
	cases := []struct {
		name      string
		cfg       natsbroker.Config
		maxPerSub int64
		maxAge    time.Duration
		maxCons   int
		storage   jetstream.StorageType
		dupes     time.Duration
	}{
		{"defaults", natsbroker.Config{}, 1000, time.Hour, 10_000, jetstream.FileStorage, 2 * time.Minute},
		{"set", natsbroker.Config{MaxEvents: 5, MaxAge: 2 * time.Minute, MaxConsumers: 50, MemoryStorage: true, DuplicateWindow: 30 * time.Second}, 5, 2 * time.Minute, 50, jetstream.MemoryStorage, 30 * time.Second},
		{"no limits", natsbroker.Config{MaxEvents: -1, MaxAge: -1, MaxConsumers: -1}, -1, 0, -1, jetstream.FileStorage, 2 * time.Minute},
		{"a MaxAge shorter than the default duplicate window", natsbroker.Config{MaxAge: time.Second}, 1000, time.Second, 10_000, jetstream.FileStorage, time.Second},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Stream = "CFG" + strconv.Itoa(i)
			c.cfg.SubjectPrefix = "cfg" + strconv.Itoa(i)
			newBroker(t, srv, c.cfg)
			js, err := jetstream.New(srv.Connect(t))
			require.NoError(t, err)
			st, err := js.Stream(t.Context(), c.cfg.Stream)
			require.NoError(t, err)
			got := st.CachedInfo().Config
			assert.Equal(t, []string{c.cfg.SubjectPrefix + ".>"}, got.Subjects)
			assert.Equal(t, c.maxPerSub, got.MaxMsgsPerSubject)
			assert.Equal(t, c.maxAge, got.MaxAge)
			assert.Equal(t, c.maxCons, got.MaxConsumers)
			assert.Equal(t, c.storage, got.Storage)
			assert.Equal(t, c.dupes, got.Duplicates)
		})
	}
}

func TestConcurrentFirstSubscribersShareOneFeed(t *testing.T) {
	b := newBroker(t, natstest.Start(t), natsbroker.Config{})
	marker := publish(t, b, "crowd", "marker")
	subs := make([]*sub, 50)
	for i := range subs {
		subs[i] = subscribe(t, b, "crowd", marker)
	}
	id := publish(t, b, "crowd", "x")
	for _, s := range subs {
		assert.Equal(t, id, s.next().ID)
	}
	n, feed := b.Subscribers("crowd")
	assert.True(t, feed)
	assert.Equal(t, len(subs), n)
	assert.Equal(t, 1, b.Feeds())
}

func TestForeignMessagesAreEvents(t *testing.T) {
	srv := natstest.Start(t)
	logs := &logCounter{counts: map[slog.Level]int{}}
	b := newBroker(t, srv, natsbroker.Config{Logger: slog.New(logs)})
	js, err := jetstream.New(srv.Connect(t))
	require.NoError(t, err)
	marker := publish(t, b, "ops", "marker")
	s := subscribe(t, b, "ops", marker)

	// What `nats pub sseview.ops hello` does.
	ack, err := js.Publish(t.Context(), "sseview.ops", []byte("hello"))
	require.NoError(t, err)
	assert.Equal(t, sseview.Text{ID: strconv.FormatUint(ack.Sequence, 10), Data: "hello"}, s.next())

	// With headers set by hand, unquoted.
	msg := nats.NewMsg("sseview.ops")
	msg.Header.Set("Sseview-Type", "alert")
	msg.Header.Set("Sseview-Retry", "250")
	msg.Data = []byte("x")
	ack, err = js.PublishMsg(t.Context(), msg)
	require.NoError(t, err)
	assert.Equal(t, sseview.Text{ID: strconv.FormatUint(ack.Sequence, 10), Type: "alert", Data: "x", Retry: 250 * time.Millisecond}, s.next())

	// Not an event: logged and skipped, the next one arrives.
	for _, bad := range []*nats.Msg{
		{Subject: "sseview.ops", Data: []byte("\xff")},
		{Subject: "sseview.ops", Header: nats.Header{"Sseview-Retry": {"soon"}}},
		{Subject: "sseview.ops", Header: nats.Header{"Sseview-Type": {`"unterminated`}}},
	} {
		_, err = js.PublishMsg(t.Context(), bad)
		require.NoError(t, err)
	}
	id := publish(t, b, "ops", "after")
	assert.Equal(t, id, s.next().ID)
	assert.Equal(t, 3, logs.count(slog.LevelError), "each skipped message is logged")
	// A catch-up over the same messages skips them too.
	again := subscribe(t, b, "ops", marker)
	assert.Equal(t, "hello", again.next().Data)
	assert.Equal(t, "x", again.next().Data)
	assert.Equal(t, id, again.next().ID)
	assert.Equal(t, 6, logs.count(slog.LevelError))
}

func TestSlowCatchUpHoldsNoTurn(t *testing.T) {
	b := newBroker(t, natstest.Start(t), natsbroker.Config{CatchUps: 1})
	var ids []string
	for i := range 300 {
		ids = append(ids, publish(t, b, "turns", strconv.Itoa(i)))
	}
	// Each of these reads one event of its catch-up, then its reader stops.
	for range 3 {
		stalled := subscribe(t, b, "turns", ids[0])
		require.Equal(t, ids[1], stalled.next().ID)
	}
	// This one still gets the only catch-up turn, batch after batch.
	s := subscribe(t, b, "turns", ids[0])
	for _, id := range ids[1:] {
		require.Equal(t, id, s.next().ID)
	}
}

func TestHistoryEvictedByAge(t *testing.T) {
	// The NATS server removes expired events on its own clock, which a test
	// cannot advance: the test polls, bounded, on a ticker.
	const maxAge = 300 * time.Millisecond
	b := newBroker(t, natstest.Start(t), natsbroker.Config{MaxAge: maxAge})
	old := publish(t, b, "aging", "old")
	tick := time.NewTicker(maxAge / 5)
	defer tick.Stop()
	deadline := time.After(maxAge + wait)
	for {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("event %s still resumable %v after MaxAge %v", old, wait, maxAge)
		}
		fresh := publish(t, b, "aging", "fresh")
		s := subscribe(t, b, "aging", old)
		first := s.next()
		if first.Type != sseview.ResetEventType {
			require.Equal(t, "t", first.Type, "neither a reset nor the replay: %+v", first)
			s.stop()
			continue
		}
		assert.Equal(t, sseview.Text{Type: sseview.ResetEventType, ID: fresh}, first)
		live := publish(t, b, "aging", "live")
		assert.Equal(t, live, s.next().ID)
		return
	}
}

func TestLeavingAtAnyPoint(t *testing.T) {
	srv := natstest.Start(t)
	b := newBroker(t, srv, natsbroker.Config{})
	var ids []string
	for i := range 300 {
		ids = append(ids, publish(t, b, "leave", strconv.Itoa(i)))
	}
	t.Run("cancelled during the catch-up", func(t *testing.T) {
		s := subscribe(t, b, "leave", ids[0])
		require.Equal(t, ids[1], s.next().ID)
		s.stop() // waits for the iterator to return
	})
	t.Run("cancelled before it starts", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		for ev, err := range b.Subscribe(ctx, "leave", ids[0]) {
			t.Errorf("yielded %v, %v after the context was cancelled", ev, err)
		}
	})
	t.Run("the caller stops iterating", func(t *testing.T) {
		for ev, err := range b.Subscribe(t.Context(), "leave", ids[0]) {
			require.NoError(t, err)
			text, _ := ev.MarshalEvent()
			require.Equal(t, ids[1], text.ID)
			break
		}
		for ev, err := range b.Subscribe(t.Context(), "leave", ids[len(ids)-2]) {
			require.NoError(t, err)
			text, _ := ev.MarshalEvent()
			require.Equal(t, ids[len(ids)-1], text.ID)
			break
		}
	})
	assert.Zero(t, b.Feeds(), "no live feed is left")
	assert.Zero(t, streamInfo(t, srv.Connect(t)).State.Consumers, "no consumer is left on the server")
}

// TestResumeWhilePublishing starts subscriptions from ids published
// moments ago while a publisher keeps going, so that reading the history
// and joining the live feed race with it. A subscriber dropped as slow
// resumes from the last id it got, as a client would.
func TestResumeWhilePublishing(t *testing.T) {
	const total, starts = 300, 10
	b := newBroker(t, natstest.Start(t), natsbroker.Config{QueueLen: 16})
	ids := make(chan string, total)
	go func() {
		defer close(ids)
		for i := range total {
			id, err := b.Publish(t.Context(), "busy", sseview.Text{Type: "t", Data: strconv.Itoa(i)})
			if !assert.NoError(t, err) {
				return
			}
			ids <- id
		}
	}()
	type result struct {
		from int
		got  []string
		err  error
	}
	results := make(chan result, starts)
	var published []string
	for id := range ids {
		published = append(published, id)
		if n := len(published); n%(total/starts) == 1 {
			go func() {
				got, err := follow(t.Context(), b, "busy", id, strconv.Itoa(total-1))
				results <- result{n - 1, got, err}
			}()
		}
	}
	require.Len(t, published, total)
	for range starts {
		select {
		case r := <-results:
			require.NoError(t, r.err, "subscriber from event %d", r.from)
			assert.Equal(t, published[r.from+1:], r.got, "subscriber from event %d", r.from)
		case <-time.After(wait):
			t.Fatal("a subscriber did not get to the last event")
		}
	}
}

// follow collects the ids of the topic's events after lastEventID until
// the one whose data is last, resuming after ErrSlowSubscriber.
func follow(ctx context.Context, b sseview.Broker, topic, lastEventID, last string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var got []string
	for {
		for ev, err := range b.Subscribe(ctx, topic, lastEventID) {
			if errors.Is(err, sseview.ErrSlowSubscriber) {
				break
			}
			if err != nil {
				return got, err
			}
			text, _ := ev.MarshalEvent()
			got = append(got, text.ID)
			lastEventID = text.ID
			if text.Data == last {
				return got, nil
			}
		}
		if err := ctx.Err(); err != nil {
			return got, err
		}
	}
}
