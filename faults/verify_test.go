package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

var t0 = time.Date(2026, time.July, 14, 12, 0, 0, 0, time.UTC)

// reading is the stored event id of topic "t" whose reading is slot s.
func reading(id string, s int) storedEvent {
	return storedEvent{Topic: "t", ID: id, Data: fmt.Sprintf(`{"time":%q,"temperature_c":20}`, t0.Add(time.Duration(s)*time.Second).Format(time.RFC3339))}
}

// got is what a stream received: ids on connection 1, then "|" starts
// the next connection; each id's reading is looked up in stored.
func got(stored []storedEvent, ids ...string) []received {
	var rs []received
	conn := 1
	for _, id := range ids {
		if id == "|" {
			conn++
			continue
		}
		r := received{Type: "weather", ID: id, Conn: conn}
		for _, e := range stored {
			if e.ID == id {
				r.Reading = readingTime(e.Data)
			}
		}
		rs = append(rs, r)
	}
	return rs
}

func TestCheck(t *testing.T) {
	four := []storedEvent{reading("1", 0), reading("2", 1), reading("3", 2), reading("4", 3)}
	copied := []storedEvent{reading("1", 0), reading("2", 1), reading("3", 1), reading("4", 2)}
	older := []storedEvent{reading("1", 0), reading("2", 2), reading("3", 1)}
	tests := []struct {
		name   string
		stored []storedEvent
		got    []received
		want   map[string]int
	}{
		{"every event once, across reconnects", four, got(four, "1", "2", "|", "3", "4"), map[string]int{}},
		{"a reading stored twice reaches a resumed stream twice", copied, got(copied, "1", "2", "|", "3", "4"),
			map[string]int{copies: 1, duplicated: 1}},
		{"an id twice", four, got(four, "1", "2", "|", "2", "3", "4"), map[string]int{duplicated: 1}},
		{"a stored event skipped", four, got(four, "1", "|", "3", "4"), map[string]int{lost: 1}},
		{"the store's newest never reached", four, got(four, "1", "2"), map[string]int{lost: 2}},
		{"ids out of order", four, got(four, "1", "3", "2", "4"), map[string]int{reordered: 1, lost: 1}},
		{"a slot never stored", []storedEvent{reading("1", 0), reading("2", 1), reading("4", 3)},
			got(four, "1", "2", "4"), map[string]int{lost: 1}},
		{"a reading older than the last one", older, got(older, "1", "2", "3"), map[string]int{reordered: 1}},
		{"an id the broker does not hold", four, append(got(four, "1", "2", "3", "4"), received{Type: "weather", ID: "99", Conn: 1}),
			map[string]int{unknownID: 1}},
		{"a reset, then the view's refresh on the same connection", four,
			append(got(four, "1"), received{Type: "sseview-reset", ID: "2", Conn: 2},
				received{Type: "weather", ID: "2", Conn: 2, Reading: t0.Add(time.Second)},
				received{Type: "weather", ID: "3", Conn: 2, Reading: t0.Add(2 * time.Second)},
				received{Type: "weather", ID: "4", Conn: 2, Reading: t0.Add(3 * time.Second)}),
			map[string]int{resets: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			upTo := map[string]string{"t": tt.stored[len(tt.stored)-1].ID}
			found := check(tt.stored, upTo, []streamLog{{Client: 1, Topic: "t", Got: tt.got}}, time.Second, t0.Add(time.Minute))
			count := map[string]int{}
			for _, a := range found {
				count[a.Kind]++
			}
			assert.Equal(t, tt.want, count, "%v", found)
		})
	}
}

func TestReportFailsOnAnyCount(t *testing.T) {
	phases := []*phase{{name: "steady", start: t0}, {name: "fault", start: t0.Add(time.Minute), lasted: time.Second, recover: time.Second}}
	var out fmtBuffer
	assert.True(t, report(&out, phases, []anomaly{{At: t0.Add(2 * time.Minute), Kind: copies, Client: -1}}),
		"an extra stored copy alone is the cause to show, not a failure: no stream saw it twice")
	assert.Contains(t, out.String(), "PASS")
	out.Reset()
	assert.False(t, report(&out, phases, []anomaly{{At: t0.Add(2 * time.Minute), Kind: duplicated, Client: 3}}))
	assert.Regexp(t, `fault +1s +1s +0 +1 +0`, out.String(), "counted in the phase it happened in")
	out.Reset()
	phases[1].failed = "not every stream recovered in 1m0s"
	assert.False(t, report(&out, phases, nil))
	assert.Contains(t, out.String(), "FAILED")
}
