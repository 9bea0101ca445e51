package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sseview/sseview/internal/testutil"
	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// open opens the board's event stream at target as the page's EventSource
// does, and closes it when the test ends.
func open(t *testing.T, target string) *sseviewtest.Stream {
	t.Helper()
	return sseviewtest.DialT(t, nil, httptest.NewRequest(http.MethodGet, target, nil))
}

// next reads the next event of s, failing the test if none comes.
func next(t *testing.T, s *sseviewtest.Stream) sseviewtest.Event {
	t.Helper()
	ev, err := s.Next()
	require.NoError(t, err)
	return ev
}

func serveBoard(t *testing.T) (*app, string) {
	t.Helper()
	a := newApp(slog.New(slog.DiscardHandler))
	return a, testutil.Serve(t, a.handler).URL
}

// firstChange moves a card and returns the board after it. A stream's
// response headers reach the client before its view subscribes, and a
// stream opened without an id misses a change published in between; a
// test that opens a stream and then changes the board opens it from the
// ids in the snapshot, as the page does with since.
func firstChange(t *testing.T, a *app) Snapshot {
	t.Helper()
	require.NoError(t, a.board.Move(t.Context(), 1, "doing"))
	return a.board.Snapshot()
}

func post(t *testing.T, target string, form url.Values) *http.Response {
	t.Helper()
	resp, err := http.PostForm(target, form)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func postJSON(t *testing.T, target, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, target, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Datastar-Request", "true")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestAPostReachesEveryPageEscapedAndFramed(t *testing.T) {
	a, base := serveBoard(t)
	since := "/events?since=" + url.QueryEscape(firstChange(t, a).LastID)
	s1, s2 := open(t, base+since), open(t, base+since)

	resp := post(t, base+"/messages", url.Values{"author": {"ann"}, "text": {"hi\r</div><b>x</b>\r\ndata: y"}})
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	want := `<li class="message" id="msg-4"><b class="author">ann</b> <span class="text">hi` +
		"\n&lt;/div&gt;&lt;b&gt;x&lt;/b&gt;\ndata: y</span></li>"
	for _, s := range []*sseviewtest.Stream{s1, s2} {
		ev := next(t, s)
		assert.Equal(t, "message", ev.Type)
		assert.Equal(t, want, ev.Data)
		assert.NotEmpty(t, ev.ID)
	}

	resp = post(t, base+"/cards/2/move", url.Values{"to": {"done"}})
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	for _, s := range []*sseviewtest.Stream{s1, s2} {
		ev := next(t, s)
		assert.Equal(t, "cards", ev.Type)
		done := ev.Data[strings.Index(ev.Data, `id="col-done"`):]
		assert.Contains(t, done, `id="card-2"`)
	}
}

func TestBadPostsAreRefused(t *testing.T) {
	_, base := serveBoard(t)
	for name, tc := range map[string]struct {
		path   string
		form   url.Values
		status int
		msg    string
	}{
		"empty message":     {"/messages", url.Values{"text": {""}}, http.StatusBadRequest, "the message is empty"},
		"long message":      {"/messages", url.Values{"text": {strings.Repeat("x", maxText+1)}}, http.StatusBadRequest, "more than 2000"},
		"long author":       {"/messages", url.Values{"author": {strings.Repeat("a", 65)}, "text": {"x"}}, http.StatusBadRequest, "more than 64"},
		"invalid UTF-8":     {"/messages", url.Values{"text": {"\xff"}}, http.StatusBadRequest, "not valid UTF-8"},
		"huge form":         {"/messages", url.Values{"text": {strings.Repeat("x", 20<<10)}}, http.StatusRequestEntityTooLarge, "too large"},
		"unknown column":    {"/cards/1/move", url.Values{"to": {strings.Repeat("z", 1000)}}, http.StatusBadRequest, "(1000 bytes)"},
		"unknown card":      {"/cards/99/move", url.Values{"to": {"done"}}, http.StatusBadRequest, "no card 99"},
		"card not a number": {"/cards/x/move", url.Values{"to": {"done"}}, http.StatusBadRequest, "not a number"},
	} {
		t.Run(name, func(t *testing.T) {
			resp := post(t, base+tc.path, tc.form)
			assert.Equal(t, tc.status, resp.StatusCode)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Contains(t, string(body), tc.msg)
			assert.Less(t, len(body), 300, "the answer never echoes the input")
		})
	}
}

func TestAPageResumesFromItsLastEventID(t *testing.T) {
	a, base := serveBoard(t)
	s := open(t, base+"/events?since="+url.QueryEscape(firstChange(t, a).LastID))
	_, err := a.board.Post(t.Context(), "ann", "one")
	require.NoError(t, err)
	first := next(t, s)

	// "two" is posted while the page's connection is down: Reconnect drops
	// what the test has not read, then sends the same URL, since and all,
	// with the id of the last event read as Last-Event-ID, which wins.
	_, err = a.board.Post(t.Context(), "ann", "two")
	require.NoError(t, err)
	require.NoError(t, s.Reconnect())
	ev := next(t, s)
	assert.Equal(t, "message", ev.Type)
	assert.Contains(t, ev.Data, ">two<")

	// A first connection takes the page's since instead.
	s = open(t, base+"/events?since="+url.QueryEscape(first.ID))
	assert.Contains(t, next(t, s).Data, ">two<")
}

// After a restart of the program (here: a board with another broker), a
// page's Last-Event-ID is unknown: it gets the whole board, then the
// changes after it, none twice.
func TestAnUnknownLastEventIDGetsTheWholeBoard(t *testing.T) {
	old, _ := serveBoard(t)
	_, err := old.board.Post(t.Context(), "ann", "before the restart")
	require.NoError(t, err)
	staleID := old.board.Snapshot().LastID

	a, base := serveBoard(t)
	_, err = a.board.Post(t.Context(), "bo", "after the restart")
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodGet, base+"/events", nil)
	req.Header.Set("Last-Event-ID", staleID)
	s := sseviewtest.DialT(t, nil, req)
	ev := next(t, s)
	assert.Equal(t, "board", ev.Type)
	assert.Contains(t, ev.Data, "after the restart")
	assert.Contains(t, ev.Data, `id="columns"`)
	assert.Equal(t, a.board.Snapshot().LastID, ev.ID)

	_, err = a.board.Post(t.Context(), "bo", "next")
	require.NoError(t, err)
	ev = next(t, s)
	assert.Equal(t, "message", ev.Type)
	assert.Contains(t, ev.Data, ">next<")
}

// Datastar's client has no 1.x bundle on npm, so its side is tested here,
// on the wire: its @post stream and its signals.
func TestDatastarOnTheWire(t *testing.T) {
	a, base := serveBoard(t)

	// @post('/datastar/events') opens the stream with the page's signals.
	s := sseviewtest.DialT(t, nil, httptest.NewRequest(http.MethodPost,
		base+"/datastar/events?since="+url.QueryEscape(firstChange(t, a).LastDatastarID), strings.NewReader(`{"text":""}`)))
	require.Equal(t, "text/event-stream", s.Response().Header.Get("Content-Type"))

	resp := postJSON(t, base+"/datastar/messages", `{"author":"cy","text":"a\rb</li>"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "event: datastar-patch-signals\ndata: signals {\"text\":\"\"}\n\n\n", string(raw), "as datastar-go writes it")

	ev := next(t, s)
	assert.Equal(t, "datastar-patch-elements", ev.Type)
	assert.Equal(t, "selector #messages\nmode append\n"+
		`elements <li class="message" id="msg-4"><b class="author">cy</b> <span class="text">a`+"\n"+
		`elements b&lt;/li&gt;</span></li>`, ev.Data)

	for name, body := range map[string]string{"malformed": `{"text":`, "empty text": `{"text":""}`} {
		resp := postJSON(t, base+"/datastar/messages", body)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, name)
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Contains(t, string(raw), `"error"`, name)
	}
	resp = postJSON(t, base+"/datastar/messages", strings.Repeat(" ", sseview.MaxBodyLen+1))
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
}

func TestThePageAndItsScriptsAreServedLocally(t *testing.T) {
	_, base := serveBoard(t)
	resp, err := http.Get(base + "/")
	require.NoError(t, err)
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(page), `sse-connect="/events?since="`)
	assert.NotContains(t, string(page), "https://", "no CDN")
	for _, path := range []string{"/vendor/htmx.min.js", "/vendor/sse.min.js"} {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Greater(t, len(body), 1000, path)
	}
}
