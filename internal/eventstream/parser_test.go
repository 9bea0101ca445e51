package eventstream

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func msg(data, id string) Event { return Event{Type: "message", Data: data, LastEventID: id} }

type parseCase struct {
	name     string
	in       string
	want     []Event
	retry    time.Duration
	retrySet bool
}

// parseCases is shared by every reader shape below, so each rule is checked
// whole, one byte at a time and in uneven chunks.
var parseCases = []parseCase{
	// The HTML standard's own examples (server-sent events section).
	{name: "spec stock example", in: "data: YHOO\ndata: +2\ndata: 10\n\n",
		want: []Event{msg("YHOO\n+2\n10", "")}},
	{name: "spec test stream example",
		in:   ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
		want: []Event{msg("first event", "1"), msg("second event", ""), msg(" third event", "")}},
	{name: "spec test stream example without final blank line",
		in:   ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n",
		want: []Event{msg("first event", "1"), msg("second event", "")}},
	{name: "spec data vs data: example", in: "data\n\ndata\ndata\n\ndata:",
		want: []Event{msg("", ""), msg("\n", "")}},
	{name: "spec two identical events", in: "data:test\n\ndata: test\n\n",
		want: []Event{msg("test", ""), msg("test", "")}},
	{name: "spec event types example",
		in: "event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
		want: []Event{
			{Type: "add", Data: "73857293"},
			{Type: "remove", Data: "2153"},
			{Type: "add", Data: "113411"},
		}},

	// Golden vectors from SSE-NOTES.md, read as a client reads them.
	{name: "golden multiline",
		in:   "data: data\ndata: \ndata:  with\ndata: multiple \ndata: line\ndata: breaks\n\n",
		want: []Event{msg("data\n\n with\nmultiple \nline\nbreaks", "")}},
	{name: "golden LF at end", in: "data: LF at end\ndata: \n\n",
		want: []Event{msg("LF at end\n", "")}},

	// Line endings.
	{name: "CRLF", in: "data: a\r\ndata: b\r\n\r\n", want: []Event{msg("a\nb", "")}},
	{name: "lone CR", in: "data: a\rdata: b\r\r", want: []Event{msg("a\nb", "")}},
	{name: "mixed endings", in: "data: a\rdata: b\ndata: c\r\n\n", want: []Event{msg("a\nb\nc", "")}},
	{name: "CR then CRLF is two line breaks", in: "data: a\r\r\ndata: b\n\n",
		want: []Event{msg("a", ""), msg("b", "")}},
	{name: "LF CR is two line breaks", in: "data: a\n\rdata: b\n\n",
		want: []Event{msg("a", ""), msg("b", "")}},
	{name: "CRLF CRLF dispatches once", in: "data: a\r\n\r\n\r\n\r\n", want: []Event{msg("a", "")}},
	{name: "injection through a CR in event", in: "event: a\rdata: injected\n\n",
		want: []Event{{Type: "a", Data: "injected"}}},
	{name: "blank lines alone dispatch nothing", in: "\n\r\n\r\n\n"},

	// Comments.
	{name: "comment only", in: ": hello\n\n"},
	{name: "comment inside an event", in: "data: a\n: c\ndata: b\n\n", want: []Event{msg("a\nb", "")}},
	{name: "colon alone is a comment", in: ":\ndata: a\n\n", want: []Event{msg("a", "")}},
	{name: "comment that looks like a field", in: ":data: x\n\n"},

	// Field name and value.
	{name: "only the first colon splits", in: "data:a:b\n\n", want: []Event{msg("a:b", "")}},
	{name: "value starting with a colon", in: "data: : x\n\n", want: []Event{msg(": x", "")}},
	{name: "exactly one space removed", in: "data:  x\n\n", want: []Event{msg(" x", "")}},
	{name: "three spaces keep two", in: "data:   x\n\n", want: []Event{msg("  x", "")}},
	{name: "tab is not removed", in: "data:\tx\n\n", want: []Event{msg("\tx", "")}},
	{name: "trailing space kept", in: "data: x \n\n", want: []Event{msg("x ", "")}},
	{name: "no colon means empty value", in: "data\n\n", want: []Event{msg("", "")}},
	{name: "space before colon is part of the name", in: "data : x\n\n"},
	{name: "leading space is part of the name", in: " data: x\n\n"},
	{name: "names are case-sensitive", in: "Data: x\nEVENT: y\n\n"},
	{name: "unknown fields ignored", in: "foo: bar\ndata: x\nfoo\n\n", want: []Event{msg("x", "")}},

	// data.
	{name: "empty data line dispatches empty data", in: "data: \n\n", want: []Event{msg("", "")}},
	{name: "only one trailing LF removed", in: "data: a\ndata:\n\n", want: []Event{msg("a\n", "")}},
	{name: "NUL in data is kept", in: "data: a\x00b\n\n", want: []Event{msg("a\x00b", "")}},
	{name: "no data no event", in: "event: x\nid: 1\n\n"},

	// event.
	{name: "event sets the type", in: "event: ping\ndata: x\n\n", want: []Event{{Type: "ping", Data: "x"}}},
	{name: "last event line wins", in: "event: a\nevent: b\ndata: x\n\n", want: []Event{{Type: "b", Data: "x"}}},
	{name: "empty event means message", in: "event:\ndata: x\n\n", want: []Event{msg("x", "")}},
	{name: "event without colon means message", in: "event: a\nevent\ndata: x\n\n", want: []Event{msg("x", "")}},
	{name: "type resets after dispatch", in: "event: a\ndata: x\n\ndata: y\n\n",
		want: []Event{{Type: "a", Data: "x"}, msg("y", "")}},
	{name: "type resets even when nothing is dispatched", in: "event: a\n\ndata: y\n\n",
		want: []Event{msg("y", "")}},
	{name: "event value keeps leading second space", in: "event:  a\ndata: x\n\n",
		want: []Event{{Type: " a", Data: "x"}}},

	// id.
	{name: "id carried forward", in: "id: 1\ndata: a\n\ndata: b\n\n", want: []Event{msg("a", "1"), msg("b", "1")}},
	{name: "id after data applies to its event", in: "data: a\nid: 7\n\n", want: []Event{msg("a", "7")}},
	{name: "empty id resets", in: "id: 1\ndata: a\n\nid:\ndata: b\n\n", want: []Event{msg("a", "1"), msg("b", "")}},
	{name: "id with one space resets", in: "id: 1\ndata: a\n\nid: \ndata: b\n\n", want: []Event{msg("a", "1"), msg("b", "")}},
	{name: "id without colon resets", in: "id: 1\ndata: a\n\nid\ndata: b\n\n", want: []Event{msg("a", "1"), msg("b", "")}},
	{name: "id with NUL ignored entirely", in: "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
		want: []Event{msg("a", "1"), msg("b", "1")}},
	{name: "id with only NUL ignored", in: "id: 1\nid: \x00\ndata: a\n\n", want: []Event{msg("a", "1")}},
	{name: "id-only block sets the id", in: "id: 5\n\ndata: a\n\n", want: []Event{msg("a", "5")}},
	{name: "id keeps colons and spaces", in: "id: a:b c \ndata: x\n\n", want: []Event{msg("x", "a:b c ")}},
	{name: "id with two spaces keeps one", in: "id:  x\ndata: y\n\n", want: []Event{msg("y", " x")}},
	{name: "id in unterminated block is dropped from dispatches", in: "data: a\n\nid: 9\ndata: b\n",
		want: []Event{msg("a", "")}},

	// retry.
	{name: "retry", in: "retry: 1500\n", retry: 1500 * time.Millisecond, retrySet: true},
	{name: "retry zero", in: "retry: 0\n", retry: 0, retrySet: true},
	{name: "retry leading zeros", in: "retry: 007\n", retry: 7 * time.Millisecond, retrySet: true},
	{name: "retry without colon space", in: "retry:25\n", retry: 25 * time.Millisecond, retrySet: true},
	{name: "retry last valid wins", in: "retry: 10\nretry: 20\nretry: x\n", retry: 20 * time.Millisecond, retrySet: true},
	{name: "retry needs no dispatch", in: "data: a\nretry: 30\n", retry: 30 * time.Millisecond, retrySet: true},
	{name: "retry with data still dispatches", in: "retry: 30\ndata: a\n\n",
		want: []Event{msg("a", "")}, retry: 30 * time.Millisecond, retrySet: true},
	{name: "retry saturates", in: "retry: 99999999999999999999999999\n",
		retry: time.Duration(maxRetryMillis) * time.Millisecond, retrySet: true},
	{name: "retry letters ignored", in: "retry: 15a\n"},
	{name: "retry negative ignored", in: "retry: -1\n"},
	{name: "retry plus ignored", in: "retry: +1\n"},
	{name: "retry decimal ignored", in: "retry: 1.5\n"},
	{name: "retry unit ignored", in: "retry: 10ms\n"},
	{name: "retry two spaces ignored", in: "retry:  10\n"},
	{name: "retry trailing space ignored", in: "retry: 10 \n"},
	{name: "retry empty ignored", in: "retry:\n"},
	{name: "retry no colon ignored", in: "retry\n"},
	{name: "retry non-ASCII digit ignored", in: "retry: \u0663\n"},
	{name: "retry fullwidth digit ignored", in: "retry: \uFF11\n"},
	{name: "retry unterminated line ignored", in: "retry: 5"},

	// End of stream.
	{name: "empty stream", in: ""},
	{name: "unterminated line", in: "data: x"},
	{name: "unterminated event", in: "data: x\n"},
	{name: "unterminated event after CR", in: "data: x\r"},

	// BOM.
	{name: "leading BOM dropped", in: "\uFEFFdata: x\n\n", want: []Event{msg("x", "")}},
	{name: "second BOM kept and spoils the name", in: "\uFEFF\uFEFFdata: x\n\n"},
	{name: "BOM later is a character", in: "data: a\n\n\uFEFFdata: b\n\ndata: \uFEFFc\n\n",
		want: []Event{msg("a", ""), msg("\uFEFFc", "")}},
	{name: "partial BOM is not a BOM", in: "\xEF\xBBdata: x\n\n"},

	// UTF-8 decoding.
	{name: "multi-byte characters", in: "data: h\u00e9\u20ac\U0001F600\n\n",
		want: []Event{msg("h\u00e9\u20ac\U0001F600", "")}},
	{name: "invalid byte", in: "data: \xff\n\n", want: []Event{msg("\uFFFD", "")}},
	{name: "truncated sequence is one U+FFFD", in: "data: \xE2\x82A\n\n", want: []Event{msg("\uFFFDA", "")}},
	{name: "truncated 4-byte before LF", in: "data: \xF0\x9F\x98\n\n", want: []Event{msg("\uFFFD", "")}},
	{name: "surrogate is three U+FFFD", in: "data: \xED\xA0\x80\n\n", want: []Event{msg("\uFFFD\uFFFD\uFFFD", "")}},
	{name: "overlong is one U+FFFD per byte", in: "data: \xC0\xAF\xE0\x80\x80\n\n",
		want: []Event{msg(strings.Repeat("\uFFFD", 5), "")}},
	{name: "above U+10FFFF", in: "data: \xF4\x90\x80\x80\n\n", want: []Event{msg(strings.Repeat("\uFFFD", 4), "")}},
	{name: "invalid byte in field name", in: "dat\xffa: x\n\n"},
	{name: "invalid byte in id", in: "id: \xff\ndata: x\n\n", want: []Event{msg("x", "\uFFFD")}},
	{name: "truncated sequence before CR", in: "data: \xC3\rdata: b\r\r", want: []Event{msg("\uFFFD\nb", "")}},
}

// splitReader returns its parts as separate reads, to put a chosen boundary
// (for example between a CR and its LF) between two reads.
type splitReader struct {
	parts []string
}

func (r *splitReader) Read(b []byte) (int, error) {
	for len(r.parts) > 0 && r.parts[0] == "" {
		r.parts = r.parts[1:]
	}
	if len(r.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(b, r.parts[0])
	r.parts[0] = r.parts[0][n:]
	return n, nil
}

func parseAll(t *testing.T, r io.Reader) ([]Event, time.Duration, bool) {
	t.Helper()
	p := NewParser(r)
	var events []Event
	for {
		ev, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		events = append(events, ev)
	}
	d, ok := p.Retry()
	return events, d, ok
}

func TestParseString(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			events, retry, retrySet := ParseString(tc.in)
			assert.Equal(t, tc.want, events)
			assert.Equal(t, tc.retry, retry)
			assert.Equal(t, tc.retrySet, retrySet)
		})
	}
}

func TestParserReaderShapes(t *testing.T) {
	shapes := []struct {
		name string
		r    func(string) io.Reader
	}{
		{"one byte at a time", func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }},
		{"half reads", func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) }},
		{"data with EOF", func(s string) io.Reader { return iotest.DataErrReader(strings.NewReader(s)) }},
	}
	for _, shape := range shapes {
		for _, tc := range parseCases {
			t.Run(shape.name+"/"+tc.name, func(t *testing.T) {
				events, retry, retrySet := parseAll(t, shape.r(tc.in))
				assert.Equal(t, tc.want, events)
				assert.Equal(t, tc.retry, retry)
				assert.Equal(t, tc.retrySet, retrySet)
			})
		}
	}
}

func TestParserEverySplit(t *testing.T) {
	// Every two-read split of every case must agree with the whole string:
	// this covers CR|LF, BOM bytes and multi-byte characters cut across reads.
	for _, tc := range parseCases {
		wantEvents, wantRetry, wantSet := ParseString(tc.in)
		for i := 0; i <= len(tc.in); i++ {
			events, retry, retrySet := parseAll(t, &splitReader{parts: []string{tc.in[:i], tc.in[i:]}})
			require.Equal(t, wantEvents, events, "%s split at %d", tc.name, i)
			require.Equal(t, wantRetry, retry, "%s split at %d", tc.name, i)
			require.Equal(t, wantSet, retrySet, "%s split at %d", tc.name, i)
		}
	}
}

func TestParserCRLFAcrossReads(t *testing.T) {
	// Were the LF at the start of the second read taken as a new line break,
	// the first read would end in a blank line and dispatch "a" alone.
	r := &splitReader{parts: []string{"data: a\r", "\ndata: b\r", "\n\r", "\n"}}
	events, _, _ := parseAll(t, r)
	assert.Equal(t, []Event{msg("a\nb", "")}, events)
}

func TestParserDispatchesWithoutWaitingForMoreInput(t *testing.T) {
	// A CR ends its line at once; the parser must not block to learn whether
	// an LF follows, or a live stream ending in CR would stall.
	pr, pw := io.Pipe()
	defer pr.Close()
	written := make(chan error, 1)
	go func() {
		_, err := pw.Write([]byte("data: a\r\r"))
		written <- err
	}()
	got := make(chan Event, 1)
	p := NewParser(pr)
	go func() {
		ev, err := p.Next()
		if err == nil {
			got <- ev
		}
		close(got)
	}()
	select {
	case ev := <-got:
		assert.Equal(t, msg("a", ""), ev)
	case <-time.After(5 * time.Second):
		t.Fatal("event not dispatched before more input arrived")
	}
	require.NoError(t, <-written)
	require.NoError(t, pw.Close())
	_, err := p.Next()
	assert.ErrorIs(t, err, io.EOF)
}

var errBoom = errors.New("boom")

func TestParserReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: pending\n"), iotest.ErrReader(errBoom))
	p := NewParser(r)
	ev, err := p.Next()
	require.NoError(t, err)
	assert.Equal(t, msg("a", ""), ev)

	_, err = p.Next()
	require.ErrorIs(t, err, errBoom)
	assert.Same(t, errBoom, err, "read errors are returned as they are")
	_, err = p.Next()
	assert.ErrorIs(t, err, errBoom, "the error is sticky")
}

func TestParserReadErrorWithData(t *testing.T) {
	// A reader may return data and an error together; the data counts.
	p := NewParser(iotest.TimeoutReader(strings.NewReader("data: a\n\n")))
	ev, err := p.Next()
	require.NoError(t, err)
	assert.Equal(t, msg("a", ""), ev)
	_, err = p.Next()
	assert.ErrorIs(t, err, iotest.ErrTimeout)
}

func TestParserComments(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{": ping\n", []string{" ping"}},
		{":ping\n", []string{"ping"}},
		{":  two\n", []string{"  two"}},
		{":\n", []string{""}},
		{":a:b\r:c\r\n", []string{"a:b", "c"}},
		{"data: x\n: mid\n\n", []string{" mid"}},
		{"\uFEFF: after BOM\n", []string{" after BOM"}},
		{": \xff\n", []string{" \uFFFD"}},
		{": unterminated", nil},
		{" : not a comment\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var got []string
			p := NewParser(iotest.OneByteReader(strings.NewReader(tc.in)))
			p.Comment = func(text string) { got = append(got, text) }
			for {
				if _, err := p.Next(); err != nil {
					require.ErrorIs(t, err, io.EOF)
					break
				}
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParserCommentOrder(t *testing.T) {
	// Comments are reported in stream order relative to events.
	var log []string
	p := NewParser(strings.NewReader(": one\ndata: a\n\n: two\ndata: b\n\n"))
	p.Comment = func(text string) { log = append(log, "comment"+text) }
	for {
		ev, err := p.Next()
		if err != nil {
			break
		}
		log = append(log, "event "+ev.Data)
	}
	assert.Equal(t, []string{"comment one", "event a", "comment two", "event b"}, log)
}

func TestParserLastEventID(t *testing.T) {
	tests := []struct {
		name            string
		in              string
		lastEventIDBuf  string
		reconnectID     string
		dispatchedCount int
	}{
		{"none", "data: a\n\n", "", "", 1},
		{"set by event", "id: 1\ndata: a\n\n", "1", "1", 1},
		{"id-only block still commits", "id: 2\n\n", "2", "2", 0},
		{"pending id not committed", "id: 1\ndata: a\n\nid: 2\ndata: b\n", "2", "1", 1},
		{"pending id without newline", "id: 1\n\nid: 2", "1", "1", 0},
		{"reset by empty id", "id: 1\n\nid\n\n", "", "", 0},
		{"NUL keeps old", "id: 1\n\nid: \x00\n\n", "1", "1", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewParser(strings.NewReader(tc.in))
			n := 0
			for {
				if _, err := p.Next(); err != nil {
					break
				}
				n++
			}
			assert.Equal(t, tc.dispatchedCount, n)
			assert.Equal(t, tc.lastEventIDBuf, p.LastEventID())
			assert.Equal(t, tc.reconnectID, p.ReconnectID())
		})
	}
}

func TestNewResumedParser(t *testing.T) {
	p := NewResumedParser(strings.NewReader("data: a\n\nid\ndata: b\n\n"), "41")
	assert.Equal(t, "41", p.LastEventID())
	assert.Equal(t, "41", p.ReconnectID())
	ev, err := p.Next()
	require.NoError(t, err)
	assert.Equal(t, msg("a", "41"), ev)
	ev, err = p.Next()
	require.NoError(t, err)
	assert.Equal(t, msg("b", ""), ev)
}

func TestDecodeUTF8(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"ASCII", "abc", "abc"},
		{"valid multi-byte", "\u00e9\u20ac\U0001F600\U0010FFFF", "\u00e9\u20ac\U0001F600\U0010FFFF"},
		{"BOM dropped once", "\uFEFF\uFEFFa", "\uFEFFa"},
		{"BOM not at start kept", "a\uFEFF", "a\uFEFF"},
		// The Unicode Standard's example of U+FFFD per maximal subpart
		// (chapter 3, "U+FFFD Substitution of Maximal Subparts").
		{"unicode maximal subparts example", "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
			"a\uFFFD\uFFFD\uFFFDb\uFFFDc\uFFFD\uFFFDd"},
		{"lone continuation", "\x80", "\uFFFD"},
		{"C0 and C1 never valid", "\xC0\x80\xC1\xBF", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"F5 and above never valid", "\xF5\xF8\xFF", "\uFFFD\uFFFD\uFFFD"},
		{"E0 overlong", "\xE0\x9F\xBF", "\uFFFD\uFFFD\uFFFD"},
		{"F0 overlong", "\xF0\x8F\xBF\xBF", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"ED surrogate", "\xED\xBF\xBF", "\uFFFD\uFFFD\uFFFD"},
		{"ED highest valid", "\xED\x9F\xBF", "\uD7FF"},
		{"truncated 3-byte then ASCII", "\xE2\x82A", "\uFFFDA"},
		{"truncated 4-byte then 4-byte", "\xF0\x9F\x98\xF0\x9F\x98\x80", "\uFFFD\U0001F600"},
		{"truncated at end", "a\xF0\x9F\x98", "a\uFFFD"},
		{"lead then lead", "\xC3\xC3\xA9", "\uFFFD\u00e9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, DecodeUTF8([]byte(tc.in)))
		})
	}
}

func TestGoDecodingIsNotWHATWG(t *testing.T) {
	// Why the decoder is hand-written: Go's conversions give one U+FFFD per
	// invalid byte (string([]rune(s))) or one per run (ToValidUTF8), while
	// the Encoding Standard gives one per maximal subpart.
	in := "\xE2\x82A\xFF\xFE"
	assert.Equal(t, "\uFFFDA\uFFFD\uFFFD", DecodeUTF8([]byte(in)))
	assert.Equal(t, "\uFFFD\uFFFDA\uFFFD\uFFFD", string([]rune(in)))
	assert.Equal(t, "\uFFFDA\uFFFD", strings.ToValidUTF8(in, "\uFFFD"))
}

func FuzzParserChunking(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.in, uint8(3))
	}
	f.Fuzz(func(t *testing.T, in string, step uint8) {
		wantEvents, wantRetry, wantSet := ParseString(in)
		for _, ev := range wantEvents {
			require.True(t, utf8.ValidString(ev.Type+ev.Data+ev.LastEventID), "output is always valid UTF-8")
		}
		n := int(step%16) + 1
		var parts []string
		for s := in; s != ""; {
			k := min(n, len(s))
			parts = append(parts, s[:k])
			s = s[k:]
		}
		events, retry, retrySet := parseAll(t, &splitReader{parts: parts})
		require.Equal(t, wantEvents, events)
		require.Equal(t, wantRetry, retry)
		require.Equal(t, wantSet, retrySet)
	})
}

func TestParserEventRetry(t *testing.T) {
	type got struct {
		data  string
		retry time.Duration
		set   bool
	}
	tests := []struct {
		name      string
		in        string
		want      []got
		lastRetry time.Duration // what Retry reports at the end
	}{
		{"in the event's block", "retry: 1500\ndata: a\n\n",
			[]got{{"a", 1500 * time.Millisecond, true}}, 1500 * time.Millisecond},
		{"after the data line, same block", "data: a\nretry: 7\n\n",
			[]got{{"a", 7 * time.Millisecond, true}}, 7 * time.Millisecond},
		{"not carried to the next event", "retry: 5\ndata: a\n\ndata: b\n\n",
			[]got{{"a", 5 * time.Millisecond, true}, {"b", 0, false}}, 5 * time.Millisecond},
		{"a block without data keeps it to itself", "retry: 9\n\ndata: a\n\n",
			[]got{{"a", 0, false}}, 9 * time.Millisecond},
		{"invalid retry is no retry", "retry: 1x\ndata: a\n\n",
			[]got{{"a", 0, false}}, 0},
		{"the last of two in a block", "retry: 1\nretry: 2\ndata: a\n\n",
			[]got{{"a", 2 * time.Millisecond, true}}, 2 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewParser(strings.NewReader(tc.in))
			var all []got
			for {
				ev, err := p.Next()
				if err != nil {
					break
				}
				r, set := p.EventRetry()
				all = append(all, got{ev.Data, r, set})
			}
			assert.Equal(t, tc.want, all)
			r, _ := p.Retry()
			assert.Equal(t, tc.lastRetry, r)
		})
	}
}
