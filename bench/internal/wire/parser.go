package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Event is one dispatched event. Its slices are valid until the next call
// to [Reader.Next].
type Event struct {
	Type []byte // "message" when the stream set none
	ID   []byte // the last event ID in force after this event
	Data []byte
}

// Reader parses an event stream as the WHATWG "interpreting an event
// stream" algorithm does: CR, LF and CRLF line ends, one leading BOM
// dropped, comments skipped, one space after the colon removed, data lines
// joined with LF, an id with NUL ignored, an event without data not
// dispatched, and an unterminated event at the end discarded.
type Reader struct {
	r         io.Reader
	buf       []byte
	start     int
	end       int
	pendingCR bool // the last line ended in CR: a LF right after it belongs to it
	started   bool
	eof       bool

	data    []byte
	hasData bool
	typ     []byte
	id      []byte
	out     Event
	outType []byte

	// Comments counts comment lines (keep-alives among them).
	Comments int
	// Bytes counts the bytes read from the stream, and Reads the reads.
	Bytes int64
	Reads int64
}

// MaxLine bounds one line, so a broken server cannot make the client buffer
// without limit.
const MaxLine = 1 << 20

// ErrLineTooLong is returned for a line longer than [MaxLine].
var ErrLineTooLong = errors.New("wire: line too long")

var messageType = []byte("message")

// NewReader returns a parser reading r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: r, buf: make([]byte, 16<<10)}
}

// Next returns the next dispatched event, or io.EOF when the stream ends
// cleanly, or the read error.
func (p *Reader) Next() (*Event, error) {
	for {
		line, err := p.line()
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			if !p.hasData {
				p.typ = p.typ[:0]
				continue
			}
			p.out.Data = p.data
			if n := len(p.out.Data); n > 0 && p.out.Data[n-1] == '\n' {
				p.out.Data = p.out.Data[:n-1]
			}
			p.out.Type = messageType
			if len(p.typ) > 0 {
				// Copied, so that resetting the type below leaves it valid.
				p.outType = append(p.outType[:0], p.typ...)
				p.out.Type = p.outType
			}
			p.out.ID = p.id
			p.hasData = false
			p.data = p.data[:0]
			p.typ = p.typ[:0]
			return &p.out, nil
		}
		if line[0] == ':' {
			p.Comments++
			continue
		}
		name, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			name, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(name) {
		case "data":
			p.data = append(p.data, value...)
			p.data = append(p.data, '\n')
			p.hasData = true
		case "event":
			p.typ = append(p.typ[:0], value...)
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				p.id = append(p.id[:0], value...)
			}
		}
	}
}

// line returns the next line without its end. The returned slice is valid
// until the next call.
func (p *Reader) line() ([]byte, error) {
	for {
		if p.pendingCR && p.start < p.end {
			if p.buf[p.start] == '\n' {
				p.start++
			}
			p.pendingCR = false
		}
		if !p.started && p.end-p.start >= 3 {
			p.started = true
			if bytes.HasPrefix(p.buf[p.start:p.end], []byte("\xEF\xBB\xBF")) {
				p.start += 3
			}
		}
		if p.start < p.end && (p.started || p.eof) {
			chunk := p.buf[p.start:p.end]
			lf := bytes.IndexByte(chunk, '\n')
			search := chunk
			if lf >= 0 {
				search = chunk[:lf]
			}
			if cr := bytes.IndexByte(search, '\r'); cr >= 0 {
				p.start += cr + 1
				p.pendingCR = true
				return chunk[:cr], nil
			}
			if lf >= 0 {
				p.start += lf + 1
				return chunk[:lf], nil
			}
		}
		if p.eof {
			// An unterminated last line, and the event it belongs to, are
			// discarded.
			return nil, io.EOF
		}
		if err := p.fill(); err != nil {
			if errors.Is(err, io.EOF) {
				p.eof = true
				continue
			}
			return nil, err
		}
	}
}

func (p *Reader) fill() error {
	if p.start > 0 {
		p.end = copy(p.buf, p.buf[p.start:p.end])
		p.start = 0
	}
	if p.end == len(p.buf) {
		if len(p.buf) >= MaxLine {
			return fmt.Errorf("%w: over %d bytes", ErrLineTooLong, MaxLine)
		}
		nb := make([]byte, 2*len(p.buf))
		copy(nb, p.buf[:p.end])
		p.buf = nb
	}
	n, err := p.r.Read(p.buf[p.end:])
	p.Reads++
	p.end += n
	p.Bytes += int64(n)
	if n > 0 && !p.started && p.end >= 3 {
		return nil
	}
	if err != nil {
		if n > 0 && errors.Is(err, io.EOF) {
			p.eof = true
			return nil
		}
		return err
	}
	return nil
}
