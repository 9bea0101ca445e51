// Package redisbroker is an [sseview.Broker] on Redis Streams, for running
// several server instances that share their topics: an event published
// through one instance reaches the subscribers of every instance, and a
// client that reconnects to another instance with its Last-Event-ID resumes
// with nothing lost and nothing repeated.
//
// A topic, in the syntax of the [sseview.Broker] contract (refused with
// [sseview.ErrInvalidTopic] otherwise), is a stream key,
// "<KeyPrefix>{<topic>}" ("sseview:{room.42}");
// an event is an entry whose fields are its data, its type and its retry
// (see below), and its id is the entry's id after a prefix that is a hash of
// the key, written so that a topic's ids sort as strings (shorter first,
// then bytewise): "8x32mk42b0uk.1733040000000-00000000000000000003" is
// entry 1733040000000-3 of room.42.
// Each instance runs one live reader per topic that has local subscribers,
// an XREAD BLOCK after the last entry it delivered, and fans each entry out
// to them, decoded and encoded once; a thousand subscribers to one topic
// cost one reader, not a thousand. A subscriber that resumes from a
// Last-Event-ID first reads what it missed with XRANGE, in batches, up to
// the live reader's position when it joined, then takes the live feed from
// exactly there.
//
// An entry's fields are "data" (the event's data; Publish always writes
// it), "type" (when not empty) and "retry" (milliseconds, when set). Any
// entry added to a topic's stream with only these fields is an event of the
// topic, so `redis-cli XADD 'sseview:{room.42}' '*' data hello` sends a
// "message" event to room.42; an entry with other fields, or that is not a
// valid event (its data not UTF-8, say), is logged and skipped.
//
// It lives in its own module so that users of the in-memory broker never
// download a Redis client. It needs Redis 7.0 or later (it keeps the
// history's horizon with XSETID ... MAXDELETEDID).
//
// # History
//
// Each topic keeps its newest MaxEvents events, none older than MaxAge,
// exactly as the other brokers do: Publish trims the stream exactly (MAXLEN
// and MINID without "~"), by Redis's clock, and a subscription that resumes
// first removes what has aged out since the last publish. A topic's stream
// key expires MaxAge after its last event, so topics used once do not pile
// up in Redis. Resuming after an id whose successors are no longer all kept,
// an id from the future, a malformed id, or an id from before the topic's
// stream expired or was deleted starts with a reset event, never a silent
// gap.
// A reset may be conservative: resuming after the newest event removed
// resets, as with the NATS broker. Deleting single entries by hand (XDEL) or
// trimming a stream by hand is not detected: leave the trimming to the
// broker.
//
// # Idempotent publish
//
// Publishing an [sseview.Keyed] event checks and records its Key in one Lua
// script with the XADD: a second publish of the same Key to the same topic
// within DuplicateWindow (2 minutes by default) of the first stores
// nothing and returns the first publish's id. The Key is kept in a key of
// its own, "<KeyPrefix>{<topic>}:dup:<Key>", which expires after the window.
// Plain events are added without a check.
//
// # When Redis is down
//
// Subscribers stay connected and receive nothing. Publish fails within
// Timeout (2 s by default; at once when Redis refuses connections) with an
// error wrapping [ErrNotConnected]; so does a subscription that needs Redis
// to start: the first on a topic on this instance, or one resuming from a
// Last-Event-ID. The live readers of all topics wait for one probe, which
// pings Redis with backoff (20 ms doubling to 1 s); once Redis answers they
// read on after the last entry they delivered, so subscribers get every
// event published since, in order, without a duplicate. The history survives a restart of Redis as far as
// Redis's own persistence keeps it: run it with the append-only file on
// (appendonly yes; appendfsync everysec loses at most the last second of a
// crash, always loses nothing). A Redis that restarts empty makes every
// client's next resume a reset.
//
// Publish never retries by itself: when its error wraps ErrNotConnected
// the event may still have been stored. Retrying a Keyed event is safe.
//
// # Redis Cluster
//
// A topic's keys share a hash slot (the topic is the key's hash tag; the
// topic syntax has no '{' or '}'), so the scripts would run on a cluster; but the broker takes a single Redis server (with replicas and
// persistence as you like), not a cluster client, and is tested against a
// single server only.
package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sseview/sseview/internal/fanout"
	"github.com/sseview/sseview/internal/names"
	"github.com/sseview/sseview/internal/quote"
	"github.com/sseview/sseview/sseview"
)

// Config configures a [Broker]. Its zero value gives the documented
// defaults. Every instance sharing a Redis should use the same KeyPrefix
// and history limits.
type Config struct {
	// KeyPrefix is put before each topic to make its stream key: topic
	// "room.42" is key "sseview:{room.42}". It may not contain '{' or '}'.
	// Empty means "sseview:".
	KeyPrefix string

	// MaxEvents is how many events are kept per topic for resume. Zero
	// means 1000; negative means no limit.
	MaxEvents int

	// MaxAge is how long an event is kept for resume. Zero means 1 hour;
	// negative means no age limit (and stream keys that never expire).
	// Redis counts it in whole milliseconds.
	MaxAge time.Duration

	// QueueLen is how many events a subscriber may have waiting before it
	// is dropped with [sseview.ErrSlowSubscriber], as the [sseview.Broker]
	// contract says; its client then resumes from its Last-Event-ID. Zero
	// means 256; negative means no limit.
	QueueLen int

	// CatchUps is how many subscriptions of this instance may read the
	// events they missed from Redis at once; the others wait their turn
	// (one batch of 128 events per turn), so that a crowd reconnecting after
	// a restart does not flood Redis. Zero means 32; negative is refused
	// by [New].
	CatchUps int

	// DuplicateWindow is how long the Key of a published [sseview.Keyed]
	// event is remembered, from its first publish: publishing the key on
	// its topic again within it stores nothing and returns the first id,
	// even once that event has left the history. Zero means 2 minutes;
	// negative is refused by [New].
	DuplicateWindow time.Duration

	// Timeout bounds each call to Redis of Publish, of starting a
	// subscription and of each catch-up batch. Zero means 2 seconds;
	// negative is refused by [New].
	Timeout time.Duration

	// Logger receives entries that are not events and the live readers'
	// connection troubles. Nil means slog.Default().
	Logger *slog.Logger

	// Observer, when set, hears the broker's publishes, live deliveries,
	// resets, catch-ups and drops (see [sseview.BrokerObserver]), for
	// metrics. A delivery's publish time is its entry's id, which Redis
	// gives by its clock in milliseconds. Nil observes nothing.
	Observer sseview.BrokerObserver
}

const (
	defaultPrefix    = "sseview:"
	defaultMaxEvents = 1000
	defaultMaxAge    = time.Hour
	defaultCatchUps  = 32
	defaultWindow    = 2 * time.Minute
	defaultTimeout   = 2 * time.Second
	// maxFeeds is the size of the connection pool of the live readers: one
	// connection per topic with subscribers on this instance.
	maxFeeds = 10_000
)

var (
	// ErrClosed ends the subscriptions of a [Broker] that was closed, and
	// is returned by its Publish.
	ErrClosed = errors.New("redisbroker: broker closed")

	// ErrNotConnected is wrapped by the error of a call that could not reach
	// Redis, or got no answer within Config.Timeout.
	ErrNotConnected = errors.New("redisbroker: not connected to Redis")
)

// Broker is an [sseview.Broker] on Redis Streams. Create it with [Open] or
// [New]; it is safe for concurrent use.
type Broker struct {
	rdb       *redis.Client // publishing and catching up
	live      *redis.Client // the live readers' blocked XREADs
	prefix    string
	maxEvents int64 // 0: no limit
	maxAgeMs  int64 // 0: no limit
	windowMs  int64
	timeout   time.Duration
	queue     int           // fanout.Limit of QueueLen
	catchUps  chan struct{} // a token per catch-up batch in progress
	logger    *slog.Logger
	observer  sseview.BrokerObserver // nil: none

	readers sync.WaitGroup
	ctx     context.Context // the live readers'; cancelled by Close
	cancel  context.CancelFunc

	// mu guards feeds, closed, back, and each feed's users. It is never
	// held while taking a feed's lock.
	mu      sync.Mutex
	feeds   map[string]*feed // by stream key; a feed exists while it has users
	closed  bool
	closing chan struct{}
	back    chan struct{} // while Redis is lost: closed by the probe once it answers
}

var _ sseview.Broker = (*Broker)(nil)

// Open connects to the Redis at rawURL ("redis://host:port/db", with a
// password as "redis://:password@host:port/db", "rediss://" for TLS; see
// redis.ParseURL) and returns a broker on it. Close the broker to close its
// connections.
func Open(ctx context.Context, rawURL string, cfg Config) (*Broker, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		// url.Error quotes the whole URL, password and all.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("redisbroker: Redis URL: %w", err)
	}
	return New(ctx, opts, cfg)
}

// New returns a broker on the Redis that opts describe, for what a URL
// cannot say (a TLS config, a dialer). The broker makes its own clients from
// a copy of opts: one for publishing and catching up, with opts' pool, and
// one for the live readers, which hold a connection each. It never retries
// a command (opts.MaxRetries is ignored), because a retried XADD could
// store an event twice; it dials once per attempt (opts.DialerRetries is
// ignored), so that a Redis that refuses connections fails a call at once;
// and it honours context deadlines. New checks that Redis answers and is
// 7.0 or later.
func New(ctx context.Context, opts *redis.Options, cfg Config) (*Broker, error) {
	if opts == nil {
		return nil, errors.New("redisbroker: nil redis.Options")
	}
	switch {
	case cfg.DuplicateWindow < 0:
		return nil, fmt.Errorf("redisbroker: Config.DuplicateWindow %v is negative", cfg.DuplicateWindow)
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("redisbroker: Config.Timeout %v is negative", cfg.Timeout)
	case cfg.CatchUps < 0:
		return nil, fmt.Errorf("redisbroker: Config.CatchUps %d is negative", cfg.CatchUps)
	}
	prefix := cfg.KeyPrefix
	if prefix == "" {
		prefix = defaultPrefix
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("redisbroker: Config.KeyPrefix %s contains '{' or '}', which make a key's hash tag", quote.Bounded(prefix))
	}
	b := &Broker{
		prefix:    prefix,
		maxEvents: defaultMaxEvents,
		maxAgeMs:  defaultMaxAge.Milliseconds(),
		windowMs:  defaultWindow.Milliseconds(),
		timeout:   defaultTimeout,
		queue:     fanout.Limit(cfg.QueueLen),
		logger:    cfg.Logger,
		observer:  cfg.Observer,
		feeds:     make(map[string]*feed),
		closing:   make(chan struct{}),
	}
	switch {
	case cfg.MaxEvents < 0:
		b.maxEvents = 0
	case cfg.MaxEvents > 0:
		b.maxEvents = int64(cfg.MaxEvents)
	}
	switch {
	case cfg.MaxAge < 0:
		b.maxAgeMs = 0
	case cfg.MaxAge > 0:
		b.maxAgeMs = max(cfg.MaxAge.Milliseconds(), 1)
	}
	if cfg.DuplicateWindow > 0 {
		b.windowMs = max(cfg.DuplicateWindow.Milliseconds(), 1)
	}
	if cfg.Timeout > 0 {
		b.timeout = cfg.Timeout
	}
	catchUps := defaultCatchUps
	if cfg.CatchUps > 0 {
		catchUps = cfg.CatchUps
	}
	b.catchUps = make(chan struct{}, catchUps)
	if b.logger == nil {
		b.logger = slog.Default()
	}

	own := *opts
	own.MaxRetries = -1
	// One dial per call: a refused connection fails Publish at once, and
	// the live readers have a backoff of their own.
	own.DialerRetries = 1
	own.ContextTimeoutEnabled = true
	b.rdb = redis.NewClient(&own)
	live := own
	live.PoolSize = maxFeeds
	live.MinIdleConns, live.MaxIdleConns = 0, 0
	b.live = redis.NewClient(&live)
	b.ctx, b.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := b.check(ctx); err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

// check makes sure Redis answers and has what the scripts need.
func (b *Broker) check(ctx context.Context) error {
	tctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	info, err := b.rdb.Info(tctx, "server").Result()
	if err != nil {
		return b.wrap(ctx, "connect", err)
	}
	var version string
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			version = v
		}
	}
	major, _, _ := strings.Cut(version, ".")
	if n, err := strconv.Atoi(major); err != nil || n < 7 {
		return fmt.Errorf("redisbroker: Redis %s is too old: the broker needs 7.0 or later", quote.Bounded(version))
	}
	for _, s := range []*redis.Script{publishScript, historyScript, lastIDScript} {
		if err := s.Load(tctx, b.rdb).Err(); err != nil {
			return b.wrap(ctx, "load scripts", err)
		}
	}
	return nil
}

// Close ends every subscription with [ErrClosed], stops the live readers
// and closes the broker's connections. The streams stay in Redis. Close is
// safe to call more than once.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.closing)
	feeds := make([]*feed, 0, len(b.feeds))
	for _, f := range b.feeds {
		feeds = append(feeds, f)
	}
	b.mu.Unlock()
	for _, f := range feeds {
		f.fail(ErrClosed)
	}
	b.cancel()
	// Closing the live client ends the XREADs blocked on its connections.
	err := b.live.Close()
	b.readers.Wait()
	return errors.Join(err, b.rdb.Close())
}

// key maps a topic to its stream key. A topic outside the contract's
// syntax is refused with an error wrapping [sseview.ErrInvalidTopic]; none
// has '{' or '}', so a topic is exactly its key's hash tag.
func (b *Broker) key(topic string) (string, error) {
	if err := names.CheckTopic(topic); err != nil {
		return "", err
	}
	return b.prefix + "{" + topic + "}", nil
}

// topicOf maps a stream key of the broker's back to its topic.
func (b *Broker) topicOf(key string) string { return key[len(b.prefix)+1 : len(key)-1] }

// observeDropped tells the observer of a subscription on topic that ends
// with err, when err is the drop of a slow subscriber.
func (b *Broker) observeDropped(ctx context.Context, topic string, err error) {
	if b.observer != nil && errors.Is(err, sseview.ErrSlowSubscriber) {
		b.observer.Dropped(ctx, topic)
	}
}

// wrap makes the error of a failed call to Redis made with a Timeout
// under ctx: [ErrClosed] once the broker is closed, ctx's error when ctx
// ended the call, Redis's answer when it gave one, and otherwise
// [ErrNotConnected].
func (b *Broker) wrap(ctx context.Context, what string, err error) error {
	select {
	case <-b.closing:
		return ErrClosed
	default:
	}
	var answer redis.Error
	switch {
	case errors.As(err, &answer):
		return fmt.Errorf("redisbroker: %s: %w", what, err)
	case ctx.Err() != nil:
		return fmt.Errorf("redisbroker: %s: %w", what, context.Cause(ctx))
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %s: no answer within %v", ErrNotConnected, what, b.timeout)
	}
	return fmt.Errorf("%w: %s: %w", ErrNotConnected, what, err)
}
