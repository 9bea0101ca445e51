package wire

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
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
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
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
		{"no space", "data:x\n\n", []got{{"message", "", "x"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				evs, comments := parseAll(t, r)
				if len(evs) != len(tt.want) {
					t.Fatalf("got %q, want %q", evs, tt.want)
				}
				for i := range evs {
					if evs[i] != tt.want[i] {
						t.Errorf("event %d: got %q, want %q", i, evs[i], tt.want[i])
					}
				}
				if comments != tt.comments {
					t.Errorf("comments: got %d, want %d", comments, tt.comments)
				}
			}
		})
	}
}

func TestPayloadCheck(t *testing.T) {
	for _, size := range []int{0, 10, 64, 1024, MaxSize} {
		p := Payload(42, 1700000000123456789, size)
		if size >= 30 && len(p) != size {
			t.Fatalf("size %d: payload is %d bytes", size, len(p))
		}
		seq, ts, err := Check([]byte(p), size, false)
		if err != nil || seq != 42 || ts != 1700000000123456789 {
			t.Fatalf("size %d: Check = %d, %d, %v", size, seq, ts, err)
		}
		if _, _, err := Check([]byte(`"`+p+`"`), size, true); err != nil {
			t.Fatalf("size %d quoted: %v", size, err)
		}
	}
	p := []byte(Payload(1, 2, 64))
	p[40] ^= 1
	if _, _, err := Check(p, 64, false); err == nil {
		t.Fatal("a flipped filler byte passed the check")
	}
	if _, _, err := Check([]byte(Payload(1, 2, 64)[:60]), 64, false); err == nil {
		t.Fatal("a truncated payload passed the check")
	}
}
