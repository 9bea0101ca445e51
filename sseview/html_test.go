package sseview_test

import (
	"context"
	"errors"
	"html/template"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

var messageTmpl = template.Must(template.New("msg").Parse(
	`<div class="msg" id="m-{{.ID}}"><b>{{.Author}}</b> {{.Text}}</div>`))

type message struct {
	ID     int
	Author string
	Text   string
}

// component has the shape of a templ component.
type component struct{ title string }

func (c component) Render(ctx context.Context, w io.Writer) error {
	_, err := io.WriteString(w, "<h1 data-request=\""+template.HTMLEscapeString(middleware.GetReqID(ctx))+"\">"+
		template.HTMLEscapeString(c.title)+"</h1>")
	return err
}

func serveEvents(t *testing.T, h *sseview.Handler) *sseviewtest.Stream {
	t.Helper()
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.Recoverer)
	r.Handle("/stream", h)
	return sseviewtest.OpenT(t, r, httptest.NewRequest(http.MethodGet, "/stream", nil))
}

func TestHTMLFragments(t *testing.T) {
	view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return seq(ctx,
			sseview.HTML{Type: "message", ID: "1", Fragment: sseview.Template(messageTmpl, "",
				message{ID: 7, Author: "ann", Text: "</div><script>alert(1)</script>"})},
			sseview.HTML{Type: "title", Fragment: component{title: "Board & co"}},
			sseview.HTML{Fragment: sseview.Markup("<ul>\n<li>one</li>\n</ul>\n")},
			&sseview.HTML{Type: "named", Fragment: sseview.Template(messageTmpl, "msg", message{ID: 8})},
		)
	})
	s := serveEvents(t, &sseview.Handler{View: view})

	s.Expect(t, sseviewtest.Event{Type: "message", ID: "1",
		Data: `<div class="msg" id="m-7"><b>ann</b> &lt;/div&gt;&lt;script&gt;alert(1)&lt;/script&gt;</div>`})
	title := next(t, s)
	assert.Regexp(t, `^<h1 data-request="[^"]+/[^"]+-\d+">Board &amp; co</h1>$`, title.Data,
		"a component renders with the request's context")
	s.Expect(t,
		sseviewtest.Event{Type: "message", ID: "1", Data: "<ul>\n<li>one</li>\n</ul>\n"},
		sseviewtest.Event{Type: "named", ID: "1", Data: `<div class="msg" id="m-8"><b></b> </div>`})
}

// A CR in HTML, which html/template leaves alone in text and attributes,
// must not end a data line: written raw, the client would read what
// follows it as a field of its own.
func TestHTMLWithCRInjectsNoField(t *testing.T) {
	crText := "x\rdata: injected\revent: evil\r\rid: 666"
	view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return seq(ctx,
			sseview.HTML{Type: "message", Fragment: sseview.Template(messageTmpl, "", message{ID: 1, Text: crText})},
			sseview.HTML{Type: "pre", Fragment: sseview.Markup("<pre>a\r\nb\rc\nd</pre><textarea>\r\nx</textarea>")},
		)
	})
	s := serveEvents(t, &sseview.Handler{View: view})

	// HTML parsing turns CR and CRLF into LF before it builds the DOM, so
	// the fragment the client gets, with LF in their place, is the same DOM.
	s.Expect(t,
		sseviewtest.Event{Type: "message",
			Data: `<div class="msg" id="m-1"><b></b> x` + "\ndata: injected\nevent: evil\n\nid: 666</div>"},
		sseviewtest.Event{Type: "pre", Data: "<pre>a\nb\nc\nd</pre><textarea>\nx</textarea>"})
}

func TestHTMLWireForm(t *testing.T) {
	rec := httptest.NewRecorder()
	h := &sseview.Handler{View: finite(sseview.HTML{Type: "t", ID: "9", Fragment: sseview.Markup("<p>a\r\nb\rc</p>\n")})}
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, "event: t\nid: 9\ndata: <p>a\ndata: b\ndata: c</p>\ndata: \n\n", rec.Body.String())

	enc, err := sseview.Encode(sseview.HTML{Type: "t", ID: "9", Fragment: sseview.Markup("<p>a\r\nb\rc</p>\n")})
	require.NoError(t, err)
	rec = httptest.NewRecorder()
	(&sseview.Handler{View: finite(enc)}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, "event: t\nid: 9\ndata: <p>a\ndata: b\ndata: c</p>\ndata: \n\n", rec.Body.String(),
		"Encode writes the same bytes as the stream")
}

// failing writes half a fragment, then fails.
type failing struct{}

func (failing) Render(_ context.Context, w io.Writer) error {
	if _, err := io.WriteString(w, "<div>half"); err != nil {
		return err
	}
	return errors.New("template broke")
}

func TestHTMLRenderErrorEndsTheStream(t *testing.T) {
	broken := template.Must(template.New("b").Parse(`<p>{{.Missing.Field}}</p>`))
	tests := []struct {
		name   string
		ev     sseview.Event
		logged string
	}{
		{"renderer", sseview.HTML{Fragment: failing{}}, "template broke"},
		{"template", sseview.HTML{Fragment: sseview.Template(broken, "", struct{}{})}, "Missing"},
		{"unknown template name", sseview.HTML{Fragment: sseview.Template(messageTmpl, "nope", nil)}, "nope"},
		{"nil fragment", sseview.HTML{}, "no fragment"},
		{"nil template", sseview.HTML{Fragment: sseview.Template(nil, "", nil)}, "nil template"},
		{"invalid UTF-8", sseview.HTML{Fragment: sseview.Markup("<p>\xff</p>")}, "UTF-8"},
		{"CR in the id", sseview.HTML{ID: "a\rb", Fragment: sseview.Markup("<p></p>")}, "id contains"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := newLogRecorder()
			h := &sseview.Handler{View: finite(sseview.Text{Data: "before"}, tt.ev, sseview.Text{Data: "never"}),
				Logger:     logs.logger(),
				ErrorEvent: func(error) sseview.Event { return sseview.Text{Type: "error", Data: "sorry"} }}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			assert.Equal(t, "data: before\n\nevent: error\ndata: sorry\n\n", rec.Body.String(),
				"nothing of the failed fragment is written")
			assert.Contains(t, logs.String(), "sseview: stream failed")
			assert.Contains(t, logs.String(), tt.logged)
		})
	}
	_, err := sseview.Encode(sseview.HTML{Fragment: failing{}})
	assert.ErrorIs(t, err, sseview.ErrInvalidEvent)
}

func TestHTMLThroughTheBroker(t *testing.T) {
	broker := &sseview.MemoryBroker{}
	view := viewFunc(func(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return broker.Subscribe(ctx, "board", sseview.LastEventID(r))
	})
	s1 := serveEvents(t, &sseview.Handler{View: view})
	s2 := serveEvents(t, &sseview.Handler{View: view})
	pollUntil(t, "both subscriptions", func() bool { return broker.SubscriberCount("board") == 2 })

	frag := &counting{Renderer: sseview.Template(messageTmpl, "", message{ID: 3, Author: "bo", Text: "hi\r\nthere"})}
	id, err := broker.Publish(t.Context(), "board", sseview.HTML{Type: "message", Fragment: frag})
	require.NoError(t, err)
	want := sseviewtest.Event{Type: "message", ID: id, Data: `<div class="msg" id="m-3"><b>bo</b> hi` + "\nthere</div>"}
	s1.Expect(t, want)
	s2.Expect(t, want)
	assert.Equal(t, int32(1), frag.renders.Load(), "a published fragment is rendered and encoded once for all")
}

// counting counts the renders of the Renderer it wraps.
type counting struct {
	sseview.Renderer
	renders atomic.Int32
}

func (c *counting) Render(ctx context.Context, w io.Writer) error {
	c.renders.Add(1)
	return c.Renderer.Render(ctx, w)
}

// The hypermedia kinds work as pointers too; a nil one is an invalid
// event, as a nil *Text is, and never a panic: a stream writes nothing of
// it and sends the error event, Encode and Publish refuse it.
func TestNilPointerEventsAreInvalid(t *testing.T) {
	markup := sseview.Markup(`<p id="p">x</p>`)
	encoded, err := sseview.Encode(sseview.Text{Type: "message", Data: "x"})
	require.NoError(t, err)
	for _, tt := range []struct {
		kind     string
		nilEvent sseview.Event
		event    sseview.Event // the same kind, by pointer
		want     string
	}{
		{"*sseview.Encoded", (*sseview.Encoded)(nil), encoded, "event: message\ndata: x\n\n"},
		{"*sseview.Text", (*sseview.Text)(nil), &sseview.Text{Type: "message", Data: "x"}, "event: message\ndata: x\n\n"},
		{"*sseview.JSON", (*sseview.JSON)(nil), &sseview.JSON{Type: "message", Data: 1}, "event: message\ndata: 1\n\n"},
		{"*sseview.HTML", (*sseview.HTML)(nil), &sseview.HTML{Type: "message", Fragment: markup},
			"event: message\ndata: <p id=\"p\">x</p>\n\n"},
		{"*sseview.PatchElements", (*sseview.PatchElements)(nil), &sseview.PatchElements{Elements: markup},
			"event: datastar-patch-elements\ndata: elements <p id=\"p\">x</p>\n\n\n"},
		{"*sseview.PatchSignals", (*sseview.PatchSignals)(nil), &sseview.PatchSignals{Signals: map[string]int{"a": 1}},
			"event: datastar-patch-signals\ndata: signals {\"a\":1}\n\n\n"},
		{"*sseview.ExecuteScript", (*sseview.ExecuteScript)(nil), &sseview.ExecuteScript{Script: "x()", KeepScript: true},
			"event: datastar-patch-elements\ndata: selector body\ndata: mode append\ndata: elements <script>x()</script>\n\n\n"},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			h := &sseview.Handler{View: finite(tt.event, tt.nilEvent, sseview.Text{Data: "never sent"}),
				Logger: slog.New(slog.DiscardHandler),
				ErrorEvent: func(err error) sseview.Event {
					return sseview.Text{Type: "error", Data: err.Error()}
				}}
			rec := httptest.NewRecorder()
			realisticRouter(h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/stream", nil))
			assert.Equal(t, tt.want+"event: error\ndata: sseview: invalid event: nil "+tt.kind+"\n\n", rec.Body.String())

			_, err := sseview.Encode(tt.nilEvent)
			assert.ErrorIs(t, err, sseview.ErrInvalidEvent, "Encode")
			var broker sseview.MemoryBroker
			_, err = broker.Publish(t.Context(), "board", tt.nilEvent)
			assert.ErrorIs(t, err, sseview.ErrInvalidEvent, "Publish")
		})
	}
}
