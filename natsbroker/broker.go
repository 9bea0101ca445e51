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
// (milliseconds). Any message published on a topic's subject is an event of
// the topic, so `nats pub sseview.room.42 hello` sends a "message" event to
// room.42; a message that is not a valid event (its data not UTF-8, say) is
// logged and skipped.
//
// It lives in its own module so that users of the in-memory broker never
// download NATS.
//
// # When NATS is down
//
// The nats.go client reconnects by itself (see nats.MaxReconnects and
// nats.ReconnectWait on the connection you pass). While it is disconnected,
// Publish fails and subscribers receive nothing, but they stay connected.
// After the reconnection each topic's live consumer is recreated from the
// sequence after the last one it delivered, so subscribers get every event
// published since, in order, without a duplicate. With the default file
// storage the stream, and so the history, survives a restart of the NATS
// server. When the connection is closed for good, every subscription ends
// with an error wrapping [ErrConnClosed]; its client reconnects (to an
// instance that still has NATS) and resumes from its Last-Event-ID.
package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sseview/sseview/sseview"
)

// Config configures a [Broker]. Its zero value gives the documented
// defaults. Every instance sharing a stream should use the same Stream,
// SubjectPrefix and history limits: the last one started wins the stream's
// configuration.
type Config struct {
	// Stream is the name of the JetStream stream holding the events. It is
	// created, or updated to this configuration, by [New]. Empty means
	// "SSEVIEW".
	Stream string

	// SubjectPrefix is put before each topic to make its subject:
	// topic "room.42" is subject "sseview.room.42", and the stream captures
	// "sseview.>". It must be one or more NATS subject tokens. Empty means
	// "sseview".
	SubjectPrefix string

	// MaxEvents is how many events are kept per topic for resume (the
	// stream's MaxMsgsPerSubject). Zero means 1000; negative means no limit.
	MaxEvents int

	// MaxAge is how long an event is kept for resume. Zero means 1 hour;
	// negative means no age limit.
	MaxAge time.Duration

	// QueueLen is how many events a subscriber may fall behind the live
	// feed before it is dropped with [sseview.ErrSlowSubscriber]; its
	// client then resumes from its Last-Event-ID. Zero means 256.
	QueueLen int

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
}

const (
	defaultStream    = "SSEVIEW"
	defaultPrefix    = "sseview"
	defaultMaxEvents = 1000
	defaultMaxAge    = time.Hour
	defaultQueueLen  = 256
	defaultMaxCons   = 10_000
	defaultCatchUps  = 32

	// Message headers carrying an event's fields; the data is the payload
	// and the id is the stream sequence, assigned by the server.
	typeHeader  = "Sseview-Type"
	retryHeader = "Sseview-Retry"
)

var (
	// ErrInvalidTopic is wrapped by the error of a topic that is not one or
	// more NATS subject tokens.
	ErrInvalidTopic = errors.New("natsbroker: invalid topic")

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
	nc        *nats.Conn
	js        jetstream.JetStream
	stream    jetstream.Stream
	name      string
	prefix    string
	queue     int
	maxEvents int64         // 0 or less: no limit
	catchUps  chan struct{} // a token per catch-up in progress
	logger    *slog.Logger
	mu        sync.Mutex
	hubs      map[string]*hub // by subject; a hub exists while it has users
	closed    bool
	closing   chan struct{}
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
	if err := checkSubject(prefix); err != nil {
		return nil, fmt.Errorf("natsbroker: Config.SubjectPrefix: %w", err)
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
	queue := defaultQueueLen
	if cfg.QueueLen > 0 {
		queue = cfg.QueueLen
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
		MaxConsumers:      maxConsumers,
		Storage:           storage,
		Replicas:          max(cfg.Replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("natsbroker: stream %s: %w", name, err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Broker{
		nc:        nc,
		js:        js,
		stream:    stream,
		name:      name,
		prefix:    prefix,
		queue:     queue,
		maxEvents: maxEvents,
		catchUps:  make(chan struct{}, catchUps),
		logger:    logger,
		hubs:      make(map[string]*hub),
		closing:   make(chan struct{}),
	}, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Close ends every subscription with [ErrClosed] and stops the live
// consumers. The stream and its history stay on the NATS server. Close is
// safe to call more than once.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.closing)
	hubs := make([]*hub, 0, len(b.hubs))
	for subj, h := range b.hubs {
		hubs = append(hubs, h)
		delete(b.hubs, subj)
	}
	b.mu.Unlock()
	for _, h := range hubs {
		h.fail(ErrClosed)
	}
	return nil
}

// Publish stores e in the stream under the topic's subject and returns its
// stream sequence as the id. It waits for JetStream's acknowledgement, not
// for subscribers. e is validated as [sseview.Encode] does; its id is
// ignored.
//
// While the connection is down, Publish fails at once with
// [ErrNotConnected]. When the connection drops during the call, the error
// does not prove the event was not stored: nats.go may send it after
// reconnecting. Give the connection nats.ReconnectBufSize(-1) to rule that
// out.
func (b *Broker) Publish(ctx context.Context, topic string, e sseview.Event) (string, error) {
	subj, err := b.subject(topic)
	if err != nil {
		return "", err
	}
	enc, err := sseview.Encode(e)
	if err != nil {
		return "", fmt.Errorf("natsbroker: %w", err)
	}
	t, _ := enc.MarshalEvent()
	msg := nats.NewMsg(subj)
	if t.Type != "" {
		msg.Header.Set(typeHeader, headerValue(t.Type))
	}
	if t.Retry > 0 {
		msg.Header.Set(retryHeader, strconv.FormatInt(t.Retry.Milliseconds(), 10))
	}
	msg.Data = []byte(t.Data)
	select {
	case <-b.closing:
		return "", ErrClosed
	default:
	}
	if !b.nc.IsConnected() {
		// nats.go would hold the message in its reconnect buffer and send it
		// after reconnecting, even once this call has returned an error: a
		// caller that then publishes again would store the event twice.
		return "", fmt.Errorf("natsbroker: publish to %s: %w", subj, ErrNotConnected)
	}
	ack, err := b.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(b.name))
	if err != nil {
		return "", fmt.Errorf("natsbroker: publish to %s: %w", subj, err)
	}
	return strconv.FormatUint(ack.Sequence, 10), nil
}

// decode turns a stream message into the event subscribers receive, with
// its sequence as the id. Messages published by something other than
// [Broker.Publish] are events too: the payload is the data, and the type
// and retry come from the headers when they are there.
func decode(subj string, seq uint64, hdr nats.Header, data []byte) (*sseview.Encoded, error) {
	t := sseview.Text{ID: strconv.FormatUint(seq, 10), Data: string(data)}
	if v := hdr.Get(typeHeader); v != "" {
		t.Type = v
		if v[0] == '"' {
			typ, err := strconv.Unquote(v)
			if err != nil {
				return nil, fmt.Errorf("natsbroker: message %d on %s: %s header %s is not a valid quoted string", seq, subj, typeHeader, v)
			}
			t.Type = typ
		}
	}
	if v := hdr.Get(retryHeader); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 {
			return nil, fmt.Errorf("natsbroker: message %d on %s: %s header %q is not a number of milliseconds", seq, subj, retryHeader, v)
		}
		t.Retry = time.Duration(ms) * time.Millisecond
	}
	enc, err := sseview.Encode(t)
	if err != nil {
		return nil, fmt.Errorf("natsbroker: message %d on %s: %w", seq, subj, err)
	}
	return enc, nil
}

// headerValue returns v as it is when a header carries it unchanged, and
// quoted otherwise: header parsing trims spaces around a value, and an event
// type must arrive exactly as it was published.
func headerValue(v string) string {
	plain := v[0] != '"' && strings.TrimSpace(v) == v && !strings.ContainsFunc(v, func(r rune) bool {
		return r < ' ' || r == 0x7f || r >= utf8.RuneSelf
	})
	if !plain {
		return strconv.Quote(v)
	}
	return v
}

// subject maps a topic to its subject.
func (b *Broker) subject(topic string) (string, error) {
	if err := checkSubject(topic); err != nil {
		return "", fmt.Errorf("%w %q: %w", ErrInvalidTopic, topic, err)
	}
	return b.prefix + "." + topic, nil
}

// checkSubject accepts one or more dot-separated tokens of printable ASCII
// without the wildcards. Anything else is refused, never rewritten: two
// topics must never map to one subject.
func checkSubject(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if i == start {
				return fmt.Errorf("empty token at byte %d", i)
			}
			start = i + 1
			continue
		}
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '*' || c == '>' {
			return fmt.Errorf("byte %q at %d is not allowed in a NATS subject token", c, i)
		}
	}
	return nil
}

// Subscribe implements [sseview.Broker.Subscribe].
//
// It resumes after lastEventID when no event of the topic after it can have
// left the stream: when it is an event of the topic still kept; when it is
// a sequence still kept (of any topic) and the topic keeps fewer than
// MaxEvents events, so that none was removed by age or by count; or when
// it is after the topic's newest event kept and not from the future.
// Otherwise (and for a malformed id) the first event is the reset, whose id
// is the topic's newest event kept or, when the topic keeps nothing, the
// stream's last sequence; both are resumable ids. A reset may be
// conservative; a gap is never silent.
//
// The first use of a topic on this instance creates its live consumer,
// which is deleted when its last local subscriber leaves. Errors talking to
// NATS while starting end the subscription with that error.
func (b *Broker) Subscribe(ctx context.Context, topic, lastEventID string) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		yield = connClosedErrors(yield)
		subj, err := b.subject(topic)
		if err != nil {
			yield(nil, err)
			return
		}
		h, err := b.acquire(ctx, subj)
		if err != nil {
			if ctx.Err() == nil {
				yield(nil, err)
			}
			return
		}
		defer b.release(ctx, h)
		s := newSubscriber(b.queue, lastEventID != "")
		start := h.add(s)
		defer h.remove(s)

		pos := start
		if lastEventID != "" {
			var ok bool
			pos, ok = b.catchUp(ctx, subj, s, start, lastEventID, yield)
			if !ok {
				return
			}
		}
		for {
			it, err := s.take(ctx)
			if err != nil {
				if ctx.Err() == nil {
					yield(nil, err)
				}
				return
			}
			if it.seq <= pos {
				continue // already delivered by the catch-up
			}
			if !yield(it.ev, nil) {
				return
			}
			pos = it.seq
		}
	}
}

// connClosedErrors wraps yield so that every error caused by a connection
// closed for good, whichever call met it, is an [ErrConnClosed].
func connClosedErrors(yield func(sseview.Event, error) bool) func(sseview.Event, error) bool {
	return func(ev sseview.Event, err error) bool {
		if err != nil && !errors.Is(err, ErrConnClosed) &&
			(errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, jetstream.ErrConnectionClosed)) {
			err = fmt.Errorf("%w: %w", ErrConnClosed, err)
		}
		return yield(ev, err)
	}
}

// catchUp delivers the events after lastEventID that the live feed will
// not: those up to start (the live feed's position when s joined it), and
// any the live feed had to drop from s's buffer while it was catching up.
// It returns the sequence of the last event delivered; false means the
// subscription is over.
//
// An ordered consumer skips events removed before it reaches them. So the
// events are read in batches, and a batch is handed on only once the
// position before it is found still resumable: then nothing in the batch's
// range had been removed when it was read. Each batch has its own
// consumer, which is gone before the batch is handed on, so a slow client
// holds no consumer and no catch-up turn.
func (b *Broker) catchUp(ctx context.Context, subj string, s *subscriber, start uint64, lastEventID string,
	yield func(sseview.Event, error) bool) (uint64, bool) {
	fail := func(err error) (uint64, bool) {
		if ctx.Err() == nil {
			yield(nil, err)
		}
		return 0, false
	}
	yielded := false
	var pos uint64
	// begin decides where to start (again) from the client's id; false
	// means the subscription is over.
	begin := func() bool {
		var reset sseview.Event
		var err error
		if pos, reset, err = b.resumePoint(ctx, subj, lastEventID); err != nil {
			fail(err)
			return false
		}
		if reset != nil {
			yielded = true
			return yield(reset, nil)
		}
		return true
	}
	if !begin() {
		return 0, false
	}
	for restarts := 0; ; {
		target := s.catchUpTarget(start, pos)
		if target == 0 {
			return pos, true
		}
		select {
		case b.catchUps <- struct{}{}:
		case <-ctx.Done():
			return 0, false
		}
		batch, end, err := b.readBatch(ctx, subj, pos, target)
		<-b.catchUps
		if err != nil {
			return fail(err)
		}
		ok := true
		if len(batch) > 0 {
			if ok, err = b.resumable(ctx, subj, pos); err != nil {
				return fail(err)
			}
		}
		// Otherwise the stream no longer holds all the events up to the
		// target: some were removed before this subscriber could read them.
		ok = ok && !(end && batch.last(pos) < target)
		if !ok {
			if yielded || restarts == 2 {
				// Its client resumes from what it has, or gets a reset.
				return fail(sseview.ErrSlowSubscriber)
			}
			// The client's id went out of the history just now. Nothing
			// was sent yet, so the subscription can still start with the
			// reset it would get on reconnecting.
			restarts++
			if !begin() {
				return 0, false
			}
			continue
		}
		for _, it := range batch {
			if it.ev != nil {
				if !yield(it.ev, nil) {
					return 0, false
				}
				yielded = true
			}
			pos = it.seq
		}
	}
}

// items are events read from the stream, oldest first.
type items []item

// last returns the sequence of the last item, or pos when there is none.
func (is items) last(pos uint64) uint64 {
	if len(is) == 0 {
		return pos
	}
	return is[len(is)-1].seq
}

// resumePoint decides where a subscription with lastEventID starts; a
// non-nil reset is the reset event to send first.
func (b *Broker) resumePoint(ctx context.Context, subj, lastEventID string) (pos uint64, reset sseview.Event, err error) {
	if !b.nc.IsConnected() {
		// Requests would wait in the reconnect buffer until their timeout.
		return 0, nil, ErrNotConnected
	}
	if n, ok := parseID(lastEventID); ok {
		ok, err := b.resumable(ctx, subj, n)
		if err != nil {
			return 0, nil, err
		}
		if ok {
			return n, nil, nil
		}
	}
	// The reset's id is the topic's newest event kept or, with nothing of
	// the topic kept, the stream's last sequence: either is resumable
	// while it stays in the stream.
	id, err := b.newest(ctx, subj)
	if err != nil {
		return 0, nil, err
	}
	if id == 0 {
		info, err := b.stream.Info(ctx)
		if err != nil {
			return 0, nil, fmt.Errorf("natsbroker: stream %s: %w", b.name, err)
		}
		id = info.State.LastSeq
	}
	enc, err := sseview.Encode(sseview.Text{Type: sseview.ResetEventType, ID: strconv.FormatUint(id, 10)})
	if err != nil {
		return 0, nil, err
	}
	return id, enc, nil
}

// resumable reports whether a subscriber that has had subj's events up to
// sequence n can resume after it without missing one.
func (b *Broker) resumable(ctx context.Context, subj string, n uint64) (bool, error) {
	ok, err := b.unbroken(ctx, subj, n)
	if ok || err != nil {
		return ok, err
	}
	// Events are removed oldest first, so while the topic's newest event
	// kept is before n, nothing of the topic after n was removed. n must
	// have been given, though: not from the future.
	newest, err := b.newest(ctx, subj)
	if err != nil || newest == 0 || newest >= n {
		return false, err
	}
	info, err := b.stream.Info(ctx)
	if err != nil {
		return false, fmt.Errorf("natsbroker: stream %s: %w", b.name, err)
	}
	return n <= info.State.LastSeq, nil
}

// parseID accepts the ids this broker gives: decimal sequences without
// sign or leading zeros, and "0", the reset id of an empty stream.
func parseID(id string) (uint64, bool) {
	n, err := strconv.ParseUint(id, 10, 64)
	return n, err == nil && strconv.FormatUint(n, 10) == id
}

// unbroken reports whether no event of subj after sequence n has been
// removed from the stream, so that resuming after n misses nothing. It
// relies on the stream removing events oldest first: by age across the
// stream, by count within each subject.
//
// When n is an event of subj still kept, every later event of subj is
// kept too. When n is still kept but on another subject (or is 0 and the
// stream still has its first message), no event after it has aged out,
// since they are all younger; and one removed by count would leave
// MaxEvents younger events of subj behind it, so fewer than that kept means
// none was removed.
func (b *Broker) unbroken(ctx context.Context, subj string, n uint64) (bool, error) {
	anchor := n
	if n == 0 {
		info, err := b.stream.Info(ctx)
		if err != nil {
			return false, fmt.Errorf("natsbroker: stream %s: %w", b.name, err)
		}
		if info.State.LastSeq == 0 {
			return true, nil // nothing was ever published
		}
		anchor = 1
	}
	m, err := b.stream.GetMsg(ctx, anchor)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("natsbroker: get message %d: %w", anchor, err)
	}
	if m.Subject == subj {
		return true, nil
	}
	if b.maxEvents <= 0 {
		return true, nil
	}
	info, err := b.stream.Info(ctx, jetstream.WithSubjectFilter(subj))
	if err != nil {
		return false, fmt.Errorf("natsbroker: stream %s: %w", b.name, err)
	}
	return info.State.Subjects[subj] < uint64(b.maxEvents), nil
}

// newest returns the sequence of subj's newest message in the stream, 0 if
// it has none.
func (b *Broker) newest(ctx context.Context, subj string) (uint64, error) {
	m, err := b.stream.GetLastMsgForSubject(ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("natsbroker: last message on %s: %w", subj, err)
	}
	return m.Sequence, nil
}

// catchUpBatch is how many events a catch-up reads with one consumer.
const catchUpBatch = 128

// readBatch reads subj's events after pos with an ordered consumer: up to
// catchUpBatch of them, stopping at the first at or after target. end says
// the stream had no more.
func (b *Broker) readBatch(ctx context.Context, subj string, pos, target uint64) (batch items, end bool, err error) {
	cons, err := b.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{subj},
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       pos + 1,
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return nil, false, fmt.Errorf("natsbroker: catch-up consumer on %s: %w", subj, err)
	}
	defer b.deleteConsumer(ctx, cons)
	info := cons.CachedInfo()
	if info != nil && info.NumPending == 0 {
		return nil, true, nil
	}
	msgs, err := cons.Messages(jetstream.PullMaxMessages(catchUpBatch))
	if err != nil {
		return nil, false, fmt.Errorf("natsbroker: catch-up on %s: %w", subj, err)
	}
	defer msgs.Stop()
	for len(batch) < catchUpBatch {
		msg, err := msgs.Next(jetstream.NextContext(ctx))
		if err != nil {
			return nil, false, fmt.Errorf("natsbroker: catch-up on %s: %w", subj, err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return nil, false, fmt.Errorf("natsbroker: catch-up on %s: %w", subj, err)
		}
		seq := md.Sequence.Stream
		ev, err := decode(subj, seq, msg.Headers(), msg.Data())
		if err != nil {
			b.logger.ErrorContext(ctx, "natsbroker: skipping a message that is not an event", "err", err)
		}
		batch = append(batch, item{seq: seq, ev: ev})
		if md.NumPending == 0 {
			return batch, true, nil
		}
		if seq >= target {
			break
		}
	}
	return batch, false, nil
}

// deleteConsumer removes an ordered consumer from the server now rather
// than at its inactivity threshold. It is best effort: a failure leaves it
// to the threshold.
func (b *Broker) deleteConsumer(ctx context.Context, cons jetstream.Consumer) {
	info := cons.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = b.js.DeleteConsumer(ctx, b.name, info.Name)
}
