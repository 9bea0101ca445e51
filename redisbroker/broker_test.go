package redisbroker_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/brokercheck"
	"github.com/sseview/sseview/redisbroker"
	"github.com/sseview/sseview/redisbroker/internal/redistest"
	"github.com/sseview/sseview/sseview"
)

func TestIDsAreTheEntryIDs(t *testing.T) {
	srv := redistest.Start(t)
	b := newBroker(t, srv, redisbroker.Config{})
	rdb := client(t, srv)
	var ids []string
	for i := range 5 {
		ids = append(ids, brokercheck.Publish(t, b, "a", strconv.Itoa(i)))
	}
	entries, err := rdb.XRange(t.Context(), "sseview:{a}", "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, entries, 5)
	for i, e := range entries {
		entryID, ok := b.EntryID("a", ids[i])
		require.True(t, ok, "id %q", ids[i])
		assert.Equal(t, e.ID, entryID)
		assert.Equal(t, map[string]any{"data": strconv.Itoa(i), "type": "t"}, e.Values)
		prefix, rest, _ := strings.Cut(ids[i], ".")
		assert.Regexp(t, `^[0-9a-z]+$`, prefix)
		assert.Regexp(t, `^[1-9][0-9]*-[0-9]{20}$`, rest)
	}
	// Within one millisecond Redis counts the sequence up: "5-10" must come
	// after "5-9" as a string too, and "6-0" after "5-10".
	for _, c := range []struct{ before, after string }{{"5-9", "5-10"}, {"5-10", "6-0"}, {"99-5", "100-0"}} {
		x, y := b.EventID("a", c.before), b.EventID("a", c.after)
		assert.True(t, len(x) < len(y) || len(x) == len(y) && x < y, "%s before %s", x, y)
	}
	// An id of one topic is not an id of another.
	_, ok := b.EntryID("b", ids[0])
	assert.False(t, ok)
	// The package doc's example.
	assert.Equal(t, "8x32mk42b0uk.1733040000000-00000000000000000003", b.EventID("room.42", "1733040000000-3"))
}

func TestEventFieldsTravelExactly(t *testing.T) {
	b := newBroker(t, redistest.Start(t), redisbroker.Config{})
	cases := []sseview.Text{
		{Data: "plain message"},
		{Type: "weather", Data: `{"t":21.5}`},
		{Type: " padded type ", Data: " padded data "},
		{Type: `"quoted"`, Data: "line 1\nline 2\n"},
		{Type: "ünïcode ☂", Data: "ünïcode"},
		{Type: "tab\there", Data: ""},
		{Type: "r", Data: "x", Retry: 1500 * time.Millisecond},
		{Data: "nul\x00inside"},
		{Data: strings.Repeat("big ", 64<<10)},
	}
	marker := brokercheck.Publish(t, b, "fields", "marker")
	s := brokercheck.Subscribe(t, b, "fields", marker)
	for _, want := range cases {
		id, err := b.Publish(t.Context(), "fields", sseview.Text{Type: want.Type, Data: want.Data, Retry: want.Retry, ID: "ignored"})
		require.NoError(t, err)
		want.ID = id
		assert.Equal(t, want, s.Next())
	}
	// The catch-up reads the same fields from the history.
	again := brokercheck.Subscribe(t, b, "fields", marker)
	for _, want := range cases {
		got := again.Next()
		got.ID = ""
		assert.Equal(t, want, got)
	}
}

func TestForeignEntriesAreEvents(t *testing.T) {
	srv := redistest.Start(t)
	logs := newLogCounter()
	b := newBroker(t, srv, redisbroker.Config{Logger: slog.New(logs)})
	rdb := client(t, srv)
	marker := brokercheck.Publish(t, b, "ops", "marker")
	s := brokercheck.Subscribe(t, b, "ops", marker)

	// What `redis-cli XADD 'sseview:{ops}' '*' data hello` does.
	add := func(values ...any) string {
		id, err := rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: "sseview:{ops}", Values: values}).Result()
		require.NoError(t, err)
		return b.EventID("ops", id)
	}
	id := add("data", "hello")
	assert.Equal(t, sseview.Text{ID: id, Data: "hello"}, s.Next())
	id = add("type", "alert", "retry", "250", "data", "x")
	assert.Equal(t, sseview.Text{ID: id, Type: "alert", Data: "x", Retry: 250 * time.Millisecond}, s.Next())

	// Not events: logged and skipped, the next one arrives.
	add("data", "\xff")
	add("retry", "soon")
	add("colour", "red")
	after := brokercheck.Publish(t, b, "ops", "after")
	assert.Equal(t, after, s.Next().ID)
	assert.Equal(t, 3, logs.count(slog.LevelError), "each skipped entry is logged")
	// A catch-up over the same entries skips them too.
	again := brokercheck.Subscribe(t, b, "ops", marker)
	assert.Equal(t, "hello", again.Next().Data)
	assert.Equal(t, "x", again.Next().Data)
	assert.Equal(t, after, again.Next().ID)
	assert.Equal(t, 6, logs.count(slog.LevelError))
}

// TestRefusalsStoreNothing checks, in Redis itself, that what the contract
// refuses (brokertest checks the errors) leaves no key behind: no stream of
// an invalid topic, no duplicate record of a refused Keyed event.
func TestRefusalsStoreNothing(t *testing.T) {
	srv := redistest.Start(t)
	b := newBroker(t, srv, redisbroker.Config{})
	rdb := client(t, srv)
	long := strings.Repeat("x", 100_000)
	for _, topic := range []string{"", "a..b", "a b", "a.*", "{a}", "a}", "a:b", "user@example.com", "ü", "a\x00", long} {
		_, err := b.Publish(t.Context(), topic, sseview.Keyed{Key: "k", Event: sseview.Text{Data: "x"}})
		require.ErrorIs(t, err, sseview.ErrInvalidTopic, "topic %.20q", topic)
		assert.True(t, strings.HasPrefix(err.Error(), "sseview: "), err.Error())
		assert.Less(t, len(err.Error()), 200, "the error does not echo the whole topic")
	}
	for name, ev := range map[string]sseview.Event{
		"comment":            sseview.Comment("c"),
		"nil":                nil,
		"invalid UTF-8":      sseview.Text{Data: "\xff"},
		"empty Keyed.Key":    sseview.Keyed{Event: sseview.Text{Data: "x"}},
		"long Keyed.Key":     sseview.Keyed{Key: long, Event: sseview.Text{Data: "x"}},
		"space in Keyed.Key": sseview.Keyed{Key: "a b", Event: sseview.Text{Data: "x"}},
		"invalid in Keyed":   sseview.Keyed{Key: "k", Event: sseview.Text{Data: "\xff"}},
		"Keyed in Keyed":     sseview.Keyed{Key: "k", Event: sseview.Keyed{Key: "j", Event: sseview.Text{Data: "x"}}},
		"nil *Keyed":         (*sseview.Keyed)(nil),
	} {
		_, err := b.Publish(t.Context(), "ok", ev)
		require.ErrorIs(t, err, sseview.ErrInvalidEvent, name)
		assert.Less(t, len(err.Error()), 300, "%s: the error does not echo the whole key", name)
	}
	keys, err := rdb.Keys(t.Context(), "*").Result()
	require.NoError(t, err)
	assert.Empty(t, keys, "a refused publish stores nothing")
}

func TestHistoryIsTrimmedExactly(t *testing.T) {
	srv := redistest.Start(t)
	rdb := client(t, srv)
	t.Run("by count", func(t *testing.T) {
		b := newBroker(t, srv, redisbroker.Config{KeyPrefix: "count:", MaxEvents: 3, MaxAge: -1})
		var ids []string
		for i := range 10 {
			ids = append(ids, brokercheck.Publish(t, b, "h", strconv.Itoa(i)))
		}
		entries, err := rdb.XRange(t.Context(), "count:{h}", "-", "+").Result()
		require.NoError(t, err)
		require.Len(t, entries, 3, "exactly MaxEvents are kept, not about as many")
		first, _ := b.EntryID("h", ids[7])
		assert.Equal(t, first, entries[0].ID)
		ttl, err := rdb.PTTL(t.Context(), "count:{h}").Result()
		require.NoError(t, err)
		assert.Equal(t, time.Duration(-1), ttl, "with no MaxAge the stream never expires")
	})
	t.Run("by age", func(t *testing.T) {
		const maxAge = time.Minute
		b := newBroker(t, srv, redisbroker.Config{KeyPrefix: "age:", MaxAge: maxAge})
		// An entry two minutes old, as Redis's clock counts: it is removed
		// by the next publish.
		now, err := rdb.Time(t.Context()).Result()
		require.NoError(t, err)
		old := strconv.FormatInt(now.Add(-2*maxAge).UnixMilli(), 10) + "-0"
		require.NoError(t, rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: "age:{h}", ID: old, Values: []any{"data", "old"}}).Err())
		fresh := brokercheck.Publish(t, b, "h", "fresh")
		entries, err := rdb.XRange(t.Context(), "age:{h}", "-", "+").Result()
		require.NoError(t, err)
		require.Len(t, entries, 1)
		freshEntry, _ := b.EntryID("h", fresh)
		assert.Equal(t, freshEntry, entries[0].ID)
		ttl, err := rdb.PTTL(t.Context(), "age:{h}").Result()
		require.NoError(t, err)
		assert.InDelta(t, maxAge.Seconds(), ttl.Seconds(), 5, "the stream key expires MaxAge after its last event")
		// Resuming from the removed entry is a reset to the fresh one.
		s := brokercheck.Subscribe(t, b, "h", b.EventID("h", old))
		assert.Equal(t, sseview.Text{Type: sseview.ResetEventType, ID: fresh}, s.Next())
	})
	t.Run("by age, with no publish since", func(t *testing.T) {
		b := newBroker(t, srv, redisbroker.Config{KeyPrefix: "quiet:", MaxAge: time.Minute})
		now, err := rdb.Time(t.Context()).Result()
		require.NoError(t, err)
		old := strconv.FormatInt(now.Add(-2*time.Minute).UnixMilli(), 10) + "-0"
		require.NoError(t, rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: "quiet:{h}", ID: old, Values: []any{"data", "old"}}).Err())
		before := strconv.FormatInt(now.Add(-3*time.Minute).UnixMilli(), 10) + "-0"
		// The subscription removes what aged out before deciding: the old
		// event is not replayed, and with nothing kept the reset's id is the
		// stream's last id.
		s := brokercheck.Subscribe(t, b, "h", b.EventID("h", before))
		reset := s.Next()
		assert.Equal(t, sseview.Text{Type: sseview.ResetEventType, ID: b.EventID("h", old)}, reset)
		n, err := rdb.XLen(t.Context(), "quiet:{h}").Result()
		require.NoError(t, err)
		assert.Zero(t, n)
		live := brokercheck.Publish(t, b, "h", "live")
		assert.Equal(t, live, s.Next().ID)
		// The reset's id is a place to resume from.
		again := brokercheck.Subscribe(t, b, "h", reset.ID)
		assert.Equal(t, live, again.Next().ID)
	})
}

func TestResetEvent(t *testing.T) {
	srv := redistest.Start(t)
	rdb := client(t, srv)
	b := newBroker(t, srv, redisbroker.Config{MaxEvents: 3})
	var ids []string
	for i := range 6 {
		ids = append(ids, brokercheck.Publish(t, b, "h", strconv.Itoa(i)))
		brokercheck.Publish(t, b, "other", "x")
	}
	otherID := brokercheck.Publish(t, b, "other", "newest")
	t.Run("kept id resumes", func(t *testing.T) {
		s := brokercheck.Subscribe(t, b, "h", ids[4])
		assert.Equal(t, ids[5], s.Next().ID)
	})
	newest := ids[len(ids)-1]
	// future returns an id after the newest by ms milliseconds and seq.
	future := func(ms, seq uint64) string {
		entry, _ := b.EntryID("h", newest)
		m, s, _ := strings.Cut(entry, "-")
		mN, _ := strconv.ParseUint(m, 10, 64)
		sN, _ := strconv.ParseUint(s, 10, 64)
		return b.EventID("h", strconv.FormatUint(mN+ms, 10)+"-"+strconv.FormatUint(sN+seq, 10))
	}
	cases := map[string]string{
		"evicted":                 ids[1],
		"the newest evicted":      ids[2], // kept: ids[3..5]; resuming after ids[2] may reset
		"malformed":               "abc",
		"leading zero":            strings.Replace(newest, ".", ".0", 1),
		"short sequence":          strings.Replace(newest, "-00000000000000000", "-", 1),
		"another topic's id":      otherID,
		"from the future":         "future",
		"the future in sequence":  "next",
		"too long":                newest + "999999",
		"not an id of any broker": "-1",
	}
	for name, last := range cases {
		t.Run(name, func(t *testing.T) {
			switch last {
			case "future":
				last = future(60_000, 0)
			case "next":
				last = future(0, 1)
			}
			s := brokercheck.Subscribe(t, b, "h", last)
			assert.Equal(t, sseview.Text{Type: sseview.ResetEventType, ID: newest}, s.Next())
			live := brokercheck.Publish(t, b, "h", "after reset")
			assert.Equal(t, live, s.Next().ID)
			newest = live
		})
	}
	t.Run("a topic never published", func(t *testing.T) {
		s := brokercheck.Subscribe(t, b, "never", ids[0])
		reset := s.Next()
		assert.Equal(t, sseview.ResetEventType, reset.Type)
		live := brokercheck.Publish(t, b, "never", "first")
		assert.Equal(t, live, s.Next().ID)
		again := brokercheck.Subscribe(t, b, "never", reset.ID)
		assert.Equal(t, live, again.Next().ID, "the reset's id is a place to resume from")
	})
	t.Run("a stream deleted and created again", func(t *testing.T) {
		last := brokercheck.Publish(t, b, "gone", "before")
		require.NoError(t, rdb.Del(t.Context(), "sseview:{gone}").Err())
		first := brokercheck.Publish(t, b, "gone", "after")
		// The events between last and the deletion are unknowable: a reset,
		// not a silent resume into the new stream.
		s := brokercheck.Subscribe(t, b, "gone", last)
		assert.Equal(t, sseview.Text{Type: sseview.ResetEventType, ID: first}, s.Next())
	})
}

func TestIdempotentPublish(t *testing.T) {
	srv := redistest.Start(t)
	rdb := client(t, srv)
	const window = 5 * time.Minute
	b := newBroker(t, srv, redisbroker.Config{DuplicateWindow: window})
	marker := brokercheck.Publish(t, b, "k", "marker")
	s := brokercheck.Subscribe(t, b, "k", marker)

	ev := sseview.Keyed{Key: "reading-42", Event: sseview.Text{Type: "t", Data: "21.5"}}
	first, err := b.Publish(t.Context(), "k", ev)
	require.NoError(t, err)
	again, err := b.Publish(t.Context(), "k", ev)
	require.NoError(t, err)
	assert.Equal(t, first, again, "a duplicate returns the first id")
	// Same key, other content: still the first event's id (the key names it).
	other, err := b.Publish(t.Context(), "k", sseview.Keyed{Key: "reading-42", Event: sseview.Text{Data: "other"}})
	require.NoError(t, err)
	assert.Equal(t, first, other)
	// Another topic has its own keys.
	_, err = b.Publish(t.Context(), "k2", ev)
	require.NoError(t, err)
	n, err := rdb.XLen(t.Context(), "sseview:{k}").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(2), n, "the marker and the event, once")
	ttl, err := rdb.PTTL(t.Context(), "sseview:{k}:dup:reading-42").Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, window-time.Minute)
	assert.LessOrEqual(t, ttl, window, "the key is remembered for the window")

	// Concurrent duplicates, as from several instances: one entry, one id.
	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		wg.Go(func() {
			id, err := b.Publish(t.Context(), "k", sseview.Keyed{Key: "burst", Event: sseview.Text{Type: "t", Data: "burst"}})
			assert.NoError(t, err)
			got[i] = id
		})
	}
	wg.Wait()
	for _, id := range got {
		assert.Equal(t, got[0], id)
	}
	// Once the window is over (as Redis does when the key expires) the key
	// is new again.
	require.NoError(t, rdb.Del(t.Context(), "sseview:{k}:dup:reading-42").Err())
	later, err := b.Publish(t.Context(), "k", ev)
	require.NoError(t, err)
	assert.NotEqual(t, first, later)
	// Subscribers saw each event once; they never see a Key.
	assert.Equal(t, sseview.Text{ID: first, Type: "t", Data: "21.5"}, s.Next())
	assert.Equal(t, sseview.Text{ID: got[0], Type: "t", Data: "burst"}, s.Next())
	assert.Equal(t, sseview.Text{ID: later, Type: "t", Data: "21.5"}, s.Next())
}

func TestSlowSubscriberIsDropped(t *testing.T) {
	b := newBroker(t, redistest.Start(t), redisbroker.Config{QueueLen: 4})
	slow := brokercheck.Subscribe(t, b, "slow", "")
	fast := brokercheck.Subscribe(t, b, "slow", "")
	brokercheck.WaitLive(t, b, "slow", slow, fast)
	for i := range 20 {
		id := brokercheck.Publish(t, b, "slow", strconv.Itoa(i))
		assert.Equal(t, id, fast.Next().ID, "a slow subscriber does not hold up the others")
	}
	var err error
	for err == nil {
		err = slow.NextResult().Err
	}
	assert.ErrorIs(t, err, sseview.ErrSlowSubscriber)
}

// TestResumeWhilePublishing runs the check both broker modules share (see
// brokercheck.ResumeWhilePublishing) on one broker; the histories are
// longer than a batch.
func TestResumeWhilePublishing(t *testing.T) {
	const total = 1200
	b := newBroker(t, redistest.Start(t), redisbroker.Config{QueueLen: 64, MaxEvents: 2 * total})
	brokercheck.ResumeWhilePublishing(t, total, 12, b, b)
}

// TestCatchUpTurnsAreBounded runs the catch-up turns check both broker
// modules share.
func TestCatchUpTurnsAreBounded(t *testing.T) {
	brokercheck.CatchUpTurnsAreBounded(t, func(t *testing.T, catchUps int) sseview.Broker {
		return newBroker(t, redistest.Start(t), redisbroker.Config{CatchUps: catchUps})
	})
}

func TestOneFeedPerTopic(t *testing.T) {
	b := newBroker(t, redistest.Start(t), redisbroker.Config{})
	marker := brokercheck.Publish(t, b, "crowd", "marker")
	subs := make([]*brokercheck.Subscription, 50)
	for i := range subs {
		subs[i] = brokercheck.Subscribe(t, b, "crowd", marker)
	}
	other := brokercheck.Subscribe(t, b, "elsewhere", brokercheck.Publish(t, b, "elsewhere", "marker"))
	id := brokercheck.Publish(t, b, "crowd", "x")
	for _, s := range subs {
		assert.Equal(t, id, s.Next().ID)
	}
	n, feed := b.Subscribers("crowd")
	assert.True(t, feed)
	assert.Equal(t, len(subs), n)
	assert.Equal(t, 2, b.Feeds())
	for _, s := range subs {
		s.Stop()
	}
	n, _ = b.Subscribers("crowd")
	assert.Zero(t, n)
	other.Stop()
}

func TestCloseEndsSubscriptions(t *testing.T) {
	srv := redistest.Start(t)
	b, err := redisbroker.Open(t.Context(), srv.URL(), redisbroker.Config{Logger: quiet})
	require.NoError(t, err)
	marker := brokercheck.Publish(t, b, "x", "m")
	s := brokercheck.Subscribe(t, b, "x", marker)
	id := brokercheck.Publish(t, b, "x", "1")
	require.Equal(t, id, s.Next().ID)
	require.NoError(t, b.Close())
	require.NoError(t, b.Close())
	assert.ErrorIs(t, s.NextResult().Err, redisbroker.ErrClosed)
	_, err = b.Publish(t.Context(), "x", sseview.Text{})
	assert.ErrorIs(t, err, redisbroker.ErrClosed)
	for _, err := range b.Subscribe(t.Context(), "x", "") {
		assert.ErrorIs(t, err, redisbroker.ErrClosed)
	}
}

func TestOpenValidates(t *testing.T) {
	srv := redistest.Start(t)
	for name, url := range map[string]string{"not a URL": "::", "another scheme": "http://127.0.0.1:1/"} {
		_, err := redisbroker.Open(t.Context(), url, redisbroker.Config{})
		assert.ErrorContains(t, err, "redisbroker: Redis URL", name)
	}
	// A URL that does not parse is not echoed: it may hold a password.
	_, err := redisbroker.Open(t.Context(), "redis://:s3cret@127.0.0.1:port/0", redisbroker.Config{})
	require.ErrorContains(t, err, "redisbroker: Redis URL")
	assert.NotContains(t, err.Error(), "s3cret")
	_, err = redisbroker.Open(t.Context(), srv.URL(), redisbroker.Config{KeyPrefix: "a{b"})
	assert.ErrorContains(t, err, "redisbroker: Config.KeyPrefix")
	_, err = redisbroker.New(t.Context(), nil, redisbroker.Config{})
	assert.ErrorContains(t, err, "redisbroker: ")

	// Nothing listens there: Open fails at once.
	down := redistest.Start(t)
	down.Kill()
	start := time.Now()
	_, err = redisbroker.Open(t.Context(), down.URL(), redisbroker.Config{})
	assert.ErrorIs(t, err, redisbroker.ErrNotConnected)
	assert.Less(t, time.Since(start), time.Second)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = redisbroker.Open(ctx, srv.URL(), redisbroker.Config{})
	assert.True(t, errors.Is(err, context.Canceled), "%v", err)
}

// TestSubscribeWithoutIDStartsWithTheNextEvent runs the check both broker
// modules share.
func TestSubscribeWithoutIDStartsWithTheNextEvent(t *testing.T) {
	brokercheck.SubscribeWithoutIDStartsWithTheNextEvent(t, newBroker(t, redistest.Start(t), redisbroker.Config{}))
}

// TestResumeOnAnotherInstanceWhilePublishing is TestResumeWhilePublishing
// with the publisher on one instance and the resuming subscribers on
// another, whose live reader and catch-ups race with it through Redis.
func TestResumeOnAnotherInstanceWhilePublishing(t *testing.T) {
	const total = 600
	srv := redistest.Start(t)
	pub := newBroker(t, srv, redisbroker.Config{MaxEvents: 2 * total})
	subs := newBroker(t, srv, redisbroker.Config{QueueLen: 32, MaxEvents: 2 * total})
	brokercheck.ResumeWhilePublishing(t, total, 6, pub, subs)
}

func TestLiveReaderStopsWhenTheLastSubscriberLeaves(t *testing.T) {
	b := newBroker(t, redistest.Start(t), redisbroker.Config{})
	s := brokercheck.Subscribe(t, b, "brief", brokercheck.Publish(t, b, "brief", "marker"))
	id := brokercheck.Publish(t, b, "brief", "x")
	require.Equal(t, id, s.Next().ID)
	require.Equal(t, 1, b.Feeds())
	s.Stop()
	// The reader notices when its XREAD returns, within its block time.
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for b.Feeds() > 0 {
		require.True(t, time.Now().Before(deadline), "the feed of a topic nobody subscribes to still runs after %v", wait)
		<-tick.C
	}
	// A new subscriber starts it again.
	again := brokercheck.Subscribe(t, b, "brief", id)
	id = brokercheck.Publish(t, b, "brief", "y")
	assert.Equal(t, id, again.Next().ID)
}

func TestNewRefusesNegativeSettings(t *testing.T) {
	srv := redistest.Start(t)
	for name, cfg := range map[string]redisbroker.Config{
		"DuplicateWindow": {DuplicateWindow: -time.Second},
		"Timeout":         {Timeout: -time.Second},
		"CatchUps":        {CatchUps: -1},
	} {
		b, err := redisbroker.Open(t.Context(), srv.URL(), cfg)
		if !assert.Error(t, err, name) {
			require.NoError(t, b.Close())
			continue
		}
		assert.Contains(t, err.Error(), "redisbroker: Config."+name, "the error names the setting")
	}
}
