package sseview

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bytesOf is t as a Bytes event.
func bytesOf(t Text) Bytes {
	return Bytes{Type: t.Type, ID: t.ID, Retry: t.Retry, Data: []byte(t.Data)}
}

// A Bytes is written exactly as the Text with the same fields, and refused
// exactly when that Text is: the zero-copy path has the same checks.
func TestBytesEncodesAsText(t *testing.T) {
	texts := []Text{
		{Data: "hello"},
		{},
		{Type: "weather", ID: "42", Data: "x", Retry: 2500 * time.Millisecond},
		{Data: "data\n\r with\nmultiple \rline\r\nbreaks"},
		{Data: "LF at end\n"},
		{Data: "a\x00b"},
		{Data: "\ufeffx"},
		{ID: edgeID, Data: "héllo ☀"},
		// Refused, each for one reason.
		{Type: "a\rdata: injected", Data: "x"},
		{ID: "1\nevent: x", Data: "x"},
		{ID: "1\x002", Data: "x"},
		{ID: strings.Repeat("a", MaxLastEventIDLen+1)},
		{ID: " 1"},
		{Retry: -time.Second},
		{Retry: 1500 * time.Microsecond},
		{Data: "a\xffb"},
		{Type: "\xc3", Data: "x"},
	}
	for _, tx := range texts {
		want, wantErr := appendEvent([]byte("prefix|"), tx)
		for _, ev := range []Event{bytesOf(tx), new(bytesOf(tx))} {
			got, err := appendEvent([]byte("prefix|"), ev)
			if wantErr != nil {
				require.Error(t, err, "%#v", ev)
				assert.Equal(t, wantErr.Error(), err.Error())
				assert.ErrorIs(t, err, ErrInvalidEvent)
				assert.Equal(t, "prefix|", string(got), "nothing of a bad event is written")
				_, err = Encode(ev)
				assert.ErrorIs(t, err, ErrInvalidEvent)
				continue
			}
			require.NoError(t, err, "%#v", ev)
			assert.Equal(t, string(want), string(got))
		}
	}
	_, err := appendEvent(nil, (*Bytes)(nil))
	assert.ErrorIs(t, err, ErrInvalidEvent)
}

// Encode, and so a Broker's Publish, keeps a copy: the caller may reuse
// its bytes at once.
func TestEncodeCopiesBytes(t *testing.T) {
	data := []byte("first")
	enc := mustEncode(t, Bytes{ID: "1", Data: data})
	copy(data, "XXXXX")
	b, err := appendEvent(nil, enc)
	require.NoError(t, err)
	assert.Equal(t, "id: 1\ndata: first\n\n", string(b))
	text, err := enc.MarshalEvent()
	require.NoError(t, err)
	assert.Equal(t, "first", text.Data)
}

// A JSON event written by a stream has exactly json.Marshal's data: no
// trailing newline, HTML escaped, invalid UTF-8 replaced, a Marshaler's
// output compacted, and the same errors.
func TestJSONDataIsMarshals(t *testing.T) {
	values := []any{
		nil, 1, 1.5e300, "a<b>&c", "line\nbreak\r", "bad \xff utf-8", []int{1, 2},
		map[string]any{"z": 1, "a": []string{"x"}}, point{Lat: 40.71, Lng: -74.01},
		json.RawMessage(" { \"spaced\" :\n 1 } "), &point{Lat: 1},
	}
	for _, v := range values {
		for _, ev := range []Event{JSON{Type: "t", ID: "1", Data: v}, &JSON{Data: v}} {
			marshalled, err := json.Marshal(v)
			require.NoError(t, err)
			want, err := appendEvent(nil, Text{Type: typeOf(ev), ID: idOf(ev), Data: string(marshalled)})
			require.NoError(t, err)
			got, err := appendEvent(nil, ev)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got), "%#v", v)
		}
	}
	for _, v := range []any{math.Inf(1), make(chan int), json.RawMessage("{")} {
		_, marshalErr := json.Marshal(v)
		require.Error(t, marshalErr)
		got, err := appendEvent([]byte("prefix|"), JSON{Data: v})
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrInvalidEvent)
		assert.Equal(t, "sseview: invalid event: data: "+marshalErr.Error(), err.Error())
		assert.Equal(t, "prefix|", string(got))
	}
}

func typeOf(e Event) string {
	if j, ok := e.(JSON); ok {
		return j.Type
	}
	return ""
}

func idOf(e Event) string {
	if j, ok := e.(JSON); ok {
		return j.ID
	}
	return ""
}
