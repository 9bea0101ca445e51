package testutil

import (
	"io"
	"time"

	"github.com/sseview/sseview/internal/eventstream"
)

// The parser lives in internal/eventstream; these names keep the tests of
// examples/board and internal/datastarcompat compiling until they use it
// directly.

// Event is [eventstream.Event].
type Event = eventstream.Event

// NewParser is [eventstream.NewParser].
func NewParser(r io.Reader) *eventstream.Parser { return eventstream.NewParser(r) }

// ParseString is [eventstream.ParseString].
func ParseString(s string) (events []Event, retry time.Duration, retrySet bool) {
	return eventstream.ParseString(s)
}
