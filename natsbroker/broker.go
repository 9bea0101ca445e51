// Package natsbroker is an [sseview.Broker] on NATS JetStream, for running
// several server instances that share their topics: an event published
// through one instance reaches the subscribers of every instance, and a
// client that reconnects to another instance with its Last-Event-ID resumes
// with nothing lost and nothing repeated.
//
// Topics are subjects of one stream ("<SubjectPrefix>.<topic>"); an event's
// id is its stream sequence, in decimal. Each instance keeps one live
// JetStream consumer per topic that has local subscribers and fans its
// messages out to them, so a thousand subscribers to one topic cost one
// consumer, not a thousand. A subscriber that resumes from a Last-Event-ID
// first reads the events it missed with an ordered consumer of its own, then
// switches to the shared live feed at the exact sequence where its catch-up
// ended.
//
// An event travels as a message whose payload is the event's data, with
// its type in the Sseview-Type header (quoted with strconv.Quote when
// header parsing would change it) and its retry in Sseview-Retry
// (milliseconds). A [sseview.Keyed] event's key travels in the Nats-Msg-Id
// header as "<topic>/<key>", so that JetStream's duplicate window stores
// it once however often it is published. Any message published on a
// topic's subject is an event of the topic, so `nats pub sseview.room.42
// hello` sends a "message" event to room.42; a message that is not a valid
// event (its data not UTF-8, say) is logged and skipped.
//
// It lives in its own module so that users of the in-memory broker never
// download NATS.
//
// The package's files, one job each: broker.go (configuration and life),
// publish.go, message.go (how an event travels), subscribe.go, resume.go
// (the id scheme: where a subscription starts), catchup.go (reading what a
// subscriber missed) and hub.go (the live feed of a topic, fanned out by
// the core module's internal/fanout).
//
// # When NATS is down
//
// The nats.go client reconnects by itself (see nats.MaxReconnects and
// nats.ReconnectWait on the connection you pass). While it is disconnected,
// Publish fails at once with [ErrNotConnected], and subscribers receive
// nothing, but they stay connected. While the server is connected but does
// not answer (paused, overloaded), Publish fails after
// Config.PublishTimeout. After the reconnection each topic's live consumer
// is recreated from the sequence after the last one it delivered, so
// subscribers get every event published since, in order, without a
// duplicate. With the default file storage the stream, and so the history,
// survives a restart of the NATS server. When the connection is closed for
// good, every subscription ends with an error wrapping [ErrConnClosed]; its
// client reconnects (to an instance that still has NATS) and resumes from
// its Last-Event-ID.
//
// A failed Publish may still have stored its event: the acknowledgement
// may have been lost, or nats.go may send the message after reconnecting.
// Publish a [sseview.Keyed] event and retry it with the same key, within
// Config.DuplicateWindow: it is stored once.
package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sseview/sseview/internal/fanout"
	"github.com/sseview/sseview/internal/names"
	"github.com/sseview/sseview/internal/quote"
	"github.com/sseview/sseview/sseview"
)

// Config configures a [Broker]. Its zero value gives the documented
// defaults. Every instance sharing a stream should use the same Stream,
// SubjectPrefix, history limits and DuplicateWindow: the last one started
// wins the stream's configuration.
type Config struct {
	// Stream is the name of the JetStream stream holding the events. It is
	// created, or updated to this configuration, by [New]. Empty means
	// "SSEVIEW".
	Stream string

	// SubjectPrefix is put before each topic to make its subject:
	// topic "room.42" is subject "sseview.room.42", and the stream captures
	// "sseview.>". It follows the topic syntax of [sseview.Broker]. Empty
	// means "sseview".
	SubjectPrefix string

	// MaxEvents is how many events are kept per topic for resume (the
	// stream's MaxMsgsPerSubject). Zero means 1000; negative means no limit.
	MaxEvents int

	// MaxAge is how long an event is kept for resume. Zero means 1 hour;
	// negative means no age limit.
	MaxAge time.Duration

	// QueueLen is how many events a subscriber may have waiting before it
	// is dropped with [sseview.ErrSlowSubscriber], as the [sseview.Broker]
	// contract says; its client then resumes from its Last-Event-ID. Zero
	// means 256; negative means no limit.
	QueueLen int

	// PublishTimeout bounds how long Publish waits for JetStream's
	// acknowledgement, when ctx has no earlier deadline. Zero means 2
	// seconds; negative is refused by [New].
	PublishTimeout time.Duration

	// DuplicateWindow is how long the stream remembers the key of a
	// [sseview.Keyed] event (JetStream's duplicate window): publishing the
	// key on its topic again within it stores nothing and returns the first
	// id, even once that event has left the history. Zero means 2 minutes,
	// or MaxAge when that is shorter; otherwise it must be at least 100ms
	// and at most MaxAge. Negative is refused by [New].
	DuplicateWindow time.Duration

	// MaxConsumers caps the stream's consumers. The broker uses one per
	// topic with subscribers on each instance, and one per catch-up in
	// progress. Zero means 10,000, because the NATS server's own default
	// (1,000 per stream) is soon reached by many topics times several
	// instances; negative leaves the server's default.
	MaxConsumers int

	// CatchUps is how many subscriptions of this instance may read the
	// events they missed from the stream at once; the others wait their
	// turn, so that a crowd reconnecting after a restart does not create a
	// crowd of consumers. Zero means 32.
	CatchUps int

	// MemoryStorage keeps the stream in the NATS server's memory instead of
	// on disk. It is for tests and benchmarks: a restart of a single NATS
	// server loses the stream itself, with its history and its sequence, and
	// the broker does not recover from that (Publish fails until [New] runs
	// again; subscribers stay silent).
	MemoryStorage bool

	// Replicas is the stream's replication factor in a NATS cluster. Zero
	// means 1.
	Replicas int

	// Logger receives messages on the stream that are not events and the
	// live consumers' connection troubles. Nil means slog.Default().
	Logger *slog.Logger

	// Observer, when set, hears the broker's publishes, live deliveries,
	// resets, catch-ups and drops (see [sseview.BrokerObserver]), for
	// metrics. A delivery's publish time is the one the NATS server
	// stored the message at, by its clock. Nil observes nothing.
	Observer sseview.BrokerObserver
}

const (
	defaultStream         = "SSEVIEW"
	defaultPrefix         = "sseview"
	defaultMaxEvents      = 1000
	defaultMaxAge         = time.Hour
	defaultPublishTimeout = 2 * time.Second
	defaultMaxCons        = 10_000
	defaultCatchUps       = 32
)

var (
	// ErrClosed ends the subscriptions of a [Broker] that was closed, and
	// is returned by its Publish.
	ErrClosed = errors.New("natsbroker: broker closed")

	// ErrNotConnected is wrapped by the error of a Publish while the NATS
	// connection is down (reconnecting), and ends a subscription that needs
	// NATS to start: the first on a topic on this instance, or one resuming
	// from a Last-Event-ID.
	ErrNotConnected = errors.New("natsbroker: not connected to NATS")

	// ErrConnClosed ends the subscriptions of a broker whose NATS
	// connection was closed for good.
	ErrConnClosed = errors.New("natsbroker: NATS connection closed")
)

// Broker is an [sseview.Broker] on a NATS JetStream stream. Create it with
// [New]; it is safe for concurrent use.
type Broker struct {
	nc             *nats.Conn
	js             jetstream.JetStream
	stream         jetstream.Stream
	name           string
	prefix         string
	queue          int           // the fan-out's limit, -1 for none
	maxEvents      int64         // 0 or less: no limit
	publishTimeout time.Duration // positive
	catchUps       chan struct{} // a token per catch-up in progress
	logger         *slog.Logger
	observer       sseview.BrokerObserver // nil: none

	// life is cancelled by Close: it ends the catch-ups and live feeds
	// being started.
	life      context.Context
	endLife   context.CancelFunc
	closeOnce sync.Once
	closing   chan struct{} // closed by Close
	// starting and reading count the live feeds being started and the
	// catch-up reads in progress, for Close to wait for; Add is called
	// under mu while not closed.
	starting, reading sync.WaitGroup

	// Lock order: mu, then a hub's mu, then a subscriber's queue's
	// (internal/fanout). No lock is held while waiting for NATS.
	mu     sync.Mutex
	hubs   map[string]*hub // by subject; a hub exists while it has users
	closed bool
}

var _ sseview.Broker = (*Broker)(nil)

// New creates or updates the stream described by cfg on the JetStream of
// nc and returns a broker using it. The broker does not own nc: close the
// broker before closing the connection.
func New(ctx context.Context, nc *nats.Conn, cfg Config) (*Broker, error) {
	if nc == nil {
		return nil, errors.New("natsbroker: nil NATS connection")
	}
	name := orDefault(cfg.Stream, defaultStream)
	prefix := orDefault(cfg.SubjectPrefix, defaultPrefix)
	if names.CheckTopic(prefix) != nil {
		return nil, fmt.Errorf("natsbroker: Config.SubjectPrefix %s is not dot-separated tokens of letters, digits, '_' and '-'", quote.Bounded(prefix))
	}
	if cfg.PublishTimeout < 0 {
		return nil, fmt.Errorf("natsbroker: Config.PublishTimeout %v is negative", cfg.PublishTimeout)
	}
	if cfg.DuplicateWindow < 0 {
		return nil, fmt.Errorf("natsbroker: Config.DuplicateWindow %v is negative", cfg.DuplicateWindow)
	}
	maxEvents := int64(defaultMaxEvents)
	if cfg.MaxEvents != 0 {
		maxEvents = max(int64(cfg.MaxEvents), -1)
	}
	maxAge := defaultMaxAge
	if cfg.MaxAge < 0 {
		maxAge = 0 // JetStream's "no limit"
	} else if cfg.MaxAge > 0 {
		maxAge = cfg.MaxAge
	}
	publishTimeout := defaultPublishTimeout
	if cfg.PublishTimeout > 0 {
		publishTimeout = cfg.PublishTimeout
	}
	maxConsumers := defaultMaxCons
	if cfg.MaxConsumers != 0 {
		maxConsumers = max(cfg.MaxConsumers, -1)
	}
	catchUps := defaultCatchUps
	if cfg.CatchUps > 0 {
		catchUps = cfg.CatchUps
	}
	storage := jetstream.FileStorage
	if cfg.MemoryStorage {
		storage = jetstream.MemoryStorage
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("natsbroker: %w", err)
	}
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              name,
		Description:       "sseview events, one subject per topic",
		Subjects:          []string{prefix + ".>"},
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		MaxMsgsPerSubject: maxEvents,
		MaxMsgs:           -1,
		MaxBytes:          -1,
		MaxAge:            maxAge,
		Duplicates:        cfg.DuplicateWindow, // zero: the server's default, bounded by MaxAge
		MaxConsumers:      maxConsumers,
		Storage:           storage,
		Replicas:          max(cfg.Replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("natsbroker: stream %s: %w", quote.Bounded(name), err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	// The broker's life is its own, not that of the call that made it.
	life, endLife := context.WithCancel(context.WithoutCancel(ctx))
	return &Broker{
		nc:             nc,
		js:             js,
		stream:         stream,
		name:           name,
		prefix:         prefix,
		queue:          fanout.Limit(cfg.QueueLen),
		maxEvents:      maxEvents,
		publishTimeout: publishTimeout,
		catchUps:       make(chan struct{}, catchUps),
		logger:         logger,
		observer:       cfg.Observer,
		life:           life,
		endLife:        endLife,
		closing:        make(chan struct{}),
		hubs:           make(map[string]*hub),
	}, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Close ends every subscription with [ErrClosed], after the events it had
// waiting, and stops the broker's consumers: when Close returns, every
// live feed and catch-up has stopped and no message of the stream is
// delivered any more; the consumers have been deleted from the server, each
// within a few seconds' bound when NATS does not answer. The stream and its
// history stay on the NATS server. Close is safe to call more than once;
// every call returns once the first is done.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		close(b.closing)
		hubs := make([]*hub, 0, len(b.hubs))
		for subj, h := range b.hubs {
			hubs = append(hubs, h)
			delete(b.hubs, subj)
		}
		b.mu.Unlock()
		b.endLife()
		var stops sync.WaitGroup
		for _, h := range hubs {
			h.fail(ErrClosed)
			stops.Go(func() { h.stop(b.life) })
		}
		stops.Wait()
		b.starting.Wait()
		b.reading.Wait()
	})
	return nil
}

// withLife returns ctx, also cancelled when the broker closes.
func (b *Broker) withLife(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(b.life, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}
