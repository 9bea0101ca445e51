package sseview

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sseview/sseview/internal/quote"
)

// The Datastar kinds below write what datastar-go v1.2.2 writes for every
// valid input; the package documentation says where, and why, they differ
// on the rest. internal/datastarcompat checks both against the SDK.

// datastarDefaultRetry is the reconnection time Datastar's client uses
// when none is sent; the SDK never sends it.
const datastarDefaultRetry = time.Second

// Datastar's event types.
const (
	patchElementsType = "datastar-patch-elements"
	patchSignalsType  = "datastar-patch-signals"
)

// appendEventEnd ends an event of type typ with the blank line that
// dispatches it, and an event of a Datastar type with one LF more, as
// datastar-go does: that LF is an empty line that dispatches nothing, and
// with it the bytes are the SDK's. It goes by the type because the type is
// what every path keeps: Encode and a Broker reduce an event to its
// [Text], and natsbroker carries no more than its type, retry and data,
// so a PatchElements published anywhere reaches its client as the bytes a
// stream writes for it. Any other event pays two comparisons of lengths.
func appendEventEnd(b []byte, typ string) []byte {
	b = append(b, '\n')
	if typ == patchElementsType || typ == patchSignalsType {
		b = append(b, '\n')
	}
	return b
}

// PatchElements is Datastar's datastar-patch-elements event: it morphs,
// inserts or removes elements of the page.
type PatchElements struct {
	// ID and Retry are as in [Text], except that a Retry of one second,
	// Datastar's default, is not sent.
	ID    string
	Retry time.Duration
	// Selector is the CSS selector of the elements to patch; empty means
	// the elements' own ids.
	Selector string
	// Mode is how the elements are patched: "outer" (the default when
	// empty), "inner", "remove", "replace", "prepend", "append", "before"
	// or "after".
	Mode string
	// Namespace is "html" (the default when empty), "svg" or "mathml".
	Namespace string
	// UseViewTransition patches within a view transition, scoped to
	// ViewTransitionSelector when that is set (only then).
	UseViewTransition      bool
	ViewTransitionSelector string
	// Elements renders the HTML to patch in; nil sends none (as with mode
	// "remove"). In a stream it renders with the stream's context, like
	// [HTML].
	Elements Renderer
}

var patchModes = []string{"outer", "inner", "remove", "replace", "prepend", "append", "before", "after"}

// MarshalEvent renders the elements and returns the event as a [Text].
func (p PatchElements) MarshalEvent() (Text, error) {
	var html []byte
	if p.Elements != nil {
		if err := renderInto(context.Background(), &html, p.Elements); err != nil {
			return Text{}, err
		}
	}
	data, err := p.appendData(nil, html)
	if err != nil {
		return Text{}, err
	}
	return Text{Type: patchElementsType, ID: p.ID, Retry: datastarRetry(p.Retry), Data: string(data)}, nil
}

func (p PatchElements) appendRendered(ctx context.Context, b []byte) ([]byte, error) {
	hp := bufPool.Get().(*[]byte)
	defer putBuf(hp)
	if p.Elements != nil {
		if err := renderInto(ctx, hp, p.Elements); err != nil {
			return b, err
		}
	}
	dp := bufPool.Get().(*[]byte)
	defer putBuf(dp)
	data, err := p.appendData((*dp)[:0], *hp)
	*dp = data
	if err != nil {
		return b, err
	}
	return appendText(b, &Text{Type: patchElementsType, ID: p.ID, Retry: datastarRetry(p.Retry),
		Data: transient(data)})
}

// appendData appends the event's data, its lines joined by LF, to b.
func (p PatchElements) appendData(b []byte, html []byte) ([]byte, error) {
	if err := checkField("selector", p.Selector, "\r\n"); err != nil {
		return b, err
	}
	if err := checkField("view transition selector", p.ViewTransitionSelector, "\r\n"); err != nil {
		return b, err
	}
	if p.Mode != "" && !slices.Contains(patchModes, p.Mode) {
		return b, fmt.Errorf("%w: unknown patch mode %s", ErrInvalidEvent, quote.Bounded(p.Mode))
	}
	switch p.Namespace {
	case "", "html", "svg", "mathml":
	default:
		return b, fmt.Errorf("%w: unknown namespace %s", ErrInvalidEvent, quote.Bounded(p.Namespace))
	}
	if p.ViewTransitionSelector != "" && !p.UseViewTransition {
		return b, fmt.Errorf("%w: a view transition selector without UseViewTransition", ErrInvalidEvent)
	}
	start := len(b)
	if p.Selector != "" {
		b = appendLine(b, "selector ", p.Selector)
	}
	if p.Mode != "" && p.Mode != "outer" {
		b = appendLine(b, "mode ", p.Mode)
	}
	if p.Namespace != "" && p.Namespace != "html" {
		b = appendLine(b, "namespace ", p.Namespace)
	}
	if p.UseViewTransition {
		b = append(b, "useViewTransition true\n"...)
		if p.ViewTransitionSelector != "" {
			b = appendLine(b, "viewTransitionSelector ", p.ViewTransitionSelector)
		}
	}
	if len(html) > 0 {
		b = appendLines(b, "elements ", transient(html))
	}
	if len(b) == start {
		return b, fmt.Errorf("%w: PatchElements with no selector and no elements", ErrInvalidEvent)
	}
	return b[:len(b)-1], nil // the encoder ends the last line
}

// PatchSignals is Datastar's datastar-patch-signals event: it patches the
// page's signals with a JSON merge patch.
type PatchSignals struct {
	// ID and Retry are as in [PatchElements].
	ID    string
	Retry time.Duration
	// Signals is the patch, a JSON object. A json.RawMessage or []byte is
	// taken as JSON text and written as it is (it must be a valid JSON
	// object); any other value is encoded with encoding/json.
	Signals any
	// OnlyIfMissing sets only the signals the page does not have yet.
	OnlyIfMissing bool
}

// MarshalEvent encodes the signals and returns the event as a [Text].
func (p PatchSignals) MarshalEvent() (Text, error) {
	var raw []byte
	switch s := p.Signals.(type) {
	case json.RawMessage:
		raw = s
	case []byte:
		raw = s
	default:
		var err error
		if raw, err = json.Marshal(s); err != nil {
			return Text{}, fmt.Errorf("%w: signals: %w", ErrInvalidEvent, err)
		}
	}
	if !json.Valid(raw) || !bytes.HasPrefix(bytes.TrimLeft(raw, " \t\r\n"), []byte("{")) {
		return Text{}, fmt.Errorf("%w: signals are not a JSON object", ErrInvalidEvent)
	}
	var data []byte
	if p.OnlyIfMissing {
		data = append(data, "onlyIfMissing true\n"...)
	}
	data = appendLines(data, "signals ", string(raw))
	return Text{Type: patchSignalsType, ID: p.ID, Retry: datastarRetry(p.Retry),
		Data: string(data[:len(data)-1])}, nil
}

// ExecuteScript runs a script in the page: Datastar's SDK sends it as a
// <script> element appended to the body.
type ExecuteScript struct {
	// ID and Retry are as in [PatchElements].
	ID    string
	Retry time.Duration
	// Script is the JavaScript to run, written as it is: the program's own
	// code, never text from a user.
	Script string
	// KeepScript leaves the <script> element in the page; by default it
	// removes itself once it ran.
	KeepScript bool
	// Attributes are whole attributes of the element, such as
	// `type="module"`, written as they are.
	Attributes []string
}

// MarshalEvent returns the event as a [Text].
func (e ExecuteScript) MarshalEvent() (Text, error) {
	var sb strings.Builder
	sb.WriteString("<script")
	for _, a := range e.Attributes {
		sb.WriteString(" ")
		sb.WriteString(a)
	}
	if !e.KeepScript {
		sb.WriteString(` data-effect="el.remove()"`)
	}
	sb.WriteString(">")
	sb.WriteString(e.Script)
	sb.WriteString("</script>")
	return PatchElements{ID: e.ID, Retry: e.Retry, Selector: "body", Mode: "append",
		Elements: Markup(sb.String())}.MarshalEvent()
}

// datastarRetry is the Retry to write: none for Datastar's default.
func datastarRetry(d time.Duration) time.Duration {
	if d == datastarDefaultRetry {
		return 0
	}
	return d
}

// ReadSignals decodes the Datastar signals of r into v with encoding/json,
// where Datastar's client puts them: the "datastar" query parameter for GET
// and DELETE, and for HEAD, which answers as GET does (none there leaves v
// as it is); the JSON body otherwise.
//
// Malformed JSON, or JSON that does not fit v, is an error that refuses the
// request with 400 Bad Request when Accept returns it. Behind a [Handler]
// the body was read before Accept, so ReadSignals can be called in Accept
// and again in Stream, each time reading it all; elsewhere it reads the
// body, and one over [MaxBodyLen] bytes is refused with 413.
func ReadSignals(r *http.Request, v any) error {
	var input []byte
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodDelete {
		q := r.URL.Query().Get("datastar")
		if q == "" {
			return nil
		}
		input = []byte(q)
	} else if ahead, ok := r.Body.(*aheadBody); ok {
		input = ahead.all
	} else {
		if err := readBody(r); err != nil {
			return err
		}
		if ahead, ok := r.Body.(*aheadBody); ok {
			input = ahead.all
		}
	}
	if err := json.Unmarshal(input, v); err != nil {
		var invalid *json.InvalidUnmarshalError
		if errors.As(err, &invalid) {
			return fmt.Errorf("sseview: ReadSignals: %w", err) // the program's mistake: 500
		}
		return fmt.Errorf("%w: %w", Refuse(http.StatusBadRequest, signalsMessage(err)), err)
	}
	return nil
}

// signalsMessage says what is wrong with the signals without echoing them:
// encoding/json's own message for a type mismatch quotes a number literal
// whole, however long.
func signalsMessage(err error) string {
	const prefix = "sseview: the Datastar signals are not valid: "
	var syntax *json.SyntaxError
	var mismatch *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("%s%v (at byte %d)", prefix, syntax, syntax.Offset)
	case errors.As(err, &mismatch):
		kind, _, _ := strings.Cut(mismatch.Value, " ") // "number 123" -> "number"
		return fmt.Sprintf("%ssignal %s is a JSON %s, want %v", prefix, quote.Bounded(mismatch.Field), kind, mismatch.Type)
	default:
		return prefix + quote.Bounded(err.Error())
	}
}
