package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sseview/sseview/sseview"
)

// The id scheme: an event's id is its stream sequence in decimal, the same
// on every instance. This file decides where a subscription with a
// Last-Event-ID starts, and whether that is a resume or a reset.

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
