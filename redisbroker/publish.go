package redisbroker

import (
	"context"
	"fmt"

	"github.com/sseview/sseview/sseview"
)

// Publish adds e to the topic's stream and returns the entry's id, in the
// form of the broker's event ids. It waits for Redis's answer, not for
// subscribers. e is validated as [sseview.Encode] does; its id is ignored.
//
// An [sseview.Keyed] event whose Key the topic already holds, within
// Config.DuplicateWindow, is not added again: Publish returns the id it was
// given the first time. Its Key must be 1 to 256 bytes.
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
	var dupKey string
	switch k := e.(type) {
	case sseview.Keyed:
		dupKey, err = b.dupKey(key, k.Key)
	case *sseview.Keyed:
		if k != nil {
			dupKey, err = b.dupKey(key, k.Key)
		}
	}
	if err != nil {
		return "", fmt.Errorf("redisbroker: publish to %s: %w", topic, err)
	}
	enc, err := sseview.Encode(e)
	if err != nil {
		return "", fmt.Errorf("redisbroker: publish to %s: %w", topic, err)
	}
	t, _ := enc.MarshalEvent()
	select {
	case <-b.closing:
		return "", ErrClosed
	default:
	}
	keys := []string{key}
	if dupKey != "" {
		keys = append(keys, dupKey)
	}
	args := append([]any{b.maxEvents, b.maxAgeMs, b.windowMs}, entryFields(t)...)
	tctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	res, err := publishScript.Run(tctx, b.rdb, keys, args...).Slice()
	if err != nil {
		return "", b.wrap(ctx, "publish to "+topic, err)
	}
	if len(res) != 2 {
		return "", fmt.Errorf("redisbroker: publish to %s: unexpected answer", topic)
	}
	raw, _ := res[0].(string)
	id, err := parseStreamID(raw)
	if err != nil {
		return "", fmt.Errorf("redisbroker: publish to %s: %w", topic, err)
	}
	if b.observer != nil {
		dup, _ := res[1].(int64)
		b.observer.Published(ctx, topic, dup == 1)
	}
	return id.eventID(idPrefix(key)), nil
}

// dupKey returns the key that records k for the topic's stream key.
func (b *Broker) dupKey(key, k string) (string, error) {
	switch {
	case k == "":
		return "", fmt.Errorf("%w: Keyed.Key is empty", sseview.ErrInvalidEvent)
	case len(k) > maxKeyLen:
		return "", fmt.Errorf("%w: Keyed.Key is %d bytes, more than %d", sseview.ErrInvalidEvent, len(k), maxKeyLen)
	}
	return key + ":dup:" + k, nil
}
