package brokertest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sseview/sseview/sseview"
)

const warmUpType = "brokertest-warm-up"

// plainID is the form of id that spares cross-origin clients a CORS
// preflight when they send it back as Last-Event-ID; it is well inside
// what an event id may be.
var plainID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// event is what a test published or received, reduced to what it checks.
type event struct {
	ID, Type, Data string
}

func (e event) String() string { return fmt.Sprintf("{id %q type %q data %q}", e.ID, e.Type, e.Data) }

func publish(t *testing.T, b sseview.Broker, topic, data string) event {
	t.Helper()
	return publishEvent(t, b, topic, sseview.Text{Type: "test", Data: data}, event{Type: "test", Data: data})
}

// publishEvent publishes e, which subscribers must receive as want with
// the id given.
func publishEvent(t *testing.T, b sseview.Broker, topic string, e sseview.Event, want event) event {
	t.Helper()
	id, err := b.Publish(t.Context(), topic, e)
	if err != nil {
		t.Fatalf("Publish(%q, %v): %v", topic, want, err)
	}
	checkID(t, id, "the id Publish returned")
	want.ID = id
	return want
}

func publishN(t *testing.T, b sseview.Broker, topic string, n int) []event {
	t.Helper()
	evs := make([]event, n)
	for i := range evs {
		evs[i] = publish(t, b, topic, "event "+strconv.Itoa(i))
	}
	return evs
}

func checkID(t *testing.T, id, what string) {
	t.Helper()
	if !plainID.MatchString(id) {
		t.Fatalf("%s %q is not a plain id (%s)", what, id, plainID)
	}
}

// received is one element yielded by a subscription.
type received struct {
	ev   event
	text sseview.Text
	err  error
}

func receive(ev sseview.Event, err error) received {
	r := received{err: err}
	switch {
	case err != nil && ev != nil:
		r.err = fmt.Errorf("brokertest: the broker yielded an event with the error %w", err)
	case err == nil && ev == nil:
		r.err = errors.New("brokertest: the broker yielded a nil event")
	case err == nil:
		r.text, r.err = ev.MarshalEvent()
		r.ev = event{ID: r.text.ID, Type: r.text.Type, Data: r.text.Data}
		if r.err == nil && !plainID.MatchString(r.text.ID) {
			r.err = fmt.Errorf("brokertest: the broker yielded %v, whose id is not plain (%s)", r.ev, plainID)
		}
	}
	return r
}

// subscription runs one Subscribe iterator on its own goroutine, which
// takes every element at once.
type subscription struct {
	events   chan received
	cancel   context.CancelFunc
	done     chan struct{}
	overflow atomic.Bool // events was full: the broker yielded far too many
}

func subscribe(t *testing.T, b sseview.Broker, topic, lastEventID string) *subscription {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	s := &subscription{events: make(chan received, 2048), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for ev, err := range b.Subscribe(ctx, topic, lastEventID) {
			select {
			case s.events <- receive(ev, err):
			default:
				// A test reads at most about a thousand events of one
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
				if s.overflow.Load() {
					t.Fatalf("the subscription yielded more than %d unread events", cap(s.events))
				}
				t.Fatalf("the subscription ended without yielding another element")
			}
		case <-timeout.C:
			t.Fatalf("no event within %v", Wait)
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
	if r.err != nil {
		t.Fatalf("the subscription yielded an error where an event was due: %v", r.err)
	}
	return r.ev
}

// expect checks that the next events are want, exactly and in order.
func (s *subscription) expect(t *testing.T, want []event, msg string) {
	t.Helper()
	for i, w := range want {
		if got := s.event(t); got != w {
			t.Fatalf("%s: event %d of %d is %v, want %v", msg, i+1, len(want), got, w)
		}
	}
}

// expectReset checks that the next event is a reset and returns its id.
func (s *subscription) expectReset(t *testing.T) string {
	t.Helper()
	got := s.event(t)
	if got.Type != sseview.ResetEventType {
		t.Fatalf("want a reset event first, got %v", got)
	}
	if got.Data != "" {
		t.Errorf("the reset event's data is %q, want none", got.Data)
	}
	return got.ID
}

// waitLive publishes warm-up events on topic until every subscription has
// received one: from then on each gets every event published. It returns
// the ids of the warm-up events, in the order published.
func waitLive(t *testing.T, b sseview.Broker, topic string, subs ...*subscription) []string {
	t.Helper()
	return warmUp(t, b, topic, len(subs), func(i int) (received, bool) {
		select {
		case r := <-subs[i].events:
			return r, true
		default:
			return received{}, false
		}
	})
}

// warmUp publishes warm-up events until poll has given one for each of n
// subscriptions; poll(i) returns what subscription i yielded, if anything.
func warmUp(t *testing.T, b sseview.Broker, topic string, n int, poll func(i int) (received, bool)) []string {
	t.Helper()
	pending := make(map[int]bool, n)
	for i := range n {
		pending[i] = true
	}
	var ids []string
	deadline := time.Now().Add(Wait)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for len(pending) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d subscriptions got no warm-up event within %v", len(pending), n, Wait)
		}
		id, err := b.Publish(t.Context(), topic, sseview.Text{Type: warmUpType})
		if err != nil {
			t.Fatalf("publishing a warm-up event: %v", err)
		}
		ids = append(ids, id)
		<-tick.C
		for i := range pending {
			r, ok := poll(i)
			if !ok {
				continue
			}
			if r.err != nil {
				t.Fatalf("while waiting for a warm-up event: %v", r.err)
			}
			if r.ev.Type != warmUpType {
				t.Fatalf("an event other than a warm-up arrived first: %v", r.ev)
			}
			delete(pending, i)
		}
	}
	return ids
}

// pulled is a subscription that takes one element at a time, when the
// test asks for it, like a client that stops reading: between two calls
// of next its iterator is held inside yield, with the element it yielded
// last.
type pulled struct {
	out     chan received
	more    chan struct{}
	done    chan struct{}
	cancel  context.CancelFunc
	holding bool // the iterator waits inside yield for more
}

func pull(t *testing.T, b sseview.Broker, topic, lastEventID string) *pulled {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	p := &pulled{out: make(chan received), more: make(chan struct{}), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(p.done)
		for ev, err := range b.Subscribe(ctx, topic, lastEventID) {
			select {
			case p.out <- receive(ev, err):
			case <-ctx.Done():
				return
			}
			select {
			case <-p.more:
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(Wait):
			t.Errorf("the iterator did not return within %v of its context being cancelled", Wait)
		}
	})
	return p
}

// next lets the iterator go on from the element it holds and returns the
// next one; false means the iterator returned.
func (p *pulled) next(t *testing.T) (received, bool) {
	t.Helper()
	timeout := time.NewTimer(Wait)
	defer timeout.Stop()
	if p.holding {
		select {
		case p.more <- struct{}{}:
		case <-p.done:
			t.Fatalf("the iterator returned while it was yielding")
		}
		p.holding = false
	}
	select {
	case r := <-p.out:
		p.holding = true
		return r, true
	case <-p.done:
		return received{}, false
	case <-timeout.C:
		t.Fatalf("no element within %v", Wait)
		return received{}, false
	}
}

// poll returns the element the iterator yields, if it has one ready, for
// warmUp; the iterator then holds it.
func (p *pulled) poll() (received, bool) {
	select {
	case r := <-p.out:
		p.holding = true
		return r, true
	default:
		return received{}, false
	}
}

// collect runs one Subscribe iterator to its end, within Wait, and
// returns every element it yielded.
func collect(t *testing.T, b sseview.Broker, topic, lastEventID string) []received {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), Wait)
	defer cancel()
	var got []received
	for ev, err := range b.Subscribe(ctx, topic, lastEventID) {
		got = append(got, receive(ev, err))
		if len(got) > 10 {
			break
		}
	}
	if ctx.Err() != nil {
		t.Fatalf("Subscribe(%q) was still going after %v, having yielded %d elements", topic, Wait, len(got))
	}
	return got
}
