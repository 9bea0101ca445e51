package sseview

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type point struct {
	Lat, Lng float64
}

// upper is a user-defined event kind.
type upper struct{ s string }

func (u upper) MarshalEvent() (Text, error) {
	return Text{Type: "upper", Data: strings.ToUpper(u.s)}, nil
}

func TestEncodeGolden(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
		wire string
	}{
		{"plain data", Text{Data: "hello"}, "data: hello\n\n"},
		{"empty data still dispatches", Text{}, "data: \n\n"},
		{"all fields", Text{Type: "weather", ID: "42", Data: "x", Retry: 2500 * time.Millisecond},
			"event: weather\nid: 42\nretry: 2500\ndata: x\n\n"},
		// The two vectors from .NET's SseFormatter tests (SSE-NOTES.md).
		{"mixed line breaks", Text{Data: "data\n\r with\nmultiple \rline\r\nbreaks"},
			"data: data\ndata: \ndata:  with\ndata: multiple \ndata: line\ndata: breaks\n\n"},
		{"trailing LF", Text{Data: "LF at end\n"}, "data: LF at end\ndata: \n\n"},
		{"CRLF is one break", Text{Data: "a\r\nb"}, "data: a\ndata: b\n\n"},
		{"lone CR", Text{Data: "a\rb"}, "data: a\ndata: b\n\n"},
		{"CR at end", Text{Data: "a\r"}, "data: a\ndata: \n\n"},
		{"only a break", Text{Data: "\n"}, "data: \ndata: \n\n"},
		{"leading space kept by the one-space rule", Text{Data: " x", Type: " t"}, "event:  t\ndata:  x\n\n"},
		{"colon in value", Text{Type: "a:b", ID: "c:d", Data: "e: f"}, "event: a:b\nid: c:d\ndata: e: f\n\n"},
		{"NUL in data is delivered", Text{Data: "a\x00b"}, "data: a\x00b\n\n"},
		{"BOM in data is a character", Text{Data: "\ufeffx"}, "data: \ufeffx\n\n"},
		{"unicode", Text{Data: "héllo ☀"}, "data: héllo ☀\n\n"},
		{"json", JSON{Type: "weather", ID: "1", Data: point{Lat: 40.71, Lng: -74.01}},
			"event: weather\nid: 1\ndata: {\"Lat\":40.71,\"Lng\":-74.01}\n\n"},
		{"json null, the seed's ping", JSON{Type: "ping", Data: nil}, "event: ping\ndata: null\n\n"},
		{"json string with line breaks stays one line", JSON{Data: "a\nb"}, "data: \"a\\nb\"\n\n"},
		{"comment", Comment("keep-alive"), ": keep-alive\n"},
		{"multi-line comment", Comment("a\nb\r\nc"), ": a\n: b\n: c\n"},
		{"empty comment", Comment(""), ": \n"},
		{"custom kind", upper{"shout"}, "event: upper\ndata: SHOUT\n\n"},
		{"encoded", mustEncode(t, Text{ID: "7", Data: "once"}), "id: 7\ndata: once\n\n"},
		{"id at the edge of the id rule", Text{ID: edgeID, Data: "x"}, "id: " + edgeID + "\ndata: x\n\n"},
		{"id with a C1 control, not an ASCII one", Text{ID: "a\u0085b", Data: "x"}, "id: a\u0085b\ndata: x\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := appendEvent([]byte("prefix|"), tt.ev)
			require.NoError(t, err)
			assert.Equal(t, "prefix|"+tt.wire, string(b))
		})
	}
}

// edgeID is as long as an id may be, in non-ASCII UTF-8 with spaces inside.
var edgeID = strings.Repeat("☀ ", 51) + strings.Repeat("é", 26)

func mustEncode(t *testing.T, e Event) *Encoded {
	t.Helper()
	enc, err := Encode(e)
	require.NoError(t, err)
	return enc
}

func TestEncodeRejects(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
		msg  string
	}{
		{"LF in type", Text{Type: "a\ndata: injected", Data: "x"}, `event type contains '\n' at byte 1`},
		{"CR in type", Text{Type: "a\rdata: injected", Data: "x"}, `event type contains '\r' at byte 1`},
		{"LF in id", Text{ID: "1\nevent: x", Data: "x"}, `id contains '\n'`},
		{"CR in id", Text{ID: "1\r", Data: "x"}, `id contains '\r'`},
		{"NUL in id", Text{ID: "1\x002", Data: "x"}, `id contains '\x00'`},
		// An id must come back unchanged as a Last-Event-ID header (see Text.ID).
		{"id longer than MaxLastEventIDLen", Text{ID: strings.Repeat("a", MaxLastEventIDLen+1)}, "id is 257 bytes, more than 256"},
		{"tab in id", Text{ID: "a\tb"}, `id contains '\t' at byte 1`},
		{"other C0 control in id", Text{ID: "a\x01"}, `id contains '\x01' at byte 1`},
		{"DEL in id", Text{ID: "\x7f"}, `id contains '\x7f' at byte 0`},
		{"leading space in id", Text{ID: " 1"}, "id starts with a space"},
		{"trailing space in id", Text{ID: "1 "}, "id ends with a space"},
		{"only a space", Text{ID: " "}, "id starts with a space"},
		{"invalid UTF-8 id", Text{ID: "a\xffb"}, "id is not valid UTF-8"},
		{"JSON with an id too long", JSON{ID: strings.Repeat("é", 129), Data: 1}, "id is 258 bytes, more than 256"},
		{"negative retry", Text{Retry: -time.Second}, "negative retry"},
		{"sub-millisecond retry", Text{Retry: 1500 * time.Microsecond}, "not a whole number of milliseconds"},
		{"invalid UTF-8 data", Text{Data: "a\xffb"}, "data is not valid UTF-8"},
		{"invalid UTF-8 type", Text{Type: "\xc3", Data: "x"}, "event type is not valid UTF-8"},
		{"invalid UTF-8 comment", Comment("\xff"), "comment is not valid UTF-8"},
		{"json that cannot encode", JSON{Data: math.Inf(1)}, "unsupported value"},
		{"json with a bad id", JSON{ID: "\n", Data: 1}, `id contains '\n'`},
		{"nil event", nil, "nil event"},
		{"nil *Text", (*Text)(nil), "nil *sseview.Text"},
		{"nil *Encoded", (*Encoded)(nil), "nil *sseview.Encoded"},
		{"bad *Text", &Text{ID: "1\n"}, `id contains '\n'`},
		{"nil *JSON", (*JSON)(nil), "nil *sseview.JSON"},
		{"nil *Keyed", (*Keyed)(nil), "nil *sseview.Keyed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := appendEvent([]byte("prefix|"), tt.ev)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidEvent)
			assert.Contains(t, err.Error(), tt.msg)
			assert.True(t, strings.HasPrefix(err.Error(), "sseview: "), err.Error())
			assert.Equal(t, "prefix|", string(b), "nothing of a bad event is written")

			_, err = Encode(tt.ev)
			assert.ErrorIs(t, err, ErrInvalidEvent)
		})
	}
}

func TestCommentIsNotAnEvent(t *testing.T) {
	_, err := Encode(Comment("x"))
	assert.ErrorIs(t, err, ErrInvalidEvent)
}

func TestEncodedKeepsItsEvent(t *testing.T) {
	in := JSON{Type: "t", ID: "9", Data: []int{1, 2}}
	enc := mustEncode(t, in)
	got, err := enc.MarshalEvent()
	require.NoError(t, err)
	assert.Equal(t, Text{Type: "t", ID: "9", Data: "[1,2]"}, got)
	assert.Equal(t, len("event: t\nid: 9\ndata: [1,2]\n\n"), enc.Len())
	again, err := Encode(enc)
	require.NoError(t, err)
	assert.Same(t, enc, again, "encoding an encoded event does not copy it")
}

func TestTextEncodesWithoutAllocating(t *testing.T) {
	buf := make([]byte, 0, 1024)
	events := []Event{
		Text{Type: "weather", ID: "123", Data: "single line"},
		Text{Data: "many\nlines\r\nwith\rbreaks\n"},
		&Text{Type: "reused", Data: "by pointer"},
		Text{ID: edgeID, Data: "the longest id"},
		Comment("note"),
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
