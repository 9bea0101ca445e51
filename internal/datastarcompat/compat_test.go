package datastarcompat

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/starfederation/datastar-go/datastar"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/eventstream"
	"github.com/sseview/sseview/sseview"
)

// sdkWire returns what datastar-go writes for one call.
func sdkWire(t *testing.T, send func(*datastar.ServerSentEventGenerator) error) string {
	t.Helper()
	rec := httptest.NewRecorder()
	sse := datastar.NewSSE(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.NoError(t, send(sse))
	return rec.Body.String()
}

// input is one input to both libraries: sseview's event, and the SDK call
// that must write the same bytes, which with withID is given another id.
type input interface {
	ours() sseview.Event
	sdk(*datastar.ServerSentEventGenerator) error
	withID(id string) input
}

// wires is what sseview writes for one event: in a stream, which renders
// it there; through sseview.Encode, as a program fanning it out does; and
// delivered by a MemoryBroker, which gives it the id brokerID.
type wires struct {
	stream, encoded, brokered, brokerID string
}

// ourWires returns what sseview writes for ev. A refused event gives the
// error, once each path has been checked to refuse it and write nothing.
func ourWires(t *testing.T, ev sseview.Event) (wires, error) {
	t.Helper()
	w := wires{stream: serve(t, ev)}
	enc, err := sseview.Encode(ev)
	var publishErr error
	w.brokered, w.brokerID, publishErr = viaBroker(t, ev)
	if err != nil {
		require.Empty(t, w.stream, "a refused event writes nothing in a stream either")
		require.ErrorIs(t, publishErr, sseview.ErrInvalidEvent, "a broker refuses it too")
		return wires{}, err
	}
	require.NoError(t, publishErr)
	w.encoded = serve(t, enc)
	return w, nil
}

// differences says how sseview's bytes for in differ from the SDK's, or
// returns "" when every path writes exactly the SDK's bytes.
func differences(t *testing.T, in input, w wires) string {
	t.Helper()
	var diffs []string
	sdk := sdkWire(t, in.sdk)
	if w.stream != sdk {
		diffs = append(diffs, fmt.Sprintf("in a stream:\n  sseview     %q\n  datastar-go %q", w.stream, sdk))
	}
	if w.encoded != sdk {
		diffs = append(diffs, fmt.Sprintf("through Encode:\n  sseview     %q\n  datastar-go %q", w.encoded, sdk))
	}
	if brokered := sdkWire(t, in.withID(w.brokerID).sdk); w.brokered != brokered {
		diffs = append(diffs, fmt.Sprintf("through a MemoryBroker:\n  sseview     %q\n  datastar-go %q", w.brokered, brokered))
	}
	return strings.Join(diffs, "\n")
}

// assertSameAsSDK checks that sseview writes exactly the SDK's bytes for a
// valid input, however the event reaches the client.
func assertSameAsSDK(t *testing.T, in input) {
	t.Helper()
	w, err := ourWires(t, in.ours())
	require.NoError(t, err)
	assert.Empty(t, differences(t, in, w), "input %#v", in)
}

type eventKey struct{}

// fromContext streams the one event the test put in the request's context.
type fromContext struct{}

func (fromContext) Stream(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) { yield(ctx.Value(eventKey{}).(sseview.Event), nil) }
}

// router serves sseview streams behind the middleware a real chi
// application has.
var router = func() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.ClientIPFromXFF("127.0.0.0/8"),
		middleware.RequestLogger(&middleware.DefaultLogFormatter{Logger: log.New(io.Discard, "", 0), NoColor: true}),
		middleware.Recoverer)
	r.Method(http.MethodGet, "/events", &sseview.Handler{View: fromContext{}, KeepAlive: -1, Logger: discard})
	return r
}()

// serve returns the body of a stream that yields ev.
func serve(t *testing.T, ev sseview.Event) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/events", nil)
	req = req.WithContext(context.WithValue(req.Context(), eventKey{}, ev))
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	return rec.Body.String()
}

// viaBroker publishes ev to a MemoryBroker after another event, resumes
// from that one, and returns the body of a stream yielding what the
// broker delivers, with the id the broker gave ev.
func viaBroker(t *testing.T, ev sseview.Event) (wire, id string, err error) {
	t.Helper()
	var broker sseview.MemoryBroker
	before, err := broker.Publish(t.Context(), "board", sseview.Text{Data: "before"})
	require.NoError(t, err)
	if id, err = broker.Publish(t.Context(), "board", ev); err != nil {
		return "", "", err
	}
	for delivered, err := range broker.Subscribe(t.Context(), "board", before) {
		require.NoError(t, err)
		return serve(t, delivered), id, nil
	}
	t.Fatal("the broker delivered nothing")
	return "", "", nil
}

// sugar is one of the SDK's convenience calls, made with the id given
// (none when it is empty), and the sseview event that must equal it.
type sugar struct {
	ev   sseview.Event
	call func(sse *datastar.ServerSentEventGenerator, id string) error
	id   string
}

func (s sugar) ours() sseview.Event                              { return s.ev }
func (s sugar) sdk(sse *datastar.ServerSentEventGenerator) error { return s.call(sse, s.id) }
func (s sugar) withID(id string) input                           { s.id = id; return s }

// elements is one input to both libraries' patch-elements call.
type elements struct {
	HTML, Selector, Mode, Namespace string
	ViewTransition                  bool
	ViewTransitionSelector, ID      string
	Retry                           time.Duration
}

func (e elements) sdk(sse *datastar.ServerSentEventGenerator) error {
	opts := []datastar.PatchElementOption{datastar.WithUseViewTransitions(e.ViewTransition)}
	if e.Selector != "" {
		opts = append(opts, datastar.WithSelector(e.Selector))
	}
	if e.Mode != "" {
		opts = append(opts, datastar.WithMode(datastar.ElementPatchMode(e.Mode)))
	}
	if e.Namespace != "" {
		opts = append(opts, datastar.WithNamespace(datastar.Namespace(e.Namespace)))
	}
	if e.ViewTransitionSelector != "" {
		opts = append(opts, datastar.WithViewTransitionSelector(e.ViewTransitionSelector))
	}
	if e.ID != "" {
		opts = append(opts, datastar.WithPatchElementsEventID(e.ID))
	}
	if e.Retry != 0 {
		opts = append(opts, datastar.WithRetryDuration(e.Retry))
	}
	return sse.PatchElements(e.HTML, opts...)
}

func (e elements) withID(id string) input { e.ID = id; return e }

func (e elements) ours() sseview.Event {
	ev := sseview.PatchElements{ID: e.ID, Retry: e.Retry, Selector: e.Selector, Mode: e.Mode, Namespace: e.Namespace,
		UseViewTransition: e.ViewTransition, ViewTransitionSelector: e.ViewTransitionSelector}
	if e.HTML != "" {
		ev.Elements = sseview.Markup(e.HTML)
	}
	return ev
}

// valid reports whether e is an input both libraries must write alike:
// one that datastar-go writes without a raw line break or invalid UTF-8
// where it does not belong, with an id and retry sseview's rule for every
// event allows, that Datastar's client can act on, and whose every option
// says something (the SDK silently drops a view transition selector
// without view transitions; sseview refuses it).
func (e elements) valid() bool {
	for _, s := range []string{e.HTML, e.Selector, e.ViewTransitionSelector} {
		if strings.ContainsRune(s, '\r') || !utf8.ValidString(s) {
			return false
		}
	}
	modes := map[string]bool{"outer": true, "inner": true, "remove": true, "replace": true, "prepend": true,
		"append": true, "before": true, "after": true}
	namespaces := map[string]bool{"": true, "html": true, "svg": true, "mathml": true}
	nothing := e.HTML == "" && e.Selector == "" && (e.Mode == "" || e.Mode == "outer") &&
		(e.Namespace == "" || e.Namespace == "html") && !e.ViewTransition
	return !strings.ContainsAny(e.Selector+e.ViewTransitionSelector, "\n") &&
		(e.Mode == "" || modes[e.Mode]) && namespaces[e.Namespace] &&
		(e.ViewTransitionSelector == "" || e.ViewTransition) && !nothing &&
		idComesBack(e.ID) && retryValid(e.Retry)
}

// idComesBack restates, independently of sseview's code, the rule of
// sseview.Text.ID: an id a client can send back unchanged as Last-Event-ID
// and that sseview's Handler accepts. The SDK writes any id that has no
// line break; sseview refuses the others, and so does this test.
func idComesBack(id string) bool {
	if len(id) > sseview.MaxLastEventIDLen || !utf8.ValidString(id) {
		return false
	}
	if id != "" && (id[0] == ' ' || id[len(id)-1] == ' ') {
		return false // header parsing trims it
	}
	return !strings.ContainsFunc(id, func(r rune) bool { return r < ' ' || r == 0x7f })
}

// retryValid is sseview's rule for a retry: none, or a whole number of
// milliseconds. The SDK truncates a fraction of a millisecond and drops a
// negative retry; sseview refuses both rather than change the value.
func retryValid(d time.Duration) bool { return d >= 0 && d%time.Millisecond == 0 }

// The SDK writes "mode " for WithMode(""), so the table leaves Mode empty
// only where no WithMode is given: the elements helper above does that.
var elementCases = map[string]elements{
	"one element":             {HTML: `<div id="a">1</div>`},
	"lines":                   {HTML: "<ul id=l>\n<li>a</li>\n\n<li>b</li>\n</ul>\n"},
	"selector and inner":      {HTML: "<b>7</b>", Selector: "#count", Mode: "inner"},
	"every mode":              {HTML: "<p>x</p>", Selector: "main > p", Mode: "after"},
	"outer spelt out":         {HTML: "<p id=p>x</p>", Mode: "outer"},
	"remove":                  {Selector: "#gone", Mode: "remove"},
	"svg":                     {HTML: "<circle id=c r=1 />", Namespace: "svg"},
	"html spelt out":          {HTML: "<p id=p></p>", Namespace: "html"},
	"mathml":                  {HTML: "<mi id=m>x</mi>", Namespace: "mathml", Mode: "replace"},
	"view transition":         {HTML: "<p id=p></p>", ViewTransition: true},
	"scoped view transition":  {HTML: "<p id=p></p>", ViewTransition: true, ViewTransitionSelector: "#p"},
	"id and retry":            {HTML: "<p id=p></p>", ID: "board-17", Retry: 2500 * time.Millisecond},
	"default retry":           {HTML: "<p id=p></p>", Retry: time.Second},
	"unicode, NUL and spaces": {HTML: " <p id=p>é \x00 ✓</p> ", Selector: " #p"},
	"empty lines only":        {HTML: "\n\n", Selector: "#x"},
	"markup that looks like fields": {HTML: "<pre id=p>\ndata: x\nevent: y\nid: z\n\n</pre>",
		Selector: "#p"},
}

func TestPatchElementsMatchesTheSDK(t *testing.T) {
	for name, e := range elementCases {
		t.Run(name, func(t *testing.T) {
			require.True(t, e.valid(), "the table holds valid input only")
			assertSameAsSDK(t, e)
		})
	}
}

// intended is what a spec parser must read from a patch-elements event:
// one event, of its type, with the data lines Datastar's client reads.
func intended(e elements) eventstream.Event {
	var lines []string
	if e.Selector != "" {
		lines = append(lines, "selector "+e.Selector)
	}
	if e.Mode != "" && e.Mode != "outer" {
		lines = append(lines, "mode "+e.Mode)
	}
	if e.Namespace != "" && e.Namespace != "html" {
		lines = append(lines, "namespace "+e.Namespace)
	}
	if e.ViewTransition {
		lines = append(lines, "useViewTransition true")
		if e.ViewTransitionSelector != "" {
			lines = append(lines, "viewTransitionSelector "+e.ViewTransitionSelector)
		}
	}
	if e.HTML != "" {
		html := strings.ReplaceAll(strings.ReplaceAll(e.HTML, "\r\n", "\n"), "\r", "\n")
		for line := range strings.SplitSeq(html, "\n") {
			lines = append(lines, "elements "+line)
		}
	}
	return eventstream.Event{Type: "datastar-patch-elements", Data: strings.Join(lines, "\n"), LastEventID: e.ID}
}

// Where the SDK lets a value inject fields, a spec parser reads an event the
// program never sent from its bytes; sseview writes the event intended, or
// refuses it and writes nothing.
func TestPatchElementsWhereTheSDKInjects(t *testing.T) {
	tests := map[string]struct {
		in      elements
		refused bool
	}{
		// html/template does not escape a CR in text: the user's message
		// below ends the data line and starts an event of its own type.
		"CR in HTML":    {in: elements{HTML: "<p id=m>hi\r\revent: datastar-patch-signals\rdata: signals {\"admin\":true}\r</p>"}},
		"CR in a <pre>": {in: elements{HTML: "<pre id=m>\rretry: 1\r</pre>"}},
		"LF in an id":   {in: elements{HTML: "<p id=p></p>", ID: "1\nevent: evil"}, refused: true},
		"CR in a selector": {in: elements{HTML: "<p></p>", Selector: "#a\rdata: elements <script>alert(1)</script>"},
			refused: true},
		"LF in a view transition selector": {in: elements{HTML: "<p id=p></p>", ViewTransition: true,
			ViewTransitionSelector: "#p\n\nevent: x"}, refused: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			sdk := sdkWire(t, tt.in.sdk)
			sdkEvents, _, _ := eventstream.ParseString(sdk)
			assert.NotEqual(t, []eventstream.Event{intended(tt.in)}, sdkEvents,
				"datastar-go's bytes %q read as another event", sdk)

			w, err := ourWires(t, tt.in.ours())
			if tt.refused {
				require.ErrorIs(t, err, sseview.ErrInvalidEvent)
				return
			}
			require.NoError(t, err)
			ours, _, _ := eventstream.ParseString(w.stream)
			assert.Equal(t, []eventstream.Event{intended(tt.in)}, ours, "sseview's bytes %q", w.stream)
		})
	}
}

// Where the SDK writes a value that does not inject a field but that its
// client cannot use as given, or drops or truncates it, sseview refuses it
// with ErrInvalidEvent rather than write something else. Each case says
// what goes wrong with the SDK's bytes, which are checked to hold the value.
func TestPatchElementsWhereSSEViewRefusesWhatTheSDKWrites(t *testing.T) {
	p := `<p id=p></p>`
	long := strings.Repeat("a", sseview.MaxLastEventIDLen+1)
	tests := map[string]struct {
		in        elements
		sdkWrites string // what the SDK's bytes hold
		why       string
	}{
		"an id with a leading space": {elements{HTML: p, ID: " 7"}, "id:  7\n",
			"the client sends it back as Last-Event-ID, whose value header parsing trims to \"7\""},
		"an id with a control character": {elements{HTML: p, ID: "a\x01b"}, "id: a\x01b\n",
			"net/http answers 400 to a Last-Event-ID holding it, and EventSource then gives up"},
		"an id longer than sseview.MaxLastEventIDLen": {elements{HTML: p, ID: long}, "id: " + long + "\n",
			"sseview's Handler refuses it as a Last-Event-ID"},
		"a retry with a fraction of a millisecond": {elements{HTML: p, Retry: 1500 * time.Microsecond}, "retry: 1\n",
			"the SDK truncates it"},
		"a view transition selector without view transitions": {elements{HTML: p, ViewTransitionSelector: "#p"},
			"data: elements " + p + "\n", "the SDK drops the selector"},
		"an unknown mode": {elements{HTML: p, Mode: "morph"}, "data: mode morph\n",
			"Datastar's client has no such mode"},
		"an unknown namespace": {elements{HTML: p, Namespace: "xml"}, "data: namespace xml\n",
			"Datastar's client has no such namespace"},
		"nothing to patch": {elements{}, "event: datastar-patch-elements\n\n",
			"an event with no data line dispatches nothing"},
		"invalid UTF-8": {elements{HTML: "<p id=p>\xff</p>"}, "\xff",
			"the client reads U+FFFD in its place"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			require.False(t, tt.in.valid())
			assert.Contains(t, sdkWire(t, tt.in.sdk), tt.sdkWrites, tt.why)
			_, err := ourWires(t, tt.in.ours())
			assert.ErrorIs(t, err, sseview.ErrInvalidEvent, tt.why)
		})
	}
}

func FuzzPatchElements(f *testing.F) {
	for _, e := range elementCases {
		f.Add(e.HTML, e.Selector, e.Mode, e.Namespace, e.ViewTransition, e.ViewTransitionSelector, e.ID,
			int64(e.Retry/time.Millisecond))
	}
	f.Add("<p>a\rb</p>", "#x\n", "inner", "svg", false, "#y", "1\x00", int64(-1))
	f.Add("\xff", "", "", "", true, "", "", int64(0))
	f.Add("<p id=p></p>", "", "", "", false, "", " 7", int64(0))
	f.Add("<p id=p></p>", "", "", "", false, "", "a\tb", int64(2))
	f.Fuzz(func(t *testing.T, html, selector, mode, namespace string, vt bool, vts, id string, retryMs int64) {
		if retryMs > 1<<40 || retryMs < -1<<40 {
			return // no overflow of time.Duration
		}
		e := elements{HTML: html, Selector: selector, Mode: mode, Namespace: namespace, ViewTransition: vt,
			ViewTransitionSelector: vts, ID: id, Retry: time.Duration(retryMs) * time.Millisecond}
		w, err := ourWires(t, e.ours())
		if e.valid() {
			if err != nil {
				t.Fatalf("refused valid input %#v: %v", e, err)
			}
			if diff := differences(t, e, w); diff != "" {
				t.Fatalf("input %#v, %s", e, diff)
			}
			return
		}
		if err != nil {
			return
		}
		// Accepted although the SDK could not write it safely: it must
		// still read as the event intended.
		events, _, _ := eventstream.ParseString(w.stream)
		if want := intended(e); len(events) != 1 || events[0] != want {
			t.Fatalf("input %#v wrote %q, read as %#v, want %#v", e, w.stream, events, want)
		}
	})
}

// signals is one input to both libraries' patch-signals call.
type signals struct {
	JSON          string
	OnlyIfMissing bool
	ID            string
	Retry         time.Duration
}

func (s signals) sdk(sse *datastar.ServerSentEventGenerator) error {
	opts := []datastar.PatchSignalsOption{datastar.WithOnlyIfMissing(s.OnlyIfMissing)}
	if s.ID != "" {
		opts = append(opts, datastar.WithPatchSignalsEventID(s.ID))
	}
	if s.Retry != 0 {
		opts = append(opts, datastar.WithPatchSignalsRetryDuration(s.Retry))
	}
	return sse.PatchSignals([]byte(s.JSON), opts...)
}

func (s signals) withID(id string) input { s.ID = id; return s }

func (s signals) ours() sseview.Event {
	return sseview.PatchSignals{ID: s.ID, Retry: s.Retry, OnlyIfMissing: s.OnlyIfMissing, Signals: json.RawMessage(s.JSON)}
}

func (s signals) valid() bool {
	trimmed := strings.TrimLeft(s.JSON, " \t\n\r")
	return json.Valid([]byte(s.JSON)) && strings.HasPrefix(trimmed, "{") && utf8.ValidString(s.JSON) &&
		!strings.ContainsRune(s.JSON, '\r') && idComesBack(s.ID) && retryValid(s.Retry)
}

var signalCases = map[string]signals{
	"object":          {JSON: `{"count":1,"user":{"name":"ann"}}`},
	"only if missing": {JSON: `{"a":null}`, OnlyIfMissing: true},
	"indented":        {JSON: "{\n  \"a\": [\n    1,\n    2\n  ]\n}\n"},
	"id and retry":    {JSON: `{}`, ID: "s-1", Retry: 300 * time.Millisecond},
	"default retry":   {JSON: `{}`, Retry: time.Second},
	"leading space":   {JSON: ` {"a":"é"}`},
}

func TestPatchSignalsMatchesTheSDK(t *testing.T) {
	for name, s := range signalCases {
		t.Run(name, func(t *testing.T) {
			require.True(t, s.valid())
			assertSameAsSDK(t, s)
		})
	}
	t.Run("marshalled", func(t *testing.T) {
		v := map[string]any{"count": 3, "html": "<b>&</b>", "list": []string{"a"}}
		assertSameAsSDK(t, sugar{ev: sseview.PatchSignals{Signals: v, OnlyIfMissing: true},
			call: func(sse *datastar.ServerSentEventGenerator, id string) error {
				if id == "" {
					return sse.MarshalAndPatchSignalsIfMissing(v)
				}
				return sse.MarshalAndPatchSignalsIfMissing(v, datastar.WithPatchSignalsEventID(id))
			}})
	})
}

func TestPatchSignalsWhereTheSDKInjects(t *testing.T) {
	// JSON allows CR as whitespace; written raw it ends the data line.
	in := signals{JSON: "{\r\"a\": 1,\r\"b\": 2}"}
	sdk := sdkWire(t, in.sdk)
	sdkEvents, _, _ := eventstream.ParseString(sdk)
	intendedEvent := eventstream.Event{Type: "datastar-patch-signals", Data: "signals {\nsignals \"a\": 1,\nsignals \"b\": 2}"}
	assert.NotEqual(t, []eventstream.Event{intendedEvent}, sdkEvents, "datastar-go's bytes %q", sdk)

	w, err := ourWires(t, in.ours())
	require.NoError(t, err)
	ours, _, _ := eventstream.ParseString(w.stream)
	assert.Equal(t, []eventstream.Event{intendedEvent}, ours)

	_, err = ourWires(t, signals{JSON: `{"a":1}`, ID: "x\ny"}.ours())
	assert.ErrorIs(t, err, sseview.ErrInvalidEvent, "a line break in an id is refused")
}

func FuzzPatchSignals(f *testing.F) {
	for _, s := range signalCases {
		f.Add(s.JSON, s.OnlyIfMissing, s.ID, int64(s.Retry/time.Millisecond))
	}
	f.Add("{\r}", false, "a\nb", int64(-5))
	f.Add(`{}`, false, "7 ", int64(0))
	f.Add(`[1]`, true, "", int64(0))
	f.Fuzz(func(t *testing.T, js string, onlyIfMissing bool, id string, retryMs int64) {
		if retryMs > 1<<40 || retryMs < -1<<40 {
			return
		}
		s := signals{JSON: js, OnlyIfMissing: onlyIfMissing, ID: id, Retry: time.Duration(retryMs) * time.Millisecond}
		w, err := ourWires(t, s.ours())
		if !s.valid() {
			if err == nil && strings.ContainsRune(js, '\r') {
				events, _, _ := eventstream.ParseString(w.stream)
				if len(events) != 1 || events[0].Type != "datastar-patch-signals" {
					t.Fatalf("%#v wrote %q, read as %#v", s, w.stream, events)
				}
			}
			return
		}
		if err != nil {
			t.Fatalf("refused valid input %#v: %v", s, err)
		}
		if diff := differences(t, s, w); diff != "" {
			t.Fatalf("input %#v, %s", s, diff)
		}
	})
}

// script is one input to both libraries' execute-script call.
type script struct {
	Script     string
	Keep       bool
	Attributes []string
	ID         string
	Retry      time.Duration
}

func (s script) sdk(sse *datastar.ServerSentEventGenerator) error {
	opts := []datastar.ExecuteScriptOption{datastar.WithExecuteScriptAutoRemove(!s.Keep),
		datastar.WithExecuteScriptAttributes(s.Attributes...)}
	if s.ID != "" {
		opts = append(opts, datastar.WithExecuteScriptEventID(s.ID))
	}
	if s.Retry != 0 {
		opts = append(opts, datastar.WithExecuteScriptRetryDuration(s.Retry))
	}
	return sse.ExecuteScript(s.Script, opts...)
}

func (s script) withID(id string) input { s.ID = id; return s }

func (s script) ours() sseview.Event {
	return sseview.ExecuteScript{Script: s.Script, KeepScript: s.Keep, Attributes: s.Attributes, ID: s.ID, Retry: s.Retry}
}

func (s script) valid() bool {
	for _, v := range append([]string{s.Script}, s.Attributes...) {
		if strings.ContainsRune(v, '\r') || !utf8.ValidString(v) {
			return false
		}
	}
	return idComesBack(s.ID) && retryValid(s.Retry)
}

// asElements is the patch both libraries send for s: the <script> element,
// built here as the SDK's documentation describes it, appended to the body.
func (s script) asElements() elements {
	var el strings.Builder
	el.WriteString("<script")
	for _, a := range s.Attributes {
		el.WriteString(" " + a)
	}
	if !s.Keep {
		el.WriteString(` data-effect="el.remove()"`)
	}
	el.WriteString(">" + s.Script + "</script>")
	return elements{HTML: el.String(), Selector: "body", Mode: "append", ID: s.ID, Retry: s.Retry}
}

var scriptCases = map[string]script{
	"removed":         {Script: `console.log("hi")`},
	"kept":            {Script: "x()", Keep: true},
	"attributes":      {Script: "import('/m.js')", Attributes: []string{`type="module"`, `nonce="abc"`}},
	"lines":           {Script: "let a = 1\nconsole.log(a)\n"},
	"id, retry":       {Script: "y()", ID: "run-1", Retry: 5 * time.Second},
	"default retry":   {Script: "y()", Retry: time.Second},
	"speculationrule": {Script: `{"prefetch":[]}`, Keep: true, Attributes: []string{`type="speculationrules"`}},
	"empty":           {},
}

func TestExecuteScriptMatchesTheSDK(t *testing.T) {
	for name, s := range scriptCases {
		t.Run(name, func(t *testing.T) {
			require.True(t, s.valid())
			assertSameAsSDK(t, s)
		})
	}
	t.Run("console log", func(t *testing.T) {
		assertSameAsSDK(t, sugar{ev: sseview.ExecuteScript{Script: `console.log("a\nb")`},
			call: func(sse *datastar.ServerSentEventGenerator, id string) error {
				if id == "" {
					return sse.ConsoleLog("a\nb")
				}
				return sse.ConsoleLog("a\nb", datastar.WithExecuteScriptEventID(id))
			}})
	})
}

// A CR in a script or an attribute, which the SDK writes raw, ends its
// data line there: the rest is read as a field of its own.
func TestExecuteScriptWhereTheSDKInjects(t *testing.T) {
	for name, in := range map[string]script{
		"CR in the script":      {Script: "a()\r\revent: datastar-patch-signals\rdata: signals {}\r"},
		"CR in an attribute":    {Script: "b()", Attributes: []string{"nonce=\"x\rid: 0\""}},
		"two CRs in the script": {Script: "let a = 1\r\rretry: 1\n"}, // an empty line: the event ends early
		"CR, script kept, id":   {Script: "c()\rdata: elements <img src=x>", Keep: true, ID: "s-9"},
	} {
		t.Run(name, func(t *testing.T) {
			want := []eventstream.Event{intended(in.asElements())}
			sdk := sdkWire(t, in.sdk)
			sdkEvents, _, _ := eventstream.ParseString(sdk)
			assert.NotEqual(t, want, sdkEvents, "datastar-go's bytes %q read as another event", sdk)

			w, err := ourWires(t, in.ours())
			require.NoError(t, err)
			ours, _, _ := eventstream.ParseString(w.stream)
			assert.Equal(t, want, ours, "sseview's bytes %q", w.stream)
		})
	}
}

// attributeSep separates the attributes in FuzzExecuteScript's input.
const attributeSep = "\x1f"

func FuzzExecuteScript(f *testing.F) {
	for _, s := range scriptCases {
		f.Add(s.Script, s.Keep, strings.Join(s.Attributes, attributeSep), s.ID, int64(s.Retry/time.Millisecond))
	}
	f.Add("a()\rdata: x", false, "nonce=\"\r\"", "s\n1", int64(-1))
	f.Add("\xff", true, `type="module"`+attributeSep+"\xfe", " 1", int64(3))
	f.Fuzz(func(t *testing.T, body string, keep bool, attrs, id string, retryMs int64) {
		if retryMs > 1<<40 || retryMs < -1<<40 {
			return
		}
		s := script{Script: body, Keep: keep, ID: id, Retry: time.Duration(retryMs) * time.Millisecond}
		if attrs != "" {
			s.Attributes = strings.Split(attrs, attributeSep)
		}
		w, err := ourWires(t, s.ours())
		if s.valid() {
			if err != nil {
				t.Fatalf("refused valid input %#v: %v", s, err)
			}
			if diff := differences(t, s, w); diff != "" {
				t.Fatalf("input %#v, %s", s, diff)
			}
			return
		}
		if err != nil {
			return
		}
		// Accepted although the SDK could not write it safely: it must
		// still read as the event intended.
		events, _, _ := eventstream.ParseString(w.stream)
		if want := intended(s.asElements()); len(events) != 1 || events[0] != want {
			t.Fatalf("input %#v wrote %q, read as %#v, want %#v", s, w.stream, events, want)
		}
	})
}

// A CRLF in HTML or JSON injects nothing in the SDK's bytes either: the SDK
// leaves the CR at the end of a data line, where a client reads CRLF as one
// line end. sseview writes LF only, as it ends every line, so the bytes
// differ and the events read do not. That is why valid input, the input
// whose bytes must be the SDK's, has no CR at all.
func TestCRLFReadsTheSameInBoth(t *testing.T) {
	for name, in := range map[string]input{
		"elements": elements{HTML: "<ul id=l>\r\n<li>a</li>\r\n</ul>"},
		"signals":  signals{JSON: "{\r\n  \"a\": 1\r\n}"},
		"script":   script{Script: "let a = 1\r\nx(a)"},
	} {
		t.Run(name, func(t *testing.T) {
			sdk := sdkWire(t, in.sdk)
			w, err := ourWires(t, in.ours())
			require.NoError(t, err)
			assert.NotEqual(t, sdk, w.stream)
			assert.NotContains(t, w.stream, "\r")
			sdkEvents, _, _ := eventstream.ParseString(sdk)
			ours, _, _ := eventstream.ParseString(w.stream)
			assert.Equal(t, sdkEvents, ours)
		})
	}
}
