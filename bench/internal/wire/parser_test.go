package wire

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type got struct{ typ, id, data string }

func parseAll(t *testing.T, r io.Reader) ([]got, int) {
	t.Helper()
	p := NewReader(r)
	var out []got
	for {
		ev, err := p.Next()
		if err == io.EOF {
			return out, p.Comments
		}
		require.NoError(t, err)
		out = append(out, got{string(ev.Type), string(ev.ID), string(ev.Data)})
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     []got
		comments int
	}{
		{"golden multi-line", "data: data\ndata: \ndata:  with\ndata: multiple \ndata: line\ndata: breaks\n\n",
			[]got{{"message", "", "data\n\n with\nmultiple \nline\nbreaks"}}, 0},
		{"trailing LF", "data: LF at end\ndata: \n\n", []got{{"message", "", "LF at end\n"}}, 0},
		{"CR and CRLF ends", "event: a\rdata: x\r\n\rdata:y\n\n", []got{{"a", "", "x"}, {"message", "", "y"}}, 0},
		{"BOM dropped once", "\xEF\xBB\xBFdata: a\n\n", []got{{"message", "", "a"}}, 0},
		{"comments and no-data events", ": ping\n\nevent: EOF\n\nid: 7\ndata\n\n", []got{{"message", "7", ""}}, 1},
		{"id with NUL ignored", "id: 1\ndata: a\n\nid: 2\x00\ndata: b\n\n", []got{{"message", "1", "a"}, {"message", "1", "b"}}, 0},
		{"unterminated event discarded", "data: a\n\ndata: b\n", []got{{"message", "", "a"}}, 0},
		{"no space after colon", "data:x\n\n", []got{{"message", "", "x"}}, 0},
		{"type reset after dispatch", "event: a\ndata: 1\n\ndata: 2\n\n", []got{{"a", "", "1"}, {"message", "", "2"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				evs, comments := parseAll(t, r)
				assert.Equal(t, tt.want, evs)
				assert.Equal(t, tt.comments, comments)
			}
		})
	}
}

func TestReaderLineTooLong(t *testing.T) {
	_, err := NewReader(strings.NewReader("data: " + strings.Repeat("x", MaxLine) + "\n\n")).Next()
	assert.ErrorIs(t, err, ErrLineTooLong)
}

func TestPayloadCheck(t *testing.T) {
	for _, size := range []int{0, 10, 64, 1024, MaxSize} {
		p := Payload(42, 1700000000123456789, size)
		if size >= 30 {
			require.Len(t, p, size)
		}
		seq, ts, err := Check([]byte(p), size, false)
		require.NoError(t, err, "size %d", size)
		assert.EqualValues(t, 42, seq)
		assert.EqualValues(t, 1700000000123456789, ts)
		_, _, err = Check([]byte(`"`+p+`"`), size, true)
		assert.NoError(t, err, "size %d quoted", size)
	}
}

func TestPayloadCheckRejects(t *testing.T) {
	good := Payload(1, 2, 64)
	flipped := []byte(good)
	flipped[40] ^= 1
	tests := []struct {
		name   string
		data   string
		quoted bool
	}{
		{"flipped filler byte", string(flipped), false},
		{"truncated", good[:60], false},
		{"extended", good + "a", false},
		{"no sequence", "x 1 abc", false},
		{"no timestamp", "1", false},
		{"unquoted where JSON is due", good, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Check([]byte(tt.data), 64, tt.quoted)
			assert.ErrorIs(t, err, ErrCorrupt)
		})
	}
}
