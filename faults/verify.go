package main

import (
	"fmt"
	"slices"
	"time"
)

// The kinds of anomaly. The first three are what the table's columns count
// and what fails the run; the others fail it too but are rarer.
const (
	lost       = "lost"       // a stored event a stream skipped, or a slot of the grid never stored
	duplicated = "duplicated" // a reading or id a stream had already received
	reordered  = "reordered"  // an id not after the previous one, or a reading not newer
	copies     = "copies"     // an extra stored copy of a reading (the cause of duplicates)
	resets     = "resets"     // a reset event: the broker could not resume a stream
	unknownID  = "unknown-id" // an id the broker does not hold
)

// anomaly is one thing a stream or the store got wrong.
type anomaly struct {
	At     time.Time // when it happened: when the event arrived, or the reading's slot
	Kind   string
	Client int // -1 for the store
	Detail string
}

// streamLog is what one client received.
type streamLog struct {
	Client int
	Topic  string
	Got    []received
}

// check compares every stream with what the broker stored. stored is every
// stored event in id order; upTo is, per topic, the id of the newest event
// every stream of the topic must have reached (the streams were stopped
// only after they had); every is the grid's interval: between the first and
// the newest stored reading of a topic, every slot must be stored.
func check(stored []storedEvent, upTo map[string]string, streams []streamLog, every time.Duration, end time.Time) []anomaly {
	type position struct {
		topic string
		pos   int
	}
	byTopic := map[string][]storedEvent{}
	index := map[string]position{}
	for _, e := range stored {
		index[e.ID] = position{e.Topic, len(byTopic[e.Topic])}
		byTopic[e.Topic] = append(byTopic[e.Topic], e)
	}
	var found []anomaly
	add := func(at time.Time, kind string, client int, format string, args ...any) {
		found = append(found, anomaly{At: at, Kind: kind, Client: client, Detail: fmt.Sprintf(format, args...)})
	}

	// The store: every slot once.
	for topic, events := range byTopic {
		limit, ok := index[upTo[topic]]
		if !ok {
			continue // no stream watched it
		}
		held := map[time.Time]int{}
		var first, newest time.Time
		for _, e := range events[:limit.pos+1] {
			t := readingTime(e.Data)
			if t.IsZero() {
				continue
			}
			if held[t]++; held[t] > 1 {
				add(t, copies, -1, "%s: reading %s stored again as %s", topic, t.Format(time.TimeOnly), e.ID)
			}
			if first.IsZero() || t.Before(first) {
				first = t
			}
			if t.After(newest) {
				newest = t
			}
		}
		for t := first; !first.IsZero() && !t.After(newest); t = t.Add(every) {
			if held[t] == 0 {
				add(t, lost, -1, "%s: the reading of %s was never stored", topic, t.Format(time.TimeOnly))
			}
		}
	}

	// Each stream against the store.
	for _, s := range streams {
		events := byTopic[s.Topic]
		seenID := map[string]bool{}
		seenReading := map[time.Time]bool{}
		prev := -1
		var prevReading time.Time
		var reset received // the last reset, so that the reading the view sends after it is known
		for _, r := range s.Got {
			if r.Type == "sseview-reset" {
				add(r.At, resets, s.Client, "%s: reset to %s", s.Topic, r.ID)
				reset = r
				if p, ok := index[r.ID]; ok && p.topic == s.Topic {
					prev = max(prev, p.pos)
				}
				continue
			}
			if r.Type != "weather" {
				continue
			}
			if reset.Conn == r.Conn && reset.ID == r.ID {
				// The view's own refresh after a reset: it carries no id
				// of its own.
				if seenReading[r.Reading] {
					add(r.At, duplicated, s.Client, "%s: reading %s again after a reset", s.Topic, r.Reading.Format(time.TimeOnly))
				}
				seenReading[r.Reading] = true
				prevReading = later(prevReading, r.Reading)
				continue
			}
			p, ok := index[r.ID]
			if !ok || p.topic != s.Topic {
				add(r.At, unknownID, s.Client, "%s: id %q is not stored for the topic", s.Topic, r.ID)
				continue
			}
			if seenID[r.ID] {
				add(r.At, duplicated, s.Client, "%s: id %s again", s.Topic, r.ID)
				continue
			}
			seenID[r.ID] = true
			dup := seenReading[r.Reading]
			if dup {
				add(r.At, duplicated, s.Client, "%s: reading %s again, as id %s", s.Topic, r.Reading.Format(time.TimeOnly), r.ID)
			}
			seenReading[r.Reading] = true
			switch {
			case p.pos <= prev:
				add(r.At, reordered, s.Client, "%s: id %s after id %s", s.Topic, r.ID, events[prev].ID)
			case !dup && !r.Reading.After(prevReading):
				add(r.At, reordered, s.Client, "%s: reading %s after %s", s.Topic, r.Reading.Format(time.TimeOnly), prevReading.Format(time.TimeOnly))
			}
			if prev >= 0 {
				for q := prev + 1; q < p.pos; q++ {
					if !seenID[events[q].ID] {
						add(r.At, lost, s.Client, "%s: stored id %s skipped", s.Topic, events[q].ID)
					}
				}
			}
			prev = max(prev, p.pos)
			prevReading = later(prevReading, r.Reading)
		}
		if limit, ok := index[upTo[s.Topic]]; ok && prev >= 0 {
			for q := prev + 1; q <= limit.pos; q++ {
				add(end, lost, s.Client, "%s: stored id %s never reached the stream", s.Topic, events[q].ID)
			}
		}
	}
	slices.SortStableFunc(found, func(a, b anomaly) int { return a.At.Compare(b.At) })
	return found
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
