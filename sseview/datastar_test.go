package sseview_test

import (
	"context"
	"encoding/json"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/testutil"
	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

// wire serves a view yielding evs and returns the response body.
func wire(t *testing.T, evs ...sseview.Event) string {
	t.Helper()
	rec := httptest.NewRecorder()
	(&sseview.Handler{View: finite(evs...), Logger: slog.New(slog.DiscardHandler)}).ServeHTTP(rec,
		httptest.NewRequest(http.MethodGet, "/", nil))
	return rec.Body.String()
}

func TestDatastarWireForm(t *testing.T) {
	tests := []struct {
		name string
		ev   sseview.Event
		want string
	}{
		{"elements, defaults", sseview.PatchElements{Elements: sseview.Markup(`<div id="a">1</div>`)},
			"event: datastar-patch-elements\ndata: elements <div id=\"a\">1</div>\n\n\n"},
		{"every option", sseview.PatchElements{ID: "7", Retry: 2 * time.Second, Selector: "#list", Mode: "append",
			Namespace: "svg", UseViewTransition: true, ViewTransitionSelector: "#list",
			Elements: sseview.Markup("<li>a</li>\n<li>b</li>\n")},
			"event: datastar-patch-elements\nid: 7\nretry: 2000\ndata: selector #list\ndata: mode append\n" +
				"data: namespace svg\ndata: useViewTransition true\ndata: viewTransitionSelector #list\n" +
				"data: elements <li>a</li>\ndata: elements <li>b</li>\ndata: elements \n\n\n"},
		{"defaults spelt out are not written", sseview.PatchElements{Retry: time.Second, Mode: "outer", Namespace: "html",
			Elements: sseview.Markup("<p id=x></p>")},
			"event: datastar-patch-elements\ndata: elements <p id=x></p>\n\n\n"},
		{"remove", sseview.PatchElements{Selector: "#gone", Mode: "remove"},
			"event: datastar-patch-elements\ndata: selector #gone\ndata: mode remove\n\n\n"},
		{"a CR in the HTML starts a line", sseview.PatchElements{Elements: sseview.Markup("<p id=x>a\rdata: b\r\nc</p>")},
			"event: datastar-patch-elements\ndata: elements <p id=x>a\ndata: elements data: b\ndata: elements c</p>\n\n\n"},
		{"signals", sseview.PatchSignals{Signals: map[string]any{"count": 1}},
			"event: datastar-patch-signals\ndata: signals {\"count\":1}\n\n\n"},
		{"raw signals, only if missing", sseview.PatchSignals{ID: "s1", OnlyIfMissing: true,
			Signals: json.RawMessage("{\r\n  \"a\": 1\n}")},
			"event: datastar-patch-signals\nid: s1\ndata: onlyIfMissing true\ndata: signals {\ndata: signals   \"a\": 1\ndata: signals }\n\n\n"},
		{"script", sseview.ExecuteScript{Script: "console.log(1)"},
			"event: datastar-patch-elements\ndata: selector body\ndata: mode append\n" +
				"data: elements <script data-effect=\"el.remove()\">console.log(1)</script>\n\n\n"},
		{"script kept, with attributes", sseview.ExecuteScript{Script: "x()", KeepScript: true, Attributes: []string{`type="module"`}},
			"event: datastar-patch-elements\ndata: selector body\ndata: mode append\n" +
				"data: elements <script type=\"module\">x()</script>\n\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, routedWire(t, tt.ev), "in a stream")
			enc, err := sseview.Encode(tt.ev)
			require.NoError(t, err)
			assert.Equal(t, tt.want, routedWire(t, enc), "through Encode")
		})
	}
}

// routedWire serves a view yielding evs behind a realistic router and
// returns the response body.
func routedWire(t *testing.T, evs ...sseview.Event) string {
	t.Helper()
	rec := httptest.NewRecorder()
	realisticRouter(&sseview.Handler{View: finite(evs...), Logger: slog.New(slog.DiscardHandler)}).ServeHTTP(rec,
		httptest.NewRequest(http.MethodGet, "/stream", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	return rec.Body.String()
}

// A Datastar event published to a broker reaches its subscribers as the
// bytes the stream writes for it, with the id the broker gave it; so does
// a Text of a Datastar type, which ends as the SDK ends its events, while
// any other Text ends with one blank line.
func TestDatastarThroughABroker(t *testing.T) {
	var broker sseview.MemoryBroker
	before, err := broker.Publish(t.Context(), "board", sseview.Text{Data: "before"})
	require.NoError(t, err)
	published := []sseview.Event{
		sseview.PatchElements{Selector: "#count", Mode: "inner", Retry: 2 * time.Second, Elements: sseview.Markup("<b>1</b>")},
		sseview.PatchSignals{Signals: map[string]int{"count": 1}, OnlyIfMissing: true},
		sseview.ExecuteScript{Script: "x()"},
		sseview.Text{Type: "datastar-patch-signals", Data: "signals {}"},
		sseview.Text{Type: "message", Data: "plain"},
	}
	var ids []string
	for _, ev := range published {
		id, err := broker.Publish(t.Context(), "board", ev)
		require.NoError(t, err)
		ids = append(ids, id)
	}
	view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			n := 0
			for ev, err := range broker.Subscribe(ctx, "board", before) {
				if !yield(ev, err) || err != nil {
					return
				}
				if n++; n == len(published) {
					return
				}
			}
		}
	})
	rec := httptest.NewRecorder()
	realisticRouter(&sseview.Handler{View: view, Logger: slog.New(slog.DiscardHandler)}).ServeHTTP(rec,
		httptest.NewRequest(http.MethodGet, "/stream", nil))
	assert.Equal(t, "event: datastar-patch-elements\nid: "+ids[0]+"\nretry: 2000\ndata: selector #count\ndata: mode inner\n"+
		"data: elements <b>1</b>\n\n\n"+
		"event: datastar-patch-signals\nid: "+ids[1]+"\ndata: onlyIfMissing true\ndata: signals {\"count\":1}\n\n\n"+
		"event: datastar-patch-elements\nid: "+ids[2]+"\ndata: selector body\ndata: mode append\n"+
		"data: elements <script data-effect=\"el.remove()\">x()</script>\n\n\n"+
		"event: datastar-patch-signals\nid: "+ids[3]+"\ndata: signals {}\n\n\n"+
		"event: message\nid: "+ids[4]+"\ndata: plain\n\n", rec.Body.String())
}

func TestDatastarRefusesWhatWouldInjectFields(t *testing.T) {
	html := sseview.Markup("<p id=x></p>")
	for name, ev := range map[string]sseview.Event{
		"LF in the id":           sseview.PatchElements{ID: "1\nevent: evil", Elements: html},
		"CR in the selector":     sseview.PatchElements{Selector: "#a\relements <script>", Elements: html},
		"LF in the vt selector":  sseview.PatchElements{UseViewTransition: true, ViewTransitionSelector: "a\nb", Elements: html},
		"vt selector without vt": sseview.PatchElements{ViewTransitionSelector: "#a", Elements: html},
		"unknown mode":           sseview.PatchElements{Mode: "inner\nelements <script>", Elements: html},
		"unknown namespace":      sseview.PatchElements{Namespace: "xml", Elements: html},
		"invalid UTF-8":          sseview.PatchElements{Elements: sseview.Markup("<p>\xff</p>")},
		"nothing to patch":       sseview.PatchElements{},
		"signals not JSON":       sseview.PatchSignals{Signals: json.RawMessage(`{"a":`)},
		"signals not an object":  sseview.PatchSignals{Signals: []int{1}},
		"NUL in a signals id":    sseview.PatchSignals{ID: "a\x00", Signals: map[string]int{}},
		"negative retry":         sseview.ExecuteScript{Script: "x()", Retry: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Empty(t, wire(t, ev), "nothing is written")
			_, err := sseview.Encode(ev)
			assert.ErrorIs(t, err, sseview.ErrInvalidEvent)
		})
	}
}

type boardSignals struct {
	Message string `json:"message"`
	Count   int    `json:"count"`
}

// signalsView reads the signals in Accept, to refuse bad ones with 400,
// and again in Stream.
type signalsView struct{}

func (signalsView) Accept(r *http.Request, _ sseview.Params) error {
	var s boardSignals
	return sseview.ReadSignals(r, &s)
}

func (signalsView) Stream(_ context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		var s boardSignals
		if err := sseview.ReadSignals(r, &s); err != nil {
			yield(nil, err)
			return
		}
		s.Count++
		yield(sseview.PatchSignals{Signals: s}, nil)
	}
}

func TestReadSignals(t *testing.T) {
	h := &sseview.Handler{View: signalsView{}, Logger: slog.New(slog.DiscardHandler),
		Methods: []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}}
	srv := testutil.Serve(t, realisticRouter(h))
	query := "?datastar=" + url.QueryEscape(`{"message":"hi","count":1}`)

	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch} {
		evs := streamed(t, method, srv.URL+"/stream", `{"message":"hi","count":1}`)
		assert.Equal(t, []sseviewtest.Event{{Type: "datastar-patch-signals", Data: `signals {"message":"hi","count":2}`}},
			evs, method)
	}
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		evs := streamed(t, method, srv.URL+"/stream"+query, `{"ignored":true}`)
		assert.Equal(t, []sseviewtest.Event{{Type: "datastar-patch-signals", Data: `signals {"message":"hi","count":2}`}},
			evs, method)
		evs = streamed(t, method, srv.URL+"/stream", "")
		assert.Equal(t, []sseviewtest.Event{{Type: "datastar-patch-signals", Data: `signals {"message":"","count":1}`}},
			evs, "no signals in the query: none read (%s)", method)
	}
	// HEAD reads the query as GET does: it has no body to read.
	for _, target := range []string{"/stream" + query, "/stream"} {
		resp := sendBody(t, http.MethodHead, srv.URL+target, "")
		assert.Equal(t, http.StatusOK, resp.StatusCode, "HEAD %s", target)
	}

	for name, tc := range map[string]struct{ method, target, body, msg string }{
		"malformed body":  {http.MethodPost, "/stream", `{"message":`, "unexpected end of JSON input"},
		"empty body":      {http.MethodPost, "/stream", ``, "unexpected end of JSON input"},
		"wrong type":      {http.MethodPut, "/stream", `{"count":"x"}`, `signal "count" is a JSON string, want int`},
		"huge number":     {http.MethodPut, "/stream", `{"message":` + strings.Repeat("9", 10000) + `}`, `signal "message" is a JSON number, want string`},
		"malformed query": {http.MethodGet, "/stream?datastar=%7Bx", ``, "invalid character"},
	} {
		t.Run(name, func(t *testing.T) {
			resp := sendBody(t, tc.method, srv.URL+tc.target, tc.body)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			raw, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			var body map[string]string
			require.NoError(t, json.Unmarshal(raw, &body), "%s", raw)
			assert.True(t, strings.HasPrefix(body["error"], "sseview: the Datastar signals are not valid: "), body["error"])
			assert.Contains(t, body["error"], tc.msg)
			assert.Less(t, len(body["error"]), 200, "bounded")
		})
	}
}

func TestReadSignalsOutsideAHandler(t *testing.T) {
	var s boardSignals
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"message":"m"}`))
	require.NoError(t, sseview.ReadSignals(r, &s))
	assert.Equal(t, "m", s.Message)

	r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat(" ", sseview.MaxBodyLen+1)))
	var refusal *sseview.Refusal
	require.ErrorAs(t, sseview.ReadSignals(r, &s), &refusal)
	assert.Equal(t, http.StatusRequestEntityTooLarge, refusal.Status)
}

// A stream opened by POST is a stream like any other: it resumes from
// Last-Event-ID and is kept alive.
func TestPostStreamResumesAndKeepsAlive(t *testing.T) {
	broker := &sseview.MemoryBroker{}
	view := viewFunc(func(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return broker.Subscribe(ctx, "board", sseview.LastEventID(r))
	})
	h := &sseview.Handler{View: view, Methods: []string{http.MethodPost}, KeepAlive: 20 * time.Millisecond}
	first, err := broker.Publish(t.Context(), "board", sseview.PatchElements{Elements: sseview.Markup(`<p id="a">1</p>`)})
	require.NoError(t, err)
	second, err := broker.Publish(t.Context(), "board", sseview.PatchSignals{Signals: map[string]int{"n": 2}})
	require.NoError(t, err)

	req := httptest.NewRequest(http.MethodPost, "/stream", strings.NewReader(`{}`))
	req.Header.Set("Last-Event-ID", first)
	s := sseviewtest.OpenT(t, realisticRouter(h), req)
	s.Comments = true
	s.Expect(t,
		sseviewtest.Event{Type: "datastar-patch-signals", Data: `signals {"n":2}`, ID: second},
		sseviewtest.Event{Comment: ": keep-alive"})
}
