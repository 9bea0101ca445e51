package sseview

import (
	"context"
	"errors"
	"net/http"
	"os"
	"time"
)

// Observer hears the streams of a [Handler], for metrics: set it as
// [Handler.Observer]. Package github.com/sseview/sseview/sseviewotel has one
// on OpenTelemetry. A nil Observer costs a stream nothing.
type Observer interface {
	// StreamStarted is called once per stream, on the request's goroutine,
	// once its response headers are sent (a refused request, a HEAD and a
	// stream whose headers cannot be sent are not observed). The
	// [StreamObserver] it returns hears the rest of that stream, and its
	// StreamEnded is called whatever happens next, a panic in the view
	// included; nil hears nothing more. It must not block: the stream
	// waits for it.
	StreamStarted(r *http.Request) StreamObserver
}

// StreamObserver hears one stream, from [Observer.StreamStarted] to its
// StreamEnded. Its methods must return quickly and must not block: each is
// called while the stream waits for it, and KeepAliveWritten while the
// stream's lock is held.
type StreamObserver interface {
	// EventWritten is called on the request's goroutine after each event
	// the view yielded (a [Comment] included), and the error event (see
	// [Handler.ErrorEvent]), has been handed to the connection, with its
	// size on the wire: written and flushed, or, for an event of a broker's
	// batch, held to go out with the rest of the batch in one write.
	EventWritten(bytes int)

	// KeepAliveWritten is called after each keep-alive comment has been
	// written and flushed, with its size. It runs on the keep-alive timer's
	// goroutine, and may run at the same time as EventWritten.
	KeepAliveWritten(bytes int)

	// StreamEnded is called once, on the request's goroutine, after the
	// stream's last write and after every other call for the stream has
	// returned, with why it ended.
	StreamEnded(reason CloseReason)
}

// BrokerObserver hears a broker's traffic, for metrics: set it as a
// broker's Observer ([MemoryBroker.Observer], and the Config.Observer of
// the natsbroker and redisbroker packages). ctx is that of the Publish or
// Subscribe call, and topic the one the call concerns. Its methods may be
// called from many goroutines at once, and must return quickly and not
// block: the broker waits for them, a publisher or a subscriber, and may
// hold a topic's lock meanwhile.
type BrokerObserver interface {
	// Published is called on the publisher's goroutine for each Publish
	// that succeeds, once its event is stored: the MemoryBroker calls it
	// before any subscriber can get the event, the brokers whose store
	// acknowledges a publish once it did, which may be after. duplicate is
	// true for a [Keyed] event whose key the broker already held, so that
	// nothing new was stored.
	Published(ctx context.Context, topic string, duplicate bool)

	// Delivered is called on the subscriber's goroutine after each live
	// event was handed to a subscriber and its yield returned true: for a
	// [Handler]'s stream, once the event is written and flushed, or held
	// for the batch's one write (see [StreamObserver.EventWritten]). published
	// is when the event was published, by the clock of the broker's store
	// (this process's for a [MemoryBroker]; the NATS or Redis server's
	// otherwise, in milliseconds for Redis), so that the observer can
	// measure how long live events take from their publisher to each
	// client. Events a subscription replays while catching up are not
	// delivered live, and are not reported here.
	Delivered(ctx context.Context, topic string, published time.Time)

	// Reset is called on the subscriber's goroutine when a subscription
	// starts with the reset event (see [ResetEventType]).
	Reset(ctx context.Context, topic string)

	// CaughtUp is called on the subscriber's goroutine when a subscription
	// that resumed from a Last-Event-ID, without a reset, has replayed
	// what it missed (events, possibly none) and goes live.
	CaughtUp(ctx context.Context, topic string, events int)

	// Dropped is called on the subscriber's goroutine when a subscription
	// ends with [ErrSlowSubscriber], while catching up or live.
	Dropped(ctx context.Context, topic string)
}

// CloseReason says why a stream ended. Its String is the value metrics
// record ("client_left", ...).
type CloseReason uint8

// The reasons a stream ends, as [StreamObserver.StreamEnded] gets them. A
// stream ends for the first of them to happen: a view error whose error
// event then fails to reach a client that left is a view error.
const (
	// CloseCompleted: the view's iterator ended by itself.
	CloseCompleted CloseReason = iota
	// CloseClientLeft: the client went away, or a write to it failed other
	// than by timing out.
	CloseClientLeft
	// CloseWriteTimeout: a write did not finish within
	// [Handler.WriteTimeout]: the client stopped reading.
	CloseWriteTimeout
	// CloseSlowSubscriber: the view yielded an error wrapping
	// [ErrSlowSubscriber]: its broker dropped it.
	CloseSlowSubscriber
	// CloseInvalidEvent: an event could not be written as it was (an error
	// wrapping [ErrInvalidEvent]), whether the encoder found it or the view
	// yielded it.
	CloseInvalidEvent
	// CloseViewError: the view yielded any other error, or panicked.
	CloseViewError
	// CloseShutdown: the server shut down through [EndStreamsOnShutdown]
	// (cause [ErrShutdown]), including a stream whose last write was then
	// cut short.
	CloseShutdown
	// CloseMaxLifetime: the stream reached [Handler.MaxLifetime] (cause
	// [ErrMaxLifetime]).
	CloseMaxLifetime
)

var closeReasons = [...]string{
	CloseCompleted:      "completed",
	CloseClientLeft:     "client_left",
	CloseWriteTimeout:   "write_timeout",
	CloseSlowSubscriber: "slow_subscriber",
	CloseInvalidEvent:   "invalid_event",
	CloseViewError:      "view_error",
	CloseShutdown:       "shutdown",
	CloseMaxLifetime:    "max_lifetime",
}

// String returns the reason as a metric attribute value, such as "client_left".
func (c CloseReason) String() string {
	if int(c) < len(closeReasons) {
		return closeReasons[c]
	}
	return "unknown"
}

// observe starts the stream's observation, if the Handler has an Observer.
// Until the stream is classified (see classify), its reason is the one a
// view that panics leaves.
func (s *stream) observe(o Observer, r *http.Request) {
	if o != nil {
		s.obs = o.StreamStarted(r)
		s.reason = CloseViewError
	}
}

// classify records why the stream ends, for its observer, from what the
// Handler knows once the view is done: the context's cause, the write error
// that broke the stream and the failure the view yielded or the encoder
// found. It is called before the stream's last words, so that a failure to
// write them does not hide what ended it.
func (s *stream) classify(ctx context.Context, failure error) {
	if s.obs == nil {
		return
	}
	// pump takes no failure once ctx is done, so a failure came first; a
	// cause of the Handler's own came before any write failed, since a
	// failed write cancels the request's context.
	cause := context.Cause(ctx)
	broken := s.broken()
	switch {
	case errors.Is(failure, ErrSlowSubscriber):
		s.reason = CloseSlowSubscriber
	case errors.Is(failure, ErrInvalidEvent):
		s.reason = CloseInvalidEvent
	case failure != nil:
		s.reason = CloseViewError
	case errors.Is(cause, ErrShutdown):
		s.reason = CloseShutdown
	case errors.Is(cause, ErrMaxLifetime):
		s.reason = CloseMaxLifetime
	case errors.Is(broken, os.ErrDeadlineExceeded):
		s.reason = CloseWriteTimeout
	case broken != nil, cause != nil:
		s.reason = CloseClientLeft
	default:
		s.reason = CloseCompleted
	}
}

// ended tells the observer the stream is over. It is called by close once
// nothing more can be written.
func (s *stream) ended() {
	if s.obs != nil {
		s.obs.StreamEnded(s.reason)
	}
}

// The MemoryBroker's calls to its Observer.

func (b *MemoryBroker) observePublished(ctx context.Context, topic string, duplicate bool) {
	if b.Observer != nil {
		b.Observer.Published(ctx, topic, duplicate)
	}
}

func (b *MemoryBroker) observeDelivered(ctx context.Context, topic string, e *Encoded) {
	if b.Observer != nil {
		b.Observer.Delivered(ctx, topic, time.Unix(0, e.published))
	}
}

func (b *MemoryBroker) observeReset(ctx context.Context, topic string) {
	if b.Observer != nil {
		b.Observer.Reset(ctx, topic)
	}
}

// observeCaughtUp reports a subscription that resumed from lastEventID and
// replayed events, or nothing for one that started live or with a reset
// (events -1).
func (b *MemoryBroker) observeCaughtUp(ctx context.Context, topic, lastEventID string, events int) {
	if b.Observer != nil && lastEventID != "" && events >= 0 {
		b.Observer.CaughtUp(ctx, topic, events)
	}
}

func (b *MemoryBroker) observeDropped(ctx context.Context, topic string) {
	if b.Observer != nil {
		b.Observer.Dropped(ctx, topic)
	}
}
