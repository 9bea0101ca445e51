// Package names holds the rules every broker of this repository applies to
// the names a caller gives it: topics and event keys. They are the rules of
// the sseview.Broker contract, kept once so that the brokers accept exactly
// the same names.
//
// A topic must map, unchanged and one to one, onto a NATS subject (its
// tokens) and a Redis key; a key must fit a Nats-Msg-Id header and a Redis
// hash field, both after the topic. So both are plain ASCII with no space,
// no control byte and no wildcard, and both are bounded in length.
package names

import (
	"errors"
	"fmt"

	"github.com/sseview/sseview/internal/quote"
)

const (
	// MaxTopicLen is the longest topic, in bytes.
	MaxTopicLen = 255
	// MaxKeyLen is the longest event key, in bytes.
	MaxKeyLen = 128
)

// ErrInvalidTopic is wrapped by the error of a topic that breaks the rule
// of [CheckTopic].
var ErrInvalidTopic = errors.New("sseview: invalid topic")

// CheckTopic accepts one or more tokens separated by single dots, each of
// one or more ASCII letters, digits, '_' or '-', in at most MaxTopicLen
// bytes: "room.42", "weather.40_71.-74_01". Anything else is refused, never
// rewritten, so that two topics never share a subject or a key. The error
// wraps ErrInvalidTopic and quotes at most a bounded part of topic.
func CheckTopic(topic string) error {
	why := topicFault(topic)
	if why == "" {
		return nil
	}
	return fmt.Errorf("%w %s: %s", ErrInvalidTopic, quote.Bounded(topic), why)
}

func topicFault(topic string) string {
	switch {
	case topic == "":
		return "empty"
	case len(topic) > MaxTopicLen:
		return fmt.Sprintf("longer than %d bytes", MaxTopicLen)
	}
	start := 0
	for i := 0; i <= len(topic); i++ {
		if i == len(topic) || topic[i] == '.' {
			if i == start {
				return fmt.Sprintf("empty token at byte %d", i)
			}
			start = i + 1
			continue
		}
		if c := topic[i]; !isTokenByte(c) {
			return fmt.Sprintf("byte %q at %d is not a letter, digit, '_', '-' or a dot between tokens", c, i)
		}
	}
	return ""
}

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// CheckKey accepts 1 to MaxKeyLen bytes of printable ASCII other than
// space ('!' to '~'): a header value that header parsing keeps exactly, and
// any Redis field. The error says what is wrong and quotes at most a bounded
// part of key; callers wrap it with their own sentinel.
func CheckKey(key string) error {
	switch {
	case key == "":
		return errors.New("empty key")
	case len(key) > MaxKeyLen:
		return fmt.Errorf("key %s is longer than %d bytes", quote.Bounded(key), MaxKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("key %s has byte %q at %d: a key is printable ASCII without spaces", quote.Bounded(key), c, i)
		}
	}
	return nil
}
