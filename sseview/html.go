package sseview

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"time"
	"unsafe"
)

// Renderer is anything that writes HTML: the shape of a templ component,
// and of what [Template] and [Markup] return. Render is called on the
// goroutine running the stream, with the stream's context, once each time
// the event is encoded; an error ends the stream as if the view had yielded
// it, and nothing of what was rendered is written.
type Renderer interface {
	Render(ctx context.Context, w io.Writer) error
}

// HTML is an event whose data is an HTML fragment, for htmx's SSE
// extension (sse-swap) or any client that puts an event's data into the
// page. The fragment is rendered into the stream's buffer and written as
// data lines.
//
// A line break in the HTML (CRLF, CR or LF) starts a new data line, so no
// CR in the markup can end a line early and inject a field, and the client
// receives every break as LF. That is the same DOM: HTML parsing turns
// every CR and CRLF of its input into LF before it builds a single node,
// in text, attributes, <pre> and <textarea> alike. (A CR that must reach
// the DOM is written as &#13;, which has no line break in it.)
//
// In a stream, Fragment renders with the stream's context. Through
// [Encode] or a [Broker]'s Publish, which have no context to give, it
// renders with a context that carries no values and is never done.
type HTML struct {
	// Type, ID and Retry are as in [Text].
	Type  string
	ID    string
	Retry time.Duration
	// Fragment renders the HTML. It must not be nil, and what it writes
	// must be valid UTF-8.
	Fragment Renderer
}

// MarshalEvent renders the fragment and returns the event as a [Text].
func (h HTML) MarshalEvent() (Text, error) {
	var b []byte
	if err := renderInto(context.Background(), &b, h.Fragment); err != nil {
		return Text{}, err
	}
	return Text{Type: h.Type, ID: h.ID, Retry: h.Retry, Data: string(b)}, nil
}

func (h HTML) appendRendered(ctx context.Context, b []byte) ([]byte, error) {
	sp := bufPool.Get().(*[]byte)
	defer putBuf(sp)
	if err := renderInto(ctx, sp, h.Fragment); err != nil {
		return b, err
	}
	return appendText(b, &Text{Type: h.Type, ID: h.ID, Retry: h.Retry, Data: transient(*sp)})
}

// nilRendered reports whether e is a nil pointer to one of the hypermedia
// kinds. Their methods take a value, so a call through a nil pointer would
// panic: the stream leaves such an event to the encoder, which refuses it
// as it refuses a nil *Text, rather than render it.
func nilRendered(e Event) bool {
	switch e := e.(type) {
	case *HTML:
		return e == nil
	case *PatchElements:
		return e == nil
	case *PatchSignals:
		return e == nil
	case *ExecuteScript:
		return e == nil
	}
	return false
}

// Template returns a [Renderer] that executes t with data: the template
// named name, or t itself when name is "".
func Template(t *template.Template, name string, data any) Renderer {
	return templateRenderer{t: t, name: name, data: data}
}

type templateRenderer struct {
	t    *template.Template
	name string
	data any
}

func (r templateRenderer) Render(_ context.Context, w io.Writer) error {
	switch {
	case r.t == nil:
		return errors.New("sseview: nil template")
	case r.name == "":
		return r.t.Execute(w, r.data)
	default:
		return r.t.ExecuteTemplate(w, r.name, r.data)
	}
}

// Markup is HTML written as it is: markup the program trusts, never text
// from a user (render that with html/template, which escapes it).
type Markup string

// Render writes m.
func (m Markup) Render(_ context.Context, w io.Writer) error {
	_, err := io.WriteString(w, string(m))
	return err
}

// renderInto appends what r renders to *b.
func renderInto(ctx context.Context, b *[]byte, r Renderer) error {
	if r == nil {
		return fmt.Errorf("%w: HTML with no fragment", ErrInvalidEvent)
	}
	if err := r.Render(ctx, (*sliceWriter)(b)); err != nil {
		return fmt.Errorf("%w: rendering HTML: %w", ErrInvalidEvent, err)
	}
	return nil
}

// sliceWriter appends to a byte slice.
type sliceWriter []byte

func (w *sliceWriter) Write(p []byte) (int, error) {
	*w = append(*w, p...)
	return len(p), nil
}

func (w *sliceWriter) WriteString(s string) (int, error) {
	*w = append(*w, s...)
	return len(s), nil
}

// transient views b as a string without copying it. The string is only
// read by the encoder, which copies it into the wire buffer before b goes
// back to the pool, so it never sees b change: that saves a copy of every
// rendered fragment.
func transient(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func putBuf(bp *[]byte) {
	if cap(*bp) <= maxPooledBuf {
		*bp = (*bp)[:0]
		bufPool.Put(bp)
	}
}
