package eventstream

import (
	"bytes"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is one dispatched event as an EventSource would deliver it.
type Event struct {
	Type        string // the event type; "message" when the stream set none
	Data        string // the data buffer with the one trailing LF removed
	LastEventID string // the last event ID at dispatch time (carried forward from earlier events)
}

// Parser runs the WHATWG "interpreting an event stream" algorithm over a byte
// stream, step by step as the standard words it, so that it can serve as an
// oracle for what a browser sees.
//
// Bytes are decoded with the WHATWG Encoding Standard's "UTF-8 decode": one
// leading BOM is dropped and every maximal invalid subpart becomes a single
// U+FFFD. Go's own decoders differ (utf8.DecodeRune, range loops and []rune
// give one U+FFFD per invalid byte; strings.ToValidUTF8 one per run), so the
// decoder is written out here; see [DecodeUTF8].
//
// Lines are processed as soon as their terminator arrives: a CR ends a line at
// once, and an LF that follows it, even in a later Read, is swallowed. The
// parser therefore never blocks waiting to find out whether an LF follows.
//
// A Parser is not safe for concurrent use.
type Parser struct {
	// Comment, if set, is called with the text of each comment line: every
	// character after the leading ':' exactly as decoded, with NO space
	// removed (": ping" gives " ping"), since the standard ignores comments
	// and an oracle should not invent a rule for them. It is called from
	// within Next, in stream order, and only for complete lines.
	Comment func(text string)

	r    io.Reader
	buf  []byte
	pos  int
	end  int
	rerr error // the error from the last Read, reported once buf is drained

	// UTF-8 decoder state, named as in the Encoding Standard.
	needed, seen int
	codePoint    rune
	lower, upper byte
	started      bool // whether the first code point (a possible BOM) has been seen

	line    []byte // the current line, re-encoded as UTF-8
	afterCR bool   // the previous character was a CR, so an LF now is not a new line

	data       []byte
	eventType  string
	lastIDBuf  string // the "last event ID buffer"
	sourceLast string // the event source's "last event ID string"
	retry      time.Duration
	retrySet   bool

	// The retry field of the block being read, and of the block of the
	// event Next last returned; see EventRetry.
	blockRetry, eventRetry       time.Duration
	blockRetrySet, eventRetrySet bool
}

// NewParser returns a Parser reading the event stream from r, with every
// buffer initialized to the empty string as the standard prescribes for a
// new stream.
func NewParser(r io.Reader) *Parser {
	return NewResumedParser(r, "")
}

// NewResumedParser is like NewParser but starts the last event ID buffer at
// lastEventID, modelling a reconnected EventSource. Read literally, the
// standard starts every stream's buffer empty, so the first id-less event of a
// reconnected stream would reset the ID. Real clients in practice carry the
// ID they sent as Last-Event-ID into the new stream instead, and this
// constructor lets tests model that.
func NewResumedParser(r io.Reader, lastEventID string) *Parser {
	return &Parser{
		r:          r,
		buf:        make([]byte, 4096),
		lower:      0x80,
		upper:      0xBF,
		lastIDBuf:  lastEventID,
		sourceLast: lastEventID,
	}
}

// Next returns the next dispatched event. At the end of the stream it returns
// io.EOF: an event not terminated by a blank line is discarded, as is an
// unterminated last line (so its fields, even retry, have no effect). Other
// read errors are returned as they are, and every later call returns the same
// error.
func (p *Parser) Next() (Event, error) {
	for {
		for p.pos < p.end {
			cp, ok, consumed := p.decode(p.buf[p.pos])
			if consumed {
				p.pos++
			}
			if !ok {
				continue
			}
			if ev, dispatched := p.char(cp); dispatched {
				return ev, nil
			}
		}
		if p.rerr != nil {
			if p.rerr == io.EOF && p.needed != 0 {
				// The Encoding Standard's end-of-queue step. The U+FFFD can
				// only land in an unterminated line, which is then dropped,
				// but the step is kept so the decoder stays exact.
				p.needed = 0
				p.char(utf8.RuneError)
			}
			return Event{}, p.rerr
		}
		n, err := p.r.Read(p.buf)
		p.pos, p.end, p.rerr = 0, n, err
	}
}

// Retry returns the reconnection time set by the last valid retry field, and
// whether one was set. The field takes effect when its line is processed, not
// at dispatch, so it counts even if its event is never dispatched. The
// standard puts no bound on the integer; values beyond what time.Duration
// holds saturate at the largest whole number of milliseconds it can hold.
func (p *Parser) Retry() (time.Duration, bool) {
	return p.retry, p.retrySet
}

// EventRetry returns the reconnection time set by a valid retry field in the
// block of the event Next last returned (the lines since the dispatch before
// it), and whether that block had one. The standard ties retry to no event:
// the field takes effect at once, and [Parser.Retry] is what counts for
// reconnecting. This is for tests of an encoder that writes retry as a field
// of an event, which want to see it arrive with that event. A retry in a
// block without data dispatches nothing, so only Retry sees it.
func (p *Parser) EventRetry() (time.Duration, bool) {
	return p.eventRetry, p.eventRetrySet
}

// LastEventID returns the parser's current last event ID buffer. It follows
// every accepted id field at once, including one in an event that has not
// been (and may never be) dispatched; see [Parser.ReconnectID] for the value
// a browser would send back.
func (p *Parser) LastEventID() string {
	return p.lastIDBuf
}

// ReconnectID returns the event source's last event ID string: the last event
// ID buffer as it stood at the most recent dispatch. It is what a browser
// sends as Last-Event-ID when it reconnects. Dispatch updates it even when no
// event fires (a blank line after an id-only block), but an incomplete block
// cut off by the end of the stream never reaches it.
func (p *Parser) ReconnectID() string {
	return p.sourceLast
}

// ParseString parses a whole stream held in s: every dispatched event, the
// final retry (0, false if none). The reader never fails, so the only error
// is io.EOF, which ends the stream.
func ParseString(s string) (events []Event, retry time.Duration, retrySet bool) {
	p := NewParser(strings.NewReader(s))
	for {
		ev, err := p.Next()
		if err != nil {
			break
		}
		events = append(events, ev)
	}
	retry, retrySet = p.Retry()
	return events, retry, retrySet
}

// DecodeUTF8 decodes b with the WHATWG Encoding Standard's "UTF-8 decode":
// one leading BOM is removed and each maximal invalid subpart (and a
// truncated sequence at the end) becomes one U+FFFD. It is the decoding the
// Parser applies to the stream, exposed so tests can predict a browser's text.
func DecodeUTF8(b []byte) string {
	p := NewParser(nil)
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF")) // the standard strips the BOM as bytes
	var out []byte
	for i := 0; i < len(b); {
		cp, ok, consumed := p.decode(b[i])
		if consumed {
			i++
		}
		if ok {
			out = utf8.AppendRune(out, cp)
		}
	}
	if p.needed != 0 {
		out = utf8.AppendRune(out, utf8.RuneError)
	}
	return string(out)
}

// decode feeds one byte to the Encoding Standard's UTF-8 decoder. It reports
// the code point if one is complete (ok), and whether the byte was consumed:
// when a sequence is broken by a byte that cannot continue it, the standard
// emits U+FFFD and then processes that byte again as the start of something
// new, which is what makes the U+FFFD count per maximal subpart.
func (p *Parser) decode(b byte) (cp rune, ok, consumed bool) {
	if p.needed == 0 {
		switch {
		case b <= 0x7F:
			return rune(b), true, true
		case b >= 0xC2 && b <= 0xDF:
			p.needed = 1
			p.codePoint = rune(b & 0x1F)
		case b >= 0xE0 && b <= 0xEF:
			if b == 0xE0 {
				p.lower = 0xA0
			}
			if b == 0xED {
				p.upper = 0x9F
			}
			p.needed = 2
			p.codePoint = rune(b & 0xF)
		case b >= 0xF0 && b <= 0xF4:
			if b == 0xF0 {
				p.lower = 0x90
			}
			if b == 0xF4 {
				p.upper = 0x8F
			}
			p.needed = 3
			p.codePoint = rune(b & 0x7)
		default:
			return utf8.RuneError, true, true
		}
		return 0, false, true
	}
	if b < p.lower || b > p.upper {
		p.codePoint, p.needed, p.seen = 0, 0, 0
		p.lower, p.upper = 0x80, 0xBF
		return utf8.RuneError, true, false
	}
	p.lower, p.upper = 0x80, 0xBF
	p.codePoint = p.codePoint<<6 | rune(b&0x3F)
	p.seen++
	if p.seen != p.needed {
		return 0, false, true
	}
	cp = p.codePoint
	p.codePoint, p.needed, p.seen = 0, 0, 0
	return cp, true, true
}

// char takes one decoded code point through BOM removal and line splitting,
// and reports an event if the line it completes dispatched one.
func (p *Parser) char(c rune) (Event, bool) {
	if !p.started {
		p.started = true
		if c == '\uFEFF' {
			return Event{}, false
		}
	}
	if p.afterCR {
		p.afterCR = false
		if c == '\n' {
			return Event{}, false
		}
	}
	switch c {
	case '\r':
		p.afterCR = true
		return p.processLine()
	case '\n':
		return p.processLine()
	}
	p.line = utf8.AppendRune(p.line, c)
	return Event{}, false
}

func (p *Parser) processLine() (Event, bool) {
	line := string(p.line)
	p.line = p.line[:0]
	switch {
	case line == "":
		return p.dispatch()
	case line[0] == ':':
		if p.Comment != nil {
			p.Comment(line[1:])
		}
		return Event{}, false
	}
	field, value, found := strings.Cut(line, ":")
	if found {
		value = strings.TrimPrefix(value, " ") // exactly one space
	}
	switch field {
	case "event":
		p.eventType = value
	case "data":
		p.data = append(p.data, value...)
		p.data = append(p.data, '\n')
	case "id":
		if !strings.ContainsRune(value, 0) {
			p.lastIDBuf = value
		}
	case "retry":
		if ms, ok := parseDigits(value); ok {
			p.retry, p.retrySet = ms, true
			p.blockRetry, p.blockRetrySet = ms, true
		}
	}
	return Event{}, false
}

// maxRetryMillis is the largest whole number of milliseconds a time.Duration
// can hold.
const maxRetryMillis = math.MaxInt64 / int64(time.Millisecond)

// parseDigits interprets a non-empty string of ASCII digits as base-ten
// milliseconds. The standard says "consists of only ASCII digits", which an
// empty value satisfies vacuously, but browsers and web-platform-tests
// (format-field-retry-empty) ignore an empty retry, and so does this.
func parseDigits(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	var ms int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if ms <= maxRetryMillis {
			ms = ms*10 + int64(c-'0')
		}
	}
	ms = min(ms, maxRetryMillis)
	return time.Duration(ms) * time.Millisecond, true
}

// dispatch is the standard's "dispatch the event" steps.
func (p *Parser) dispatch() (Event, bool) {
	p.sourceLast = p.lastIDBuf
	blockRetry, blockRetrySet := p.blockRetry, p.blockRetrySet
	p.blockRetry, p.blockRetrySet = 0, false
	if len(p.data) == 0 {
		p.eventType = ""
		return Event{}, false
	}
	p.eventRetry, p.eventRetrySet = blockRetry, blockRetrySet
	data := strings.TrimSuffix(string(p.data), "\n")
	typ := p.eventType
	if typ == "" {
		typ = "message"
	}
	p.data = p.data[:0]
	p.eventType = ""
	return Event{Type: typ, Data: data, LastEventID: p.sourceLast}, true
}
