// Package brokertest is the conformance suite of [sseview.Broker]: the
// behaviour every broker must have, run the same way against each
// implementation.
//
//	func TestMyBroker(t *testing.T) {
//		brokertest.Run(t, func(t *testing.T, l brokertest.Limits) sseview.Broker {
//			b := mybroker.New(mybroker.Config{MaxEvents: l.MaxEvents, MaxAge: l.MaxAge})
//			t.Cleanup(b.Close)
//			return b
//		})
//	}
//
// The suite never sleeps: it waits for events with a deadline, and where
// it cannot know when a subscription is in place it publishes warm-up
// events (type "brokertest-warm-up") until the subscription has one.
//
// Run it in a package whose TestMain calls go.uber.org/goleak's
// VerifyTestMain: every subscription the suite opens ends by the end of its
// test, so a broker that keeps a goroutine per finished subscription fails.
package brokertest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
)

// Limits are the history bounds a test asks of the broker under test.
type Limits struct {
	// MaxEvents is how many events each topic must keep; always positive.
	MaxEvents int
	// MaxAge is how long events must be kept. Zero means the test does not
	// depend on age: any limit of an hour or more, or none, will do. When
	// positive it is at least 100ms (JetStream's smallest MaxAge).
	MaxAge time.Duration
}

// Wait bounds every wait of the suite for something that should happen at
// once. It is generous because the suite runs under -race on busy machines;
// a passing run never waits for it.
var Wait = 10 * time.Second

const warmUpType = "brokertest-warm-up"

// plainID is the form of id that spares cross-origin clients a CORS
// preflight when they send it back as Last-Event-ID.
var plainID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// Run runs the behaviour every sseview.Broker must have. newBroker returns a
// fresh, empty broker (fresh topics are fine too) with the given history
// limits; it registers its own cleanup on t.
//
// Besides the [sseview.Broker] contract, Run checks that ids are plain
// ([A-Za-z0-9._:-], at most 128 bytes) and that the ids of a topic increase
// in the order of (length, then bytes): the order of decimal numbers without
// leading zeros, after a fixed prefix if any.
//
// Every topic the suite uses is made of letters, digits, '-', '_' and
// dots, and is unique within one call of Run.
func Run(t *testing.T, newBroker func(t *testing.T, l Limits) sseview.Broker) {
	t.Helper()
	s := &suite{newBroker: newBroker}
	t.Run("live events reach every subscriber in order", s.liveFanOut)
	t.Run("ids are given by the broker, plain, short and increasing", s.ids)
	t.Run("events arrive as published", s.fidelity)
	t.Run("an invalid event is refused and reaches no one", s.invalid)
	t.Run("resuming from any point gets the rest once, in order, then live", s.resumeEveryPoint)
	t.Run("resuming while events are published has no gap or duplicate", s.resumeUnderLoad)
	t.Run("an empty Last-Event-ID gets only new events", s.emptyID)
	t.Run("an id evicted by count starts with a reset", s.evictedByCount)
	t.Run("an id evicted by age starts with a reset", s.evictedByAge)
	t.Run("a malformed or unknown id starts with a reset", s.unknownID)
	t.Run("topics are isolated", s.isolation)
	t.Run("a subscriber that leaves stops promptly", s.leaving)
}

type suite struct {
	newBroker func(t *testing.T, l Limits) sseview.Broker
	mu        sync.Mutex
	topics    int
}

var defaultLimits = Limits{MaxEvents: 1000}

// topic returns a topic name no other test of this Run uses.
func (s *suite) topic(t *testing.T) string {
	s.mu.Lock()
	s.topics++
	n := s.topics
	s.mu.Unlock()
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, t.Name())
	return "brokertest." + name + "." + strconv.Itoa(n)
}

// event is what a test published or received, reduced to what it checks.
type event struct {
	ID, Type, Data string
}

func (e event) String() string { return fmt.Sprintf("{id %q type %q data %q}", e.ID, e.Type, e.Data) }

func publish(t *testing.T, b sseview.Broker, topic, data string) event {
	t.Helper()
	id, err := b.Publish(t.Context(), topic, sseview.Text{Type: "test", Data: data})
	require.NoError(t, err, "Publish(%q, %q)", topic, data)
	require.NotEmpty(t, id, "Publish returned an empty id")
	return event{ID: id, Type: "test", Data: data}
}

func publishN(t *testing.T, b sseview.Broker, topic string, n int) []event {
	t.Helper()
	evs := make([]event, n)
	for i := range evs {
		evs[i] = publish(t, b, topic, "event "+strconv.Itoa(i))
	}
	return evs
}

// received is one element yielded by a subscription.
type received struct {
	ev   event
	text sseview.Text
	err  error
}

// subscription runs one Subscribe iterator on its own goroutine.
type subscription struct {
	events   chan received
	cancel   context.CancelFunc
	done     chan struct{}
	overflow atomic.Bool // events was full: the broker yielded far too many
}

func subscribe(t *testing.T, b sseview.Broker, topic, lastEventID string) *subscription {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	s := &subscription{events: make(chan received, 1024), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for ev, err := range b.Subscribe(ctx, topic, lastEventID) {
			r := received{err: err}
			if err == nil && ev == nil {
				r.err = errors.New("brokertest: the broker yielded a nil event")
			} else if err == nil {
				r.text, r.err = ev.MarshalEvent()
				r.ev = event{ID: r.text.ID, Type: r.text.Type, Data: r.text.Data}
			}
			select {
			case s.events <- r:
			default:
				// A test reads at most a few hundred events of one
				// subscription; more means the broker yields too many.
				s.overflow.Store(true)
				return
			}
		}
	}()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop cancels the subscription and checks that its iterator returns.
func (s *subscription) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case <-s.done:
	case <-time.After(Wait):
		t.Errorf("the iterator did not return within %v of its context being cancelled", Wait)
	}
}

// next returns the next element the subscription yielded, skipping warm-up
// events.
func (s *subscription) next(t *testing.T) received {
	t.Helper()
	timeout := time.NewTimer(Wait)
	defer timeout.Stop()
	for {
		var r received
		select {
		case r = <-s.events:
		case <-s.done:
			select {
			case r = <-s.events:
			default:
				require.False(t, s.overflow.Load(), "the subscription yielded more than %d unread events", cap(s.events))
				require.FailNow(t, "the subscription ended without yielding another element")
			}
		case <-timeout.C:
			require.FailNow(t, fmt.Sprintf("no event within %v", Wait))
		}
		if r.err == nil && r.ev.Type == warmUpType {
			continue
		}
		return r
	}
}

// event returns the next event, failing on an error.
func (s *subscription) event(t *testing.T) event {
	t.Helper()
	r := s.next(t)
	require.NoError(t, r.err, "the subscription yielded an error where an event was due")
	return r.ev
}

// expect checks that the next events are want, exactly and in order.
func (s *subscription) expect(t *testing.T, want []event, msg string) {
	t.Helper()
	for i, w := range want {
		got := s.event(t)
		require.Equal(t, w, got, "%s: event %d of %d", msg, i+1, len(want))
	}
}

// expectReset checks that the next event is a reset and returns its id.
func (s *subscription) expectReset(t *testing.T) string {
	t.Helper()
	got := s.event(t)
	require.Equal(t, sseview.ResetEventType, got.Type, "want a reset event first, got %v", got)
	assert.Empty(t, got.Data, "the reset event's data")
	assert.Regexp(t, plainID, got.ID, "the reset event's id")
	return got.ID
}

// waitLive publishes warm-up events on topic until every subscription has
// received one: from then on each gets every event published.
func waitLive(t *testing.T, b sseview.Broker, topic string, subs ...*subscription) {
	t.Helper()
	pending := make(map[*subscription]bool, len(subs))
	for _, s := range subs {
		pending[s] = true
	}
	deadline := time.Now().Add(Wait)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for len(pending) > 0 {
		require.True(t, time.Now().Before(deadline), "%d of %d subscriptions got no warm-up event within %v", len(pending), len(subs), Wait)
		_, err := b.Publish(t.Context(), topic, sseview.Text{Type: warmUpType})
		require.NoError(t, err)
		<-tick.C
		for s := range pending {
		drain:
			for {
				select {
				case r := <-s.events:
					require.NoError(t, r.err, "while waiting for a warm-up event")
					require.Equal(t, warmUpType, r.ev.Type, "an event other than a warm-up arrived first: %v", r.ev)
					delete(pending, s)
				default:
					break drain
				}
			}
		}
	}
}

func (s *suite) liveFanOut(t *testing.T) {
	b := s.newBroker(t, defaultLimits)
	topic := s.topic(t)
	subs := make([]*subscription, 20)
	for i := range subs {
		subs[i] = subscribe(t, b, topic, "")
	}
	waitLive(t, b, topic, subs...)
	want := publishN(t, b, topic, 50)
	for i, sub := range subs {
		sub.expect(t, want, fmt.Sprintf("subscriber %d", i))
	}
}

// idBefore is the order the suite requires of a topic's ids.
func idBefore(a, b string) bool {
	return len(a) < len(b) || len(a) == len(b) && a < b
}

func (s *suite) ids(t *testing.T) {
	b := s.newBroker(t, defaultLimits)
	topics := []string{s.topic(t), s.topic(t)}
	seen := make(map[string]bool)
	last := make(map[string]string)
	for i := range 60 {
		topic := topics[i%2]
		// The event's own id is replaced by the broker's.
		id, err := b.Publish(t.Context(), topic, sseview.Text{ID: "mine", Data: "x"})
		require.NoError(t, err)
		assert.Regexp(t, plainID, id, "event %d", i)
		assert.NotEqual(t, "mine", id, "the broker kept the event's own id")
		assert.False(t, seen[id], "id %q given twice", id)
		seen[id] = true
		if prev, ok := last[topic]; ok {
			assert.True(t, idBefore(prev, id), "id %q follows %q in topic %s: ids must increase", id, prev, topic)
		}
		last[topic] = id
	}
}

func (s *suite) fidelity(t *testing.T) {
	b := s.newBroker(t, defaultLimits)
	topic := s.topic(t)
	sub := subscribe(t, b, topic, "")
	waitLive(t, b, topic, sub)
	cases := []struct {
		name string
		ev   sseview.Event
		want sseview.Text
	}{
		{"text with lines", sseview.Text{Type: "note", ID: "ignored", Data: "line 1\nline 2\n"}, sseview.Text{Type: "note", Data: "line 1\nline 2\n"}},
		{"empty data, default type", sseview.Text{}, sseview.Text{}},
		{"unicode", sseview.Text{Type: "u", Data: "héllo ☃ \x00 end"}, sseview.Text{Type: "u", Data: "héllo ☃ \x00 end"}},
		{"retry", sseview.Text{Type: "r", Data: "x", Retry: 2 * time.Second}, sseview.Text{Type: "r", Data: "x", Retry: 2 * time.Second}},
		{"json", sseview.JSON{Type: "reading", Data: map[string]any{"t": 21.5}}, sseview.Text{Type: "reading", Data: `{"t":21.5}`}},
		{"encoded", mustEncode(t, sseview.Text{Type: "pre", ID: "old", Data: "encoded"}), sseview.Text{Type: "pre", Data: "encoded"}},
	}
	for _, c := range cases {
		id, err := b.Publish(t.Context(), topic, c.ev)
		require.NoError(t, err, c.name)
		got := sub.next(t)
		require.NoError(t, got.err, c.name)
		want := c.want
		want.ID = id
		assert.Equal(t, want, got.text, c.name)
	}
}

func mustEncode(t *testing.T, e sseview.Event) *sseview.Encoded {
	t.Helper()
	enc, err := sseview.Encode(e)
	require.NoError(t, err)
	return enc
}

func (s *suite) invalid(t *testing.T) {
	b := s.newBroker(t, defaultLimits)
	topic := s.topic(t)
	sub := subscribe(t, b, topic, "")
	waitLive(t, b, topic, sub)
	bad := []struct {
		name string
		ev   sseview.Event
	}{
		{"line break in type", sseview.Text{Type: "a\nb", Data: "x"}},
		// The broker replaces the id, but an event Encode refuses is refused.
		{"id a client could not send back", sseview.Text{ID: "1 ", Data: "x"}},
		{"invalid UTF-8 data", sseview.Text{Data: "\xff"}},
		{"JSON that cannot be encoded", sseview.JSON{Data: make(chan int)}},
		{"comment", sseview.Comment("hi")},
		{"nil", nil},
	}
	for _, c := range bad {
		_, err := b.Publish(t.Context(), topic, c.ev)
		assert.ErrorIs(t, err, sseview.ErrInvalidEvent, c.name)
	}
	after := publish(t, b, topic, "valid")
	sub.expect(t, []event{after}, "the first event after the refused ones")
}

func (s *suite) resumeEveryPoint(t *testing.T) {
	b := s.newBroker(t, defaultLimits)
	topic := s.topic(t)
	published := publishN(t, b, topic, 12)
	for i := range 12 {
		from := published[i]
		sub := subscribe(t, b, topic, from.ID)
		sub.expect(t, published[i+1:], fmt.Sprintf("resuming after event %d", i))
		live := publish(t, b, topic, "live after "+strconv.Itoa(i))
		published = append(published, live)
		sub.expect(t, []event{live}, fmt.Sprintf("resuming after event %d, then live", i))
		sub.stop(t)
	}
}

// resumeUnderLoad subscribes from the newest id while a publisher keeps
// publishing, so the history snapshot and going live race with it. A
// subscriber dropped as slow reconnects from the last id it got, as a
// client does.
func (s *suite) resumeUnderLoad(t *testing.T) {
	const total, starts = 300, 10
	b := s.newBroker(t, defaultLimits)
	topic := s.topic(t)
	ids := make(chan string, total)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range total {
			id, err := b.Publish(t.Context(), topic, sseview.Text{Type: "test", Data: strconv.Itoa(i)})
			if !assert.NoError(t, err) {
				return
			}
			ids <- id
		}
	})
	defer wg.Wait()

	var published []string
	type result struct {
		from int
		got  []event
		err  error
	}
	results := make(chan result, starts)
	for len(published) < total {
		select {
		case id := <-ids:
			published = append(published, id)
		case <-time.After(Wait):
			require.FailNow(t, "the publisher stalled")
		}
		if n := len(published); n%(total/starts) == 1 {
			from, fromID := n-1, published[n-1]
			go func() {
				got, err := follow(t.Context(), b, topic, fromID, strconv.Itoa(total-1))
				results <- result{from, got, err}
			}()
		}
	}
	for range starts {
		var r result
		select {
		case r = <-results:
		case <-time.After(Wait):
			require.FailNow(t, "a subscriber did not get to the last event")
		}
		require.NoError(t, r.err, "subscriber from event %d", r.from)
		want := make([]event, 0, total)
		for i := r.from + 1; i < total; i++ {
			want = append(want, event{ID: published[i], Type: "test", Data: strconv.Itoa(i)})
		}
		assert.Equal(t, want, r.got, "subscriber resuming after event %d", r.from)
	}
}

// follow subscribes from lastEventID and collects events until one has
// data last, reconnecting from its last id after ErrSlowSubscriber.
func follow(ctx context.Context, b sseview.Broker, topic, lastEventID, last string) ([]event, error) {
	ctx, cancel := context.WithTimeout(ctx, Wait)
	defer cancel()
	var got []event
	for {
		for ev, err := range b.Subscribe(ctx, topic, lastEventID) {
			if errors.Is(err, sseview.ErrSlowSubscriber) {
				break
			}
			if err != nil {
				return got, err
			}
			text, err := ev.MarshalEvent()
			if err != nil {
				return got, err
			}
			got = append(got, event{ID: text.ID, Type: text.Type, Data: text.Data})
			lastEventID = text.ID
			if text.Data == last {
				return got, nil
			}
		}
		if err := ctx.Err(); err != nil {
			return got, fmt.Errorf("brokertest: %d events before the deadline: %w", len(got), err)
		}
	}
}

func (s *suite) emptyID(t *testing.T) {
	b := s.newBroker(t, defaultLimits)
	topic := s.topic(t)
	publishN(t, b, topic, 3)
	sub := subscribe(t, b, topic, "")
	// waitLive fails if anything but a warm-up event comes first.
	waitLive(t, b, topic, sub)
	after := publish(t, b, topic, "after")
	sub.expect(t, []event{after}, "the first event after going live")
}

func (s *suite) evictedByCount(t *testing.T) {
	const keep, total = 5, 10
	b := s.newBroker(t, Limits{MaxEvents: keep})
	// Events 5..9 are kept; event 4 is the newest evicted.
	cases := []struct {
		name  string
		from  int
		reset bool // true: must reset; false: must replay
		maybe bool // either is right
	}{
		{"the oldest event", 0, true, false},
		{"an event well before the history", 3, true, false},
		{"the newest evicted event", 4, false, true},
		{"the oldest kept event", 5, false, false},
		{"the newest but one event", 8, false, false},
	}
	for _, c := range cases {
		t.Run("resuming after "+c.name, func(t *testing.T) {
			topic := s.topic(t)
			published := publishN(t, b, topic, total)
			sub := subscribe(t, b, topic, published[c.from].ID)
			first := sub.event(t)
			isReset := first.Type == sseview.ResetEventType
			if !c.maybe {
				require.Equal(t, c.reset, isReset, "first event %v", first)
			}
			if isReset {
				assert.Empty(t, first.Data, "the reset event's data")
				assert.Equal(t, published[total-1].ID, first.ID, "the reset event's id is the newest kept")
			} else {
				want := published[c.from+1:]
				require.Equal(t, want[0], first, "first event replayed")
				sub.expect(t, want[1:], "replayed events")
			}
			live := publish(t, b, topic, "live")
			sub.expect(t, []event{live}, "the first live event")
		})
	}
}

func (s *suite) evictedByAge(t *testing.T) {
	const maxAge = 500 * time.Millisecond
	b := s.newBroker(t, Limits{MaxEvents: 1000, MaxAge: maxAge})
	topic := s.topic(t)
	old := publish(t, b, topic, "old")
	deadline := time.Now().Add(maxAge + Wait)
	tick := time.NewTicker(maxAge / 10)
	defer tick.Stop()
	for {
		require.True(t, time.Now().Before(deadline), "an event was still kept %v after MaxAge %v", Wait, maxAge)
		<-tick.C
		// fresh is kept when old has aged out, so the reset has its id.
		fresh := publish(t, b, topic, "fresh")
		sub := subscribe(t, b, topic, old.ID)
		first := sub.event(t)
		if first.Type != sseview.ResetEventType {
			require.Equal(t, "test", first.Type, "the first event is neither a reset nor the replay: %v", first)
			sub.stop(t)
			continue
		}
		assert.Empty(t, first.Data, "the reset event's data")
		assert.Equal(t, fresh.ID, first.ID, "the reset event's id is the newest kept")
		live := publish(t, b, topic, "live")
		sub.expect(t, []event{live}, "the first live event")
		return
	}
}

func (s *suite) unknownID(t *testing.T) {
	b := s.newBroker(t, defaultLimits)
	withHistory := s.topic(t)
	published := publishN(t, b, withHistory, 3)
	newest := published[2]
	unknown := []struct{ name, id string }{
		{"garbage", "garbage"},
		{"negative", "-1"},
		{"too long for any integer", strings.Repeat("9", 40)},
		{"from the future", newest.ID + "999999"},
		{"a known id with a space before it", " " + newest.ID},
		{"non-ASCII", "é"},
	}
	for _, c := range unknown {
		t.Run(c.name, func(t *testing.T) {
			sub := subscribe(t, b, withHistory, c.id)
			id := sub.expectReset(t)
			assert.Equal(t, newest.ID, id, "the reset event's id is the newest kept")
			live := publish(t, b, withHistory, "live")
			newest = live
			sub.expect(t, []event{live}, "the first live event")
		})
	}
	t.Run("on a topic with no history", func(t *testing.T) {
		topic := s.topic(t)
		sub := subscribe(t, b, topic, "garbage")
		id := sub.expectReset(t)
		live := publish(t, b, topic, "live")
		sub.expect(t, []event{live}, "the first live event")
		// The reset's id is a place to resume from.
		again := subscribe(t, b, topic, id)
		again.expect(t, []event{live}, "resuming from the reset's id")
	})
}

func (s *suite) isolation(t *testing.T) {
	const topics, each = 12, 5
	b := s.newBroker(t, defaultLimits)
	names := make([]string, topics)
	subs := make([]*subscription, topics)
	for i := range names {
		names[i] = s.topic(t)
		// Resuming from an anchor makes the subscription see every later
		// event without waiting for it to go live.
		anchor := publish(t, b, names[i], "anchor")
		subs[i] = subscribe(t, b, names[i], anchor.ID)
	}
	want := make([][]event, topics)
	for j := range each {
		for i, name := range names {
			want[i] = append(want[i], publish(t, b, name, fmt.Sprintf("topic %d event %d", i, j)))
		}
	}
	for i, name := range names {
		want[i] = append(want[i], publish(t, b, name, "end"))
	}
	for i, sub := range subs {
		sub.expect(t, want[i], "topic "+strconv.Itoa(i))
	}
}

func (s *suite) leaving(t *testing.T) {
	b := s.newBroker(t, defaultLimits)
	t.Run("when its context is cancelled while it waits", func(t *testing.T) {
		topic := s.topic(t)
		sub := subscribe(t, b, topic, "")
		waitLive(t, b, topic, sub)
		sub.stop(t)
	})
	t.Run("when its context is cancelled during a replay", func(t *testing.T) {
		topic := s.topic(t)
		published := publishN(t, b, topic, 300)
		sub := subscribe(t, b, topic, published[0].ID)
		sub.expect(t, published[1:2], "the first replayed event")
		sub.stop(t)
	})
	t.Run("when its context is already cancelled", func(t *testing.T) {
		topic := s.topic(t)
		published := publishN(t, b, topic, 3)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ev, err := range b.Subscribe(ctx, topic, published[0].ID) {
				if err != nil {
					assert.ErrorIs(t, err, context.Canceled)
					continue
				}
				t.Errorf("an event after the context was cancelled: %v", ev)
			}
		}()
		select {
		case <-done:
		case <-time.After(Wait):
			t.Errorf("the iterator did not return within %v", Wait)
		}
	})
	t.Run("when the caller stops iterating", func(t *testing.T) {
		topic := s.topic(t)
		published := publishN(t, b, topic, 3)
		ctx, cancel := context.WithTimeout(t.Context(), Wait)
		defer cancel()
		n := 0
		for _, err := range b.Subscribe(ctx, topic, published[0].ID) {
			require.NoError(t, err)
			n++
			break
		}
		assert.Equal(t, 1, n)
		// A broker that still yielded to the stopped loop would panic here
		// or on its own goroutine.
		publishN(t, b, topic, 3)
		sub := subscribe(t, b, topic, published[2].ID)
		sub.event(t)
	})
}
