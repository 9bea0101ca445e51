//go:build !race

package sseview

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// What the encoder spends on an event does not depend on its kind: a
// Bytes and a JSON of a pointer encode into the caller's buffer with no
// allocation. (Not run under the race detector, whose sync.Pool drops
// what it is given at random.)
func TestBytesAndJSONEncodeWithoutAllocating(t *testing.T) {
	buf := make([]byte, 0, 4096)
	p := &point{Lat: 40.71, Lng: -74.01}
	events := []Event{
		&Bytes{Type: "b", ID: "1", Data: []byte(strings.Repeat("x", 1024))},
		&Bytes{Data: []byte("many\nlines\r\nwith\rbreaks\n")},
		&JSON{Type: "j", ID: "2", Data: p},
		&JSON{Data: p},
	}
	for _, ev := range events {
		allocs := testing.AllocsPerRun(100, func() {
			var err error
			buf, err = appendEvent(buf[:0], ev)
			if err != nil {
				panic(err)
			}
		})
		assert.Zero(t, allocs, "%#v", ev)
	}
}
