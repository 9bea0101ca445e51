// Package wire holds what the bench server and its load client agree on:
// the payload every event carries, and a fast event-stream parser that
// follows the WHATWG rules.
package wire

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// filler is the fixed pattern that pads every payload: cheap to check with
// one bytes.Equal, and free of anything JSON or the event-stream format
// would escape or split (no quotes, backslashes, <, >, &, CR, LF).
var filler = strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", 1<<15/36+1)

// MaxSize is the largest payload Payload makes.
const MaxSize = 1 << 15

// Payload returns the data of event seq: "<seq> <unix nanos> <filler>",
// padded with the filler to size bytes (longer when the header alone is
// longer). A negative seq marks a warm-up event.
func Payload(seq int64, unixNano int64, size int) string {
	return string(AppendPayload(make([]byte, 0, max(size, 48)), seq, unixNano, size))
}

// AppendPayload appends the data of event seq, as Payload makes it, to b:
// with a buffer that is reused, making a payload allocates nothing.
func AppendPayload(b []byte, seq int64, unixNano int64, size int) []byte {
	start := len(b)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, unixNano, 10)
	b = append(b, ' ')
	n := max(size-(len(b)-start), 0)
	return append(b, filler[:n]...)
}

// ErrCorrupt is wrapped by every error about a payload that did not arrive
// as it was sent.
var ErrCorrupt = errors.New("wire: corrupt payload")

// Check parses a payload made by Payload and verifies its filler. size is
// the size it was made with; 0 skips the length check. When quoted is set
// the payload must arrive as a JSON string (go-chi/render sends JSON).
func Check(data []byte, size int, quoted bool) (seq, unixNano int64, err error) {
	if quoted {
		if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
			return 0, 0, fmt.Errorf("%w: not a JSON string: %.40q", ErrCorrupt, data)
		}
		data = data[1 : len(data)-1]
	}
	i := bytes.IndexByte(data, ' ')
	if i <= 0 {
		return 0, 0, fmt.Errorf("%w: no sequence number: %.40q", ErrCorrupt, data)
	}
	seq, err = strconv.ParseInt(string(data[:i]), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: sequence number: %v", ErrCorrupt, err)
	}
	rest := data[i+1:]
	j := bytes.IndexByte(rest, ' ')
	if j <= 0 {
		return 0, 0, fmt.Errorf("%w: no timestamp in event %d", ErrCorrupt, seq)
	}
	unixNano, err = strconv.ParseInt(string(rest[:j]), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: timestamp of event %d: %v", ErrCorrupt, seq, err)
	}
	pad := rest[j+1:]
	if len(pad) > len(filler) || string(pad) != filler[:len(pad)] {
		return 0, 0, fmt.Errorf("%w: filler of event %d differs", ErrCorrupt, seq)
	}
	if size > 0 && i+1+j+1+len(pad) != max(size, i+1+j+1) {
		return 0, 0, fmt.Errorf("%w: event %d is %d bytes, sent %d", ErrCorrupt, seq, i+1+j+1+len(pad), size)
	}
	return seq, unixNano, nil
}
