package natsbroker

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/sseview/sseview/internal/names"
	"github.com/sseview/sseview/internal/quote"
	"github.com/sseview/sseview/sseview"
)

// How an event travels: a message on its topic's subject, whose payload is
// the data, with the type and retry in headers. The id is the stream
// sequence, assigned by the server.
const (
	typeHeader  = "Sseview-Type"
	retryHeader = "Sseview-Retry"
)

// subject maps a topic to its subject; a topic outside the contract's
// syntax is refused with the error of the syntax.
func (b *Broker) subject(topic string) (string, error) {
	if err := names.CheckTopic(topic); err != nil {
		return "", err
	}
	return b.prefix + "." + topic, nil
}

// topicOf maps a subject of the broker's back to its topic.
func (b *Broker) topicOf(subj string) string { return subj[len(b.prefix)+1:] }

// message returns the message that carries enc on subj.
func message(subj string, enc *sseview.Encoded) *nats.Msg {
	t, _ := enc.MarshalEvent()
	msg := nats.NewMsg(subj)
	if t.Type != "" {
		msg.Header.Set(typeHeader, headerValue(t.Type))
	}
	if t.Retry > 0 {
		msg.Header.Set(retryHeader, strconv.FormatInt(t.Retry.Milliseconds(), 10))
	}
	msg.Data = []byte(t.Data)
	return msg
}

// msgID is the Nats-Msg-Id of the event published on topic with key. The
// duplicate window is the stream's, so the topic is part of it; a topic
// has no '/', so the first one ends it.
func msgID(topic, key string) string { return topic + "/" + key }

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
				return nil, fmt.Errorf("natsbroker: message %d on %s: %s header %s is not a valid quoted string", seq, subj, typeHeader, quote.Bounded(v))
			}
			t.Type = typ
		}
	}
	if v := hdr.Get(retryHeader); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 {
			return nil, fmt.Errorf("natsbroker: message %d on %s: %s header %s is not a number of milliseconds", seq, subj, retryHeader, quote.Bounded(v))
		}
		t.Retry = time.Duration(ms) * time.Millisecond
	}
	enc, err := sseview.Encode(t)
	if err != nil {
		return nil, fmt.Errorf("message %d on %s: %w", seq, subj, err)
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
