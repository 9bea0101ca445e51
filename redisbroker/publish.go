package redisbroker

import (
	"context"
	"fmt"

	"github.com/sseview/sseview/internal/quote"
	"github.com/sseview/sseview/sseview"
)

// Publish adds e to the topic's stream and returns the entry's id, in the
// form of the broker's event ids. It waits for Redis's answer, not for
// subscribers. e is validated as [sseview.Encode] does; its id is ignored.
// A topic outside the [sseview.Broker] syntax is refused with an error
// wrapping [sseview.ErrInvalidTopic], an event that cannot be encoded (or a
// [sseview.Keyed] with an invalid key, a nil *Keyed, a Keyed inside a
// Keyed) with one wrapping [sseview.ErrInvalidEvent]; nothing is published
// then.
//
// A Keyed event whose key the topic already holds, within
// Config.DuplicateWindow, is not added again: Publish returns the id it was
// given the first time.
//
// When Redis cannot be reached, or does not answer within Config.Timeout,
// Publish fails with an error wrapping [ErrNotConnected]. The event may
// then have been stored or not: retry a Keyed event, not a plain one, to be
// sure to store it once.
func (b *Broker) Publish(ctx context.Context, topic string, e sseview.Event) (string, error) {
	key, err := b.key(topic)
	if err != nil {
		return "", err
	}
	dup, e, err := sseview.KeyOf(e)
	if err != nil {
		return "", err
	}
	enc, err := sseview.Encode(e)
	if err != nil {
		return "", err
	}
	t, _ := enc.MarshalEvent()
	select {
	case <-b.closing:
		return "", ErrClosed
	default:
	}
	keys := []string{key}
	if dup != "" {
		keys = append(keys, dupKey(key, dup))
	}
	args := append([]any{b.maxEvents, b.maxAgeMs, b.windowMs}, entryFields(t)...)
	tctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	what := "publish to " + quote.Bounded(topic)
	res, err := publishScript.Run(tctx, b.rdb, keys, args...).Slice()
	if err != nil {
		return "", b.wrap(ctx, what, err)
	}
	if len(res) != 2 {
		return "", fmt.Errorf("redisbroker: %s: unexpected answer", what)
	}
	raw, _ := res[0].(string)
	id, err := parseStreamID(raw)
	if err != nil {
		return "", fmt.Errorf("redisbroker: %s: %w", what, err)
	}
	if b.observer != nil {
		dup, _ := res[1].(int64)
		b.observer.Published(ctx, topic, dup == 1)
	}
	return id.eventID(idPrefix(key)), nil
}

// dupKey returns the key that records the event key k for the topic's
// stream key. names.CheckKey has made sure k is printable ASCII without
// spaces, and k comes after the topic's hash tag, so the key stays in the
// topic's hash slot.
func dupKey(key, k string) string { return key + ":dup:" + k }
