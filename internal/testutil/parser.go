package testutil

import (
	"io"
	"time"

	"github.com/sseview/sseview/internal/eventstream"
)

// The parser lives in internal/eventstream, where the public test kit can
// use it too; these names keep the tests that reach it through testutil
// compiling unchanged.

// Event is [eventstream.Event].
type Event = eventstream.Event

// Parser is [eventstream.Parser].
type Parser = eventstream.Parser

// NewParser is [eventstream.NewParser].
func NewParser(r io.Reader) *Parser { return eventstream.NewParser(r) }

// NewResumedParser is [eventstream.NewResumedParser].
func NewResumedParser(r io.Reader, lastEventID string) *Parser {
	return eventstream.NewResumedParser(r, lastEventID)
}

// ParseString is [eventstream.ParseString].
func ParseString(s string) (events []Event, retry time.Duration, retrySet bool) {
	return eventstream.ParseString(s)
}

// DecodeUTF8 is [eventstream.DecodeUTF8].
func DecodeUTF8(b []byte) string { return eventstream.DecodeUTF8(b) }
