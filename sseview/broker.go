package sseview

import (
	"context"
	"errors"
	"iter"
)

// Broker publishes events to topics and streams them to subscribers, with
// resume from a Last-Event-ID. A [StreamView] can return a subscription as
// it is:
//
//	func (v Room) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
//		return v.Broker.Subscribe(ctx, "room."+p.Get("room"), sseview.LastEventID(r))
//	}
//
// Implementations are safe for concurrent use by many goroutines.
type Broker interface {
	// Publish gives e the next id of the topic and delivers it to the
	// topic's subscribers. Any id e has is replaced. It returns the id given.
	// It does not wait for subscribers to receive the event. An event that
	// cannot be encoded fails with an error wrapping [ErrInvalidEvent].
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
var ErrSlowSubscriber = errors.New("sseview: subscriber fell behind")

// Keyed is an event published with its identity. Key names the logical
// event, so that publishing it again, from a second instance that computed
// the same reading or as a retry after an ambiguous error, stores and
// delivers it once: a [Broker] that already holds Key for the topic, within
// its duplicate window, publishes nothing and returns the id it gave the
// first time. That makes retrying a Publish whose outcome is unknown safe.
// Subscribers never see Key; they get the event Keyed carries.
type Keyed struct {
	Key   string
	Event Event
}

// MarshalEvent returns the fields of the event k carries.
func (k Keyed) MarshalEvent() (Text, error) { return textOf(k.Event) }
