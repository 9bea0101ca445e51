package redisbroker

import (
	"errors"
	"hash/fnv"
	"strconv"
	"strings"
)

// streamID is a Redis stream entry id, "<ms>-<seq>".
type streamID struct{ ms, seq uint64 }

// seqDigits is the width of the sequence part of an event id. Redis entry
// ids "<ms>-<seq>" increase per stream, but as strings "5-10" is not after
// "5-9" in the order of (length, then bytes) that the ids of every sseview
// broker keep, nor is "6-0" after "5-10". A sequence of fixed width makes the
// order of the strings that of the entries: within one length of ms the
// bytes decide, and a longer ms comes later. 20 digits hold any uint64.
const seqDigits = 20

func (a streamID) less(b streamID) bool {
	return a.ms < b.ms || a.ms == b.ms && a.seq < b.seq
}

// String returns the id in Redis's form, as commands take it.
func (a streamID) String() string {
	return strconv.FormatUint(a.ms, 10) + "-" + strconv.FormatUint(a.seq, 10)
}

// eventID returns the id a client sees, after the topic's idPrefix:
// "8x32mk42b0uk.1733040000000-00000000000000000003".
func (a streamID) eventID(prefix string) string {
	seq := strconv.FormatUint(a.seq, 10)
	return prefix + strconv.FormatUint(a.ms, 10) + "-" + strings.Repeat("0", seqDigits-len(seq)) + seq
}

// idPrefix returns what the event ids of the stream key start with: a
// hash of the key in base 36, and a dot. Redis's entry ids are per stream,
// so two topics may have entries of the same id; the prefix keeps their
// event ids apart, and makes an id of another topic (or of another
// KeyPrefix) unknown here rather than a position in this topic.
func idPrefix(key string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return strconv.FormatUint(h.Sum64(), 36) + "."
}

// parseStreamID reads an entry id as Redis writes it.
func parseStreamID(s string) (streamID, error) {
	ms, seq, ok := strings.Cut(s, "-")
	if !ok {
		return streamID{}, errors.New("redisbroker: entry id " + strconv.Quote(s) + " is not <ms>-<seq>")
	}
	a, err1 := strconv.ParseUint(ms, 10, 64)
	b, err2 := strconv.ParseUint(seq, 10, 64)
	if err1 != nil || err2 != nil {
		return streamID{}, errors.New("redisbroker: entry id " + strconv.Quote(s) + " is not <ms>-<seq>")
	}
	return streamID{a, b}, nil
}

// parseEventID accepts only the exact form eventID writes with prefix, so
// that two spellings never name one position.
func parseEventID(prefix, s string) (streamID, bool) {
	s, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return streamID{}, false
	}
	ms, seq, ok := strings.Cut(s, "-")
	if !ok || len(seq) != seqDigits || ms == "" || (ms[0] == '0' && ms != "0") || !digits(ms) || !digits(seq) {
		return streamID{}, false
	}
	a, err1 := strconv.ParseUint(ms, 10, 64)
	b, err2 := strconv.ParseUint(seq, 10, 64)
	if err1 != nil || err2 != nil {
		return streamID{}, false
	}
	return streamID{a, b}, true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
