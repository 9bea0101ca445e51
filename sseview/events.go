package sseview

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Event is one item of an event stream. A view's iterator may yield any mix
// of these kinds and the user's own:
//
//   - [Text], [Bytes], [JSON] and [Comment]: data (a string or a []byte
//     sent without a copy), JSON and comment lines;
//   - [HTML]: an HTML fragment, for htmx's SSE extension;
//   - [PatchElements], [PatchSignals] and [ExecuteScript]: Datastar's
//     events, byte for byte as its Go SDK writes them for valid input;
//   - [*Encoded]: an event encoded once by [Encode], to write to many
//     streams.
//
// A pointer to a Text or to one of the hypermedia kinds is an event too,
// and a nil one is an error wrapping [ErrInvalidEvent].
//
// To define an event kind of your own, implement MarshalEvent: the stream
// writes the returned [Text] with the same validation as any other, so a
// custom kind can never inject fields.
//
// The stream is done with an event when yield returns: it keeps no
// reference to it. A view may therefore reuse one event for all it yields.
// Go boxes a struct such as Text into the interface with a heap allocation
// (64 bytes for a Text); yielding a reused *Text allocates nothing, which
// matters in a view that sends tens of thousands of events a second:
//
//	ev := &sseview.Text{Type: "tick"}
//	for n := range ticks {
//		ev.Data = strconv.Itoa(n)
//		if !yield(ev, nil) {
//			return
//		}
//	}
type Event interface {
	// MarshalEvent returns the event as the fields written to the wire.
	// It is called once per event on the goroutine running the stream; an
	// error ends the stream as if the view had yielded it.
	MarshalEvent() (Text, error)
}

// ErrInvalidEvent is wrapped by every error about an event that cannot be
// written as it is. Nothing of such an event reaches the client.
var ErrInvalidEvent = errors.New("sseview: invalid event")

// Text is an event whose data is a string: the port of django-async-sse's
// Event. Each line break in Data (CRLF, CR or LF) becomes a separate data
// line, and the client receives every break as LF: a CR cannot be carried
// by an event stream, so send binary as base64 or JSON.
//
// A Text always dispatches an event on the client, even when Data is empty.
type Text struct {
	// Type is the event type ("event:" field); the client uses "message"
	// when it is empty. It must not contain CR or LF. An event of a
	// Datastar type (datastar-patch-elements, datastar-patch-signals) ends
	// as Datastar's Go SDK ends it, with one LF more: an empty line that
	// dispatches nothing, and that keeps the SDK's bytes however the event
	// travels.
	Type string
	// ID is the event id ("id:" field); none is written when it is empty.
	//
	// A client sends the last id it received back as the Last-Event-ID
	// header when it reconnects, and a browser's EventSource that gets a
	// 4xx then gives up for good. So an id must be one that comes back
	// unchanged and that [Handler] accepts: at most [MaxLastEventIDLen]
	// bytes of valid UTF-8, with no ASCII control character (no byte
	// 0x00-0x1F, tab included, and no 0x7F) and no space at either end.
	// net/http refuses a request whose header holds a control character
	// other than tab, and trims spaces and tabs around a header value;
	// CR, LF or NUL would also end or void the field. Spaces inside and
	// any other Unicode character are fine.
	//
	// Short plain ids ([A-Za-z0-9._:-], at most 128 bytes) also spare
	// cross-origin clients a CORS preflight when they reconnect.
	ID string
	// Data is the payload. It must be valid UTF-8.
	Data string
	// Retry, when positive, tells the client how long to wait before
	// reconnecting. It must be a whole number of milliseconds.
	Retry time.Duration
}

// MarshalEvent returns t itself.
func (t Text) MarshalEvent() (Text, error) { return t, nil }

// Bytes is a [Text] whose data is a byte slice: a view whose payload is
// already bytes (a buffer it appends to, a marshalled struct) sends it
// without converting it to a string, which would copy it. It is validated
// and written exactly as a Text with the same fields.
//
// A stream reads Data only while yield runs: once yield returns, the view
// may overwrite, append to or reuse the slice. [Encode], and so a
// [Broker]'s Publish, keep a copy of it. Yielded as a reused *Bytes, as
// [Event] shows for *Text, an event allocates nothing at all.
type Bytes struct {
	// Type, ID and Retry are as in [Text].
	Type  string
	ID    string
	Retry time.Duration
	// Data is the payload, as in [Text]. It must be valid UTF-8.
	Data []byte
}

// MarshalEvent returns the event as a [Text], with a copy of Data.
func (b Bytes) MarshalEvent() (Text, error) {
	return Text{Type: b.Type, ID: b.ID, Retry: b.Retry, Data: string(b.Data)}, nil
}

// text views b as a Text without copying Data: the string must not be used
// once b.Data may change (see transient).
func (b *Bytes) text() Text {
	return Text{Type: b.Type, ID: b.ID, Retry: b.Retry, Data: transient(b.Data)}
}

// JSON is an event whose data is Data encoded with encoding/json: the port
// of django-async-sse's JsonEvent. The encoding follows json.Marshal, which
// writes one line and replaces invalid UTF-8 in strings with U+FFFD.
type JSON struct {
	// Type, ID and Retry are as in [Text].
	Type  string
	ID    string
	Retry time.Duration
	// Data is the value to encode; nil is written as null.
	Data any
}

// MarshalEvent encodes Data and returns the event as a [Text].
func (j JSON) MarshalEvent() (Text, error) {
	data, err := json.Marshal(j.Data)
	if err != nil {
		return Text{}, fmt.Errorf("%w: data: %w", ErrInvalidEvent, err)
	}
	return Text{Type: j.Type, ID: j.ID, Retry: j.Retry, Data: string(data)}, nil
}

// Comment is a comment line (": text"): clients ignore it, proxies see
// traffic. Line breaks in it start new comment lines.
type Comment string

// MarshalEvent reports an error: a comment has no event fields. The stream
// writes comments itself without calling it.
func (c Comment) MarshalEvent() (Text, error) {
	return Text{}, fmt.Errorf("%w: a comment is not an event", ErrInvalidEvent)
}

// jsonScratch is where a stream encodes a JSON event's data: a pooled
// buffer with its encoder, so that an event costs what encoding/json
// itself allocates and nothing more (json.Marshal would return a copy, and
// a Text a second one as a string).
type jsonScratch struct {
	buf sliceWriter
	enc *json.Encoder
}

var jsonPool = sync.Pool{New: func() any {
	s := new(jsonScratch)
	s.enc = json.NewEncoder(&s.buf) // escapes HTML, as json.Marshal does
	return s
}}

// appendJSON appends the wire form of j to b, with json.Marshal's data.
// On error b is returned as it was.
func appendJSON(b []byte, j *JSON) ([]byte, error) {
	s := jsonPool.Get().(*jsonScratch)
	defer func() {
		if cap(s.buf) <= maxPooledBuf {
			s.buf = s.buf[:0]
			jsonPool.Put(s)
		}
	}()
	s.buf = s.buf[:0]
	// The encoder writes nothing on error, and never fails to write to
	// the buffer, so it has no error of its own to remember.
	if err := s.enc.Encode(j.Data); err != nil {
		return b, fmt.Errorf("%w: data: %w", ErrInvalidEvent, err)
	}
	data := s.buf[:len(s.buf)-1] // Encode ends the value with a newline; Marshal does not
	return appendText(b, &Text{Type: j.Type, ID: j.ID, Retry: j.Retry, Data: transient(data)})
}

// Encoded is an event already in its wire form, made by [Encode]. Yielding
// the same *Encoded to many streams writes the same bytes to each without
// encoding the event again; it is safe for concurrent use.
type Encoded struct {
	text Text
	wire []byte
	// published is when the MemoryBroker published the event (Unix ns), or
	// 0, for its Observer.
	published int64
}

// Encode validates e and encodes it once.
func Encode(e Event) (*Encoded, error) {
	if enc, ok := e.(*Encoded); ok && enc != nil {
		return enc, nil
	}
	t, err := textOf(e)
	if err != nil {
		return nil, err
	}
	wire, err := appendText(nil, &t)
	if err != nil {
		return nil, err
	}
	return &Encoded{text: t, wire: wire}, nil
}

// MarshalEvent returns the event e was encoded from.
func (e *Encoded) MarshalEvent() (Text, error) { return e.text, nil }

// Len returns the size of the event on the wire in bytes.
func (e *Encoded) Len() int { return len(e.wire) }

// textOf reduces any event except a comment to its fields.
func textOf(e Event) (Text, error) {
	switch e := e.(type) {
	case nil:
		return Text{}, fmt.Errorf("%w: nil event", ErrInvalidEvent)
	case Text:
		return e, nil
	case *Text:
		if e == nil {
			return Text{}, fmt.Errorf("%w: nil *sseview.Text", ErrInvalidEvent)
		}
		return *e, nil
	default:
		// A nil pointer to a kind whose MarshalEvent has a value receiver
		// would panic in the call: refuse it like a nil *Text.
		if v := reflect.ValueOf(e); v.Kind() == reflect.Pointer && v.IsNil() {
			return Text{}, fmt.Errorf("%w: nil %T", ErrInvalidEvent, e)
		}
		return e.MarshalEvent()
	}
}

// appendEvent appends the wire form of e to b. On error b is returned as
// it was, so nothing of a bad event is written.
func appendEvent(b []byte, e Event) ([]byte, error) {
	switch e := e.(type) {
	case Text:
		return appendText(b, &e)
	case *Text:
		if e != nil {
			return appendText(b, e)
		}
	case *Bytes:
		if e != nil {
			t := e.text()
			return appendText(b, &t)
		}
	case Bytes:
		t := e.text()
		return appendText(b, &t)
	case *JSON:
		if e != nil {
			return appendJSON(b, e)
		}
	case JSON:
		return appendJSON(b, &e)
	case *Encoded:
		if e != nil {
			return append(b, e.wire...), nil
		}
	case Comment:
		return appendComment(b, string(e))
	}
	t, err := textOf(e)
	if err != nil {
		return b, err
	}
	return appendText(b, &t)
}

func appendText(b []byte, t *Text) ([]byte, error) {
	if err := checkField("event type", t.Type, "\r\n"); err != nil {
		return b, err
	}
	if err := checkID(t.ID); err != nil {
		return b, err
	}
	if err := checkRetry(t.Retry); err != nil {
		return b, err
	}
	if !utf8.ValidString(t.Data) {
		return b, fmt.Errorf("%w: data is not valid UTF-8", ErrInvalidEvent)
	}
	if t.Type != "" {
		b = append(b, "event: "...)
		b = append(b, t.Type...)
		b = append(b, '\n')
	}
	if t.ID != "" {
		b = append(b, "id: "...)
		b = append(b, t.ID...)
		b = append(b, '\n')
	}
	if t.Retry > 0 {
		b = appendRetry(b, t.Retry)
	}
	b = appendLines(b, "data: ", t.Data)
	return appendEventEnd(b, t.Type), nil
}

func appendComment(b []byte, c string) ([]byte, error) {
	if !utf8.ValidString(c) {
		return b, fmt.Errorf("%w: comment is not valid UTF-8", ErrInvalidEvent)
	}
	return appendLines(b, ": ", c), nil
}

func appendRetry(b []byte, d time.Duration) []byte {
	b = append(b, "retry: "...)
	b = strconv.AppendInt(b, d.Milliseconds(), 10)
	return append(b, '\n')
}

// checkField rejects values that would end the field's line early. Writing
// them raw would let the rest of the value inject fields of its own, and
// stripping them would change the value silently.
func checkField(name, v, forbidden string) error {
	if v == "" {
		return nil
	}
	if i := strings.IndexAny(v, forbidden); i >= 0 {
		return fmt.Errorf("%w: %s contains %q at byte %d", ErrInvalidEvent, name, v[i], i)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidEvent, name)
	}
	return nil
}

// checkID applies the id rule documented on [Text.ID].
func checkID(id string) error {
	if why := idProblem(id); why != nil {
		return fmt.Errorf("%w: id %v", ErrInvalidEvent, why)
	}
	return nil
}

// idProblem says why id breaks the rule documented on [Text.ID], or
// returns nil. The encoder and the Handler's check of an incoming
// Last-Event-ID both use it, so that they cannot disagree: an id the
// library writes is one it accepts back. It runs for every event with an
// id, so it looks at each byte once and allocates only to report.
func idProblem(id string) error {
	if len(id) > MaxLastEventIDLen {
		return fmt.Errorf("is %d bytes, more than %d", len(id), MaxLastEventIDLen)
	}
	var seen byte // every byte ORed together: is any of them non-ASCII?
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c < ' ' || c == 0x7f {
			return fmt.Errorf("contains %q at byte %d", c, i)
		}
		seen |= c
	}
	switch {
	case seen >= utf8.RuneSelf && !utf8.ValidString(id):
		return errors.New("is not valid UTF-8")
	case id != "" && id[0] == ' ':
		return errors.New("starts with a space")
	case id != "" && id[len(id)-1] == ' ':
		return errors.New("ends with a space")
	}
	return nil
}

func checkRetry(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%w: negative retry %v", ErrInvalidEvent, d)
	}
	if d%time.Millisecond != 0 {
		return fmt.Errorf("%w: retry %v is not a whole number of milliseconds", ErrInvalidEvent, d)
	}
	return nil
}

// appendLines writes s as one prefixed line per segment between line
// breaks, treating CRLF as one break, so that a trailing break yields a
// final empty line as the spec's data concatenation requires. Data with a
// CR is cut at each LF first and at CRs within each line after, which
// keeps CRLF text about as fast as LF text.
func appendLines(b []byte, prefix, s string) []byte {
	if strings.IndexByte(s, '\r') < 0 {
		for {
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return appendLine(b, prefix, s)
			}
			b = appendLine(b, prefix, s[:i])
			s = s[i+1:]
		}
	}
	for {
		line, rest, more := strings.Cut(s, "\n")
		if more {
			line = strings.TrimSuffix(line, "\r") // CRLF is one break
		}
		for {
			i := strings.IndexByte(line, '\r')
			if i < 0 {
				break
			}
			b = appendLine(b, prefix, line[:i])
			line = line[i+1:]
		}
		b = appendLine(b, prefix, line)
		if !more {
			return b
		}
		s = rest
	}
}

func appendLine(b []byte, prefix, line string) []byte {
	b = append(b, prefix...)
	b = append(b, line...)
	return append(b, '\n')
}
