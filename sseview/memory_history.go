package sseview

import "sort"

// history is a topic's kept events, oldest first, for resume: a ring
// bounded by MaxEvents and MaxAge, and the keys of the keyed events it
// keeps. Its topic's lock guards it.
type history struct {
	ring    []memEntry // circular; grows up to MaxEvents
	head    int        // index of the oldest event
	n       int        // number of events kept
	lastSeq uint64     // the newest event ever published here
	evicted uint64     // the newest event evicted; resuming before it is a reset
	// keys maps the key of each keyed event kept to its sequence number:
	// the memory broker's duplicate window is its history. Nil until a
	// keyed event is kept.
	keys map[string]uint64
}

type memEntry struct {
	seq uint64
	at  int64 // broker clock at publish
	enc *Encoded
	key string // "" when published without one
}

func (h *history) entry(i int) *memEntry { return &h.ring[(h.head+i)%len(h.ring)] }

func (h *history) evictOldest() {
	e := h.entry(0)
	h.evicted = e.seq
	if e.key != "" {
		delete(h.keys, e.key)
	}
	*e = memEntry{}
	h.head = (h.head + 1) % len(h.ring)
	h.n--
	if h.n == 0 {
		// Release the ring and keys of a topic gone quiet.
		h.ring, h.head, h.keys = nil, 0, nil
	}
}

// evictAged drops the events older than maxAge (nanoseconds, -1 none).
func (h *history) evictAged(now, maxAge int64) {
	if maxAge < 0 {
		return
	}
	for h.n > 0 && now-h.entry(0).at > maxAge {
		h.evictOldest()
	}
}

// push keeps e as the newest event, evicting the oldest beyond maxEvents.
func (h *history) push(e memEntry, maxEvents int) {
	for h.n >= maxEvents {
		h.evictOldest()
	}
	if h.n == len(h.ring) {
		grown := make([]memEntry, min(max(2*len(h.ring), 8), maxEvents))
		for i := range h.n {
			grown[i] = *h.entry(i)
		}
		h.ring, h.head = grown, 0
	}
	h.ring[(h.head+h.n)%len(h.ring)] = e
	h.n++
	h.lastSeq = e.seq
	if e.key != "" {
		if h.keys == nil {
			h.keys = make(map[string]uint64)
		}
		h.keys[e.key] = e.seq
	}
}

// keyed returns the sequence number of the kept event published with key.
func (h *history) keyed(key string) (uint64, bool) {
	seq, ok := h.keys[key]
	return seq, ok
}

// firstAfter returns the index of the oldest kept event newer than seq.
func (h *history) firstAfter(seq uint64) int {
	return sort.Search(h.n, func(i int) bool { return h.entry(i).seq > seq })
}
