package natsbroker

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sseview/sseview/internal/quote"
	"github.com/sseview/sseview/sseview"
)

// Publish stores e in the stream under the topic's subject and returns its
// stream sequence as the id. It waits for JetStream's acknowledgement, not
// for subscribers, for at most Config.PublishTimeout (or until ctx is
// done). e is validated as [sseview.Encode] does; its id is ignored. A topic
// outside the [sseview.Broker] syntax is refused with an error wrapping
// [sseview.ErrInvalidTopic], and nothing is published.
//
// A [sseview.Keyed] event is published with its key as the message's
// Nats-Msg-Id: when the stream has seen the key on the topic within
// Config.DuplicateWindow, nothing is stored and Publish returns the id the
// key was given.
//
// While the connection is down, Publish fails at once with
// [ErrNotConnected]. Any failure other than a refusal of the topic or the
// event does not prove the event was not stored (see the package doc):
// retrying a Keyed event with the same key is safe.
func (b *Broker) Publish(ctx context.Context, topic string, e sseview.Event) (string, error) {
	subj, err := b.subject(topic)
	if err != nil {
		return "", err
	}
	key, e, err := sseview.KeyOf(e)
	if err != nil {
		return "", err
	}
	enc, err := sseview.Encode(e)
	if err != nil {
		return "", err
	}
	msg := message(subj, enc)
	opts := []jetstream.PublishOpt{jetstream.WithExpectStream(b.name)}
	if key != "" {
		opts = append(opts, jetstream.WithMsgID(msgID(topic, key)))
	}
	select {
	case <-b.closing:
		return "", ErrClosed
	default:
	}
	if !b.nc.IsConnected() {
		// nats.go would hold the message in its reconnect buffer and send it
		// after reconnecting, even once this call has returned an error: a
		// caller that then publishes again would store the event twice.
		return "", fmt.Errorf("natsbroker: publish to %s: %w", quote.Bounded(topic), ErrNotConnected)
	}
	ctx, cancel := context.WithTimeout(ctx, b.publishTimeout)
	defer cancel()
	ack, err := b.js.PublishMsg(ctx, msg, opts...)
	if err != nil {
		return "", fmt.Errorf("natsbroker: publish to %s: %w", quote.Bounded(topic), err)
	}
	if b.observer != nil {
		b.observer.Published(ctx, topic, ack.Duplicate)
	}
	return strconv.FormatUint(ack.Sequence, 10), nil
}
