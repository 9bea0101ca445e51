package sseview

import (
	"context"
	"fmt"
	"iter"

	"github.com/sseview/sseview/internal/fanout"
	"github.com/sseview/sseview/internal/names"
)

// Broker publishes events to topics and streams them to subscribers, with
// resume from a Last-Event-ID. A [StreamView] can return a subscription as
// it is:
//
//	func (v Room) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
//		return v.Broker.Subscribe(ctx, "room."+p.Get("room"), sseview.LastEventID(r))
//	}
//
// Implementations are safe for concurrent use by many goroutines, and
// every one of them follows the rules below, so that one can replace
// another without a view noticing; package brokertest checks them.
//
// Topics: a topic is one or more tokens separated by single dots, each of
// one or more ASCII letters, digits, '_' or '-', in at most 255 bytes:
// "room.42", "weather.40_71.-74_01". That maps one to one onto NATS
// subjects and Redis keys. Any other topic ("", "a..b", "room.a b",
// "room.*", non-ASCII) is refused, never rewritten: Publish fails with an
// error wrapping [ErrInvalidTopic] and publishes nothing, and Subscribe
// yields that error alone.
//
// Keys: a [Keyed] event's key is 1 to 128 bytes of printable ASCII without
// spaces ('!' to '~'). Keys are per topic. Any other key, and a Keyed that
// carries no valid event (or another Keyed), is refused with an error
// wrapping [ErrInvalidEvent], and nothing is published.
//
// Ids: plain [A-Za-z0-9._:-], at most 128 bytes, increasing within a topic
// in the order of (length, then bytes), so that they come back unchanged
// as a Last-Event-ID and need no CORS preflight.
//
// Errors quote at most a bounded part of a topic, id or key.
//
// A broker's settings, when it has them, mean the same in every broker:
//   - MaxEvents is how many events each topic keeps for resume. Zero means
//     1000; negative means no limit.
//   - MaxAge is how long an event is kept for resume. Zero means one hour;
//     negative means no age limit.
//   - QueueLen is how many events a live subscriber may have waiting: those
//     published after the one it is yielding, or, while it waits, after the
//     last it yielded. Zero means 256; negative means no limit. When an event
//     arrives for a subscriber that has QueueLen waiting, the subscriber is
//     dropped: its subscription yields the QueueLen events it had waiting,
//     then [ErrSlowSubscriber] alone, and ends; its client reconnects with
//     its Last-Event-ID and catches up from the history. Publishing never
//     waits for a subscriber, and the others are not affected.
type Broker interface {
	// Publish gives e the next id of the topic and delivers it to the
	// topic's subscribers. Any id e has is replaced. It returns the id given.
	// It does not wait for subscribers to receive the event. An event that
	// cannot be encoded fails with an error wrapping [ErrInvalidEvent]; a
	// topic outside the syntax above, with one wrapping [ErrInvalidTopic].
	//
	// A [Keyed] event whose key the topic already holds, within the
	// broker's duplicate window, is not published again: Publish returns
	// the id the key was given.
	Publish(ctx context.Context, topic string, e Event) (id string, err error)

	// Subscribe returns the topic's events published after the event with id
	// lastEventID, exactly once and in order, then its live events, until
	// ctx is done or the caller stops iterating. With lastEventID "" it
	// starts with the next event published.
	//
	// When the events after lastEventID are no longer all kept, or it is not
	// an id of this broker's, the first event is a reset: type
	// [ResetEventType], empty data, and an id to resume from (the newest
	// event kept, or when none is, a position that will not reset again),
	// so a client reloads its state; live events follow. Events are never
	// skipped silently.
	//
	// An error is yielded alone, as the last element; [ErrSlowSubscriber]
	// is the error of a subscriber that fell too far behind. The iterator
	// is single-use.
	Subscribe(ctx context.Context, topic string, lastEventID string) iter.Seq2[Event, error]
}

// ResetEventType is the type of the event a [Broker] subscription starts
// with when the events after the client's Last-Event-ID are no longer kept.
const ResetEventType = "sseview-reset"

// ErrSlowSubscriber ends a subscription whose queue overflowed because its
// client read more slowly than events were published. Its client reconnects
// with its Last-Event-ID and catches up from the history.
var ErrSlowSubscriber = fanout.ErrOverflow

// ErrInvalidTopic is wrapped by the error of a topic outside the [Broker]
// contract's syntax.
var ErrInvalidTopic = names.ErrInvalidTopic

// Keyed is an event published with its identity. Key names the logical
// event, so that publishing it again, from a second instance that computed
// the same reading or as a retry after an ambiguous error, stores and
// delivers it once: a [Broker] that already holds Key for the topic, within
// its duplicate window, publishes nothing and returns the id it gave the
// first time, whatever Event the repeat carries. That makes retrying a
// Publish whose outcome is unknown (a timeout, a lost connection) safe,
// within the window: derive the key from what the event is, such as a
// sensor and the time of its reading, not from when it is sent.
//
// Key is 1 to 128 bytes of printable ASCII without spaces, unique within
// its topic. Subscribers never see it; they get the event Keyed carries,
// with the broker's id. Written to a stream directly, a Keyed is its Event.
type Keyed struct {
	Key   string
	Event Event
}

// MarshalEvent returns the fields of the event k carries.
func (k Keyed) MarshalEvent() (Text, error) { return textOf(k.Event) }

// KeyOf splits an event given to [Broker.Publish] into its identity and
// the event to store: for a [Keyed] or *Keyed, its Key and Event; for any
// other event, "" and e itself. It fails, wrapping [ErrInvalidEvent], on a
// nil *Keyed, a Keyed that carries another, or a key that breaks the rule
// in the Broker doc. A Broker of your own calls it first in Publish, as
// the three here do, so that it treats keys exactly as they do.
func KeyOf(e Event) (key string, event Event, err error) {
	var k Keyed
	switch e := e.(type) {
	case Keyed:
		k = e
	case *Keyed:
		if e == nil {
			return "", nil, fmt.Errorf("%w: nil *Keyed", ErrInvalidEvent)
		}
		k = *e
	default:
		return "", e, nil
	}
	if err := names.CheckKey(k.Key); err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	switch k.Event.(type) {
	case Keyed, *Keyed:
		return "", nil, fmt.Errorf("%w: a Keyed event carries another", ErrInvalidEvent)
	}
	return k.Key, k.Event, nil
}
