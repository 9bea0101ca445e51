//go:build e2e

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
)

// Where the screenshots go: test-output/ is ignored by git; docs/board.png
// is the README's picture, replaced by every run.
var (
	outputDir = filepath.Join("..", "..", "test-output")
	docsShot  = filepath.Join("..", "..", "docs", "board.png")
)

// server serves an app on a fixed address and can be stopped and started
// again on it, keeping the app: the board and the broker's history.
type server struct {
	app    *app
	addr   string
	cancel context.CancelFunc
	done   chan error
}

func (s *server) start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", s.addr)
	require.NoError(t, err)
	s.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan error, 1)
	go func() { s.done <- s.app.Serve(ctx, ln) }()
}

// stop shuts down as Ctrl-C does, and fails unless open streams ended at
// once.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	start := time.Now()
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		require.NoError(t, err)
		assert.Less(t, time.Since(start), 2*time.Second, "shutdown waited for open streams")
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not shut down")
	}
}

func startServer(t *testing.T, a *app) *server {
	t.Helper()
	s := &server{app: a, addr: "127.0.0.1:0"}
	s.start(t)
	t.Cleanup(func() { s.stop(t) })
	return s
}

// browser starts headless Chromium with a fresh profile and returns a tab
// in each of n browser contexts of its own (separate cookies and storage,
// like two people's browsers). JavaScript exceptions fail the test.
func browser(t *testing.T, n int) []context.Context {
	t.Helper()
	chrome := os.Getenv("CHROME_PATH")
	if chrome == "" {
		chrome = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chrome); err != nil {
		t.Skipf("no Chromium at %s: apt-get install -y chromium, or set CHROME_PATH", chrome)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chrome),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 800),
	)
	root, cancelRoot := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelRoot()
		cancelAlloc() // waits for the browser process to exit
	})
	require.NoError(t, chromedp.Do(root, chromedp.EmulateViewport(1100, 800))) // starts the browser; not under a timeout
	var tabs []context.Context
	for range n {
		tab, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		require.NoError(t, chromedp.Do(tab, chromedp.EmulateViewport(1100, 800)))
		require.NoError(t, chromedp.Listen(tab, func(ev any) {
			if e, ok := ev.(*runtime.EventExceptionThrown); ok {
				d := e.ExceptionDetails
				msg := d.Text
				if d.Exception != nil {
					msg += " " + d.Exception.Description
				}
				t.Errorf("JavaScript exception at %s:%d: %s", d.URL, d.LineNumber+1, msg)
			}
		}))
		tabs = append(tabs, tab)
	}
	return tabs
}

// waitPage waits at most timeout for the JavaScript expression to be true.
func waitPage(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	took := time.Since(start)
	if err != nil {
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.board)`))
		t.Fatalf("after %v waiting for %s (%s): %v\nboard: %s", took.Round(time.Millisecond), what, expr, err, state)
	}
	return took
}

// eval evaluates expr in the page, awaiting it if it is a promise.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	return v
}

func jsString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func screenshot(t *testing.T, ctx context.Context, name string) []byte {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(outputDir, 0o755))
	path := filepath.Join(outputDir, name)
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
	return png
}

// messageShown is true once the page shows the message with this text.
func messageShown(text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#messages .text")].some(e => e.textContent === %s)`, jsString(text))
}

// TestBrowserBoard drives the board in two browser contexts at once, with
// the real htmx and its SSE extension: a message posted in one shows in the
// other, a card moved in one moves in the other, markup with a CR and
// </div> in a message stays text inside its fragment, and after the server
// is stopped and started again on the same port both pages reconnect by
// themselves and catch up, from their Last-Event-ID, with a message posted
// while it was down, without a reload.
func TestBrowserBoard(t *testing.T) {
	a := newApp(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	srv := startServer(t, a)
	tabs := browser(t, 2)
	ann, bo := tabs[0], tabs[1]
	url := "http://" + srv.addr + "/"
	for _, tab := range tabs {
		require.NoError(t, chromedp.Do(tab, chromedp.Navigate(url)))
		waitPage(t, tab, "the stream to open", `window.board && board.state === "open"`, 10*time.Second)
		// A reload would lose this.
		_ = eval[bool](t, tab, `window.loadedOnce = true`)
	}

	// Ann posts through the form; Bo sees it.
	require.NoError(t, chromedp.Do(ann,
		chromedp.SetValue(chromedp.CSS(`#post [name=author]`), "Ann"),
		chromedp.SetValue(chromedp.CSS(`#post [name=text]`), "Hello from Ann"),
		chromedp.Click(chromedp.CSS(`#post button`)),
	))
	took := waitPage(t, bo, "Ann's message in Bo's page", messageShown("Hello from Ann"), 5*time.Second)
	t.Logf("a post reached the other browser in %v", took.Round(time.Millisecond))
	waitPage(t, ann, "Ann's message in her own page", messageShown("Hello from Ann"), 5*time.Second)

	// Bo moves a card; Ann sees it move.
	require.NoError(t, chromedp.Do(bo, chromedp.Click(chromedp.CSS(`#card-1 form:last-of-type button`))))
	waitPage(t, ann, "card 1 in done", `!!document.querySelector("#col-done #card-1")`, 5*time.Second)

	// Markup with CR, CRLF and </div> in a message is text: it does not
	// leave its fragment, and its line breaks arrive as LF, as HTML parsing
	// reads them. Posted with fetch, because a form would turn the lone CR
	// into CRLF.
	evil := "line one\rline two\r\n</div></li></ul><b id=\"injected\">bold</b>\rdata: x\revent: board\r\r"
	before := eval[int](t, bo, `document.querySelectorAll("#messages li").length`)
	status := eval[int](t, ann, fmt.Sprintf(
		`fetch("/messages", {method: "POST", body: new URLSearchParams({author: "Mallory\r", text: %s})}).then(r => r.status)`,
		jsString(evil)))
	require.Equal(t, http.StatusNoContent, status)
	asLF := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(evil)
	for _, tab := range tabs {
		waitPage(t, tab, "the message with markup", messageShown(asLF), 5*time.Second)
		assert.Equal(t, before+1, eval[int](t, tab, `document.querySelectorAll("#messages li").length`),
			"exactly one new message")
		assert.False(t, eval[bool](t, tab, `!!document.getElementById("injected")`), "no element was injected")
		assert.True(t, eval[bool](t, tab, `!!document.querySelector("#board > #columns") && !!document.querySelector("#board > #messages")`),
			"the board's structure is intact")
		assert.Equal(t, "Mallory\n", eval[string](t, tab, `[...document.querySelectorAll("#messages .author")].at(-1).textContent`))
	}
	// The fragment as the server rendered it, CRs and all, parses in the
	// browser to the very element the stream delivered.
	snap := a.board.Snapshot()
	last := snap.Messages[len(snap.Messages)-1]
	var rendered strings.Builder
	require.NoError(t, a.board.Pages.Message(last).Render(t.Context(), &rendered))
	require.Contains(t, rendered.String(), "\r", "html/template leaves the CR in")
	assert.True(t, eval[bool](t, bo, fmt.Sprintf(`(() => {
		const tpl = document.createElement("template");
		tpl.innerHTML = %s;
		return tpl.content.firstElementChild.isEqualNode(document.getElementById("msg-%d"));
	})()`, jsString(rendered.String()), last.ID)), "the DOM is the one the server's fragment parses to")
	require.NoError(t, os.WriteFile(docsShot, screenshot(t, bo, "board.png"), 0o644))

	// Restart the server on the same port; while it is down, post a
	// message. Both pages reconnect by themselves and get it from the
	// broker's history after their Last-Event-ID.
	opens := eval[int](t, ann, `board.opens`)
	srv.stop(t)
	for _, tab := range tabs {
		waitPage(t, tab, "the page to notice", `board.state === "reconnecting"`, 5*time.Second)
	}
	_, err := a.board.Post(t.Context(), "server", "posted while you were away")
	require.NoError(t, err)
	srv.start(t)
	for _, tab := range tabs {
		took := waitPage(t, tab, "the missed message", messageShown("posted while you were away"), 15*time.Second)
		t.Logf("caught up %v after the restart", took.Round(time.Millisecond))
		assert.True(t, eval[bool](t, tab, `window.loadedOnce === true`), "the page was not reloaded")
		assert.Greater(t, eval[int](t, tab, `board.opens`), opens, "the stream opened again")
		assert.Equal(t, 1, eval[int](t, tab,
			`[...document.querySelectorAll("#messages .text")].filter(e => e.textContent === "posted while you were away").length`),
			"caught up once, not twice")
		assert.Equal(t, len(a.board.Snapshot().Messages), eval[int](t, tab, `document.querySelectorAll("#messages li").length`),
			"resumed from the Last-Event-ID, not from the page's since: nothing repeated")
	}
	// And the live stream works again.
	require.NoError(t, chromedp.Do(bo,
		chromedp.SetValue(chromedp.CSS(`#post [name=text]`), "back again"),
		chromedp.Click(chromedp.CSS(`#post button`)),
	))
	waitPage(t, ann, "a post after the restart", messageShown("back again"), 5*time.Second)
	screenshot(t, ann, "board-after-restart.png")
}

var crPage = template.Must(template.New("p").Parse(`<!doctype html><html><head><meta charset="utf-8">
<script src="/vendor/htmx.min.js"></script><script src="/vendor/sse.min.js"></script></head>
<body><div hx-ext="sse" sse-connect="/cr"><div id="target" sse-swap="fragment"></div></div>
<script>window.fragments = 0; window.received = [];
document.body.addEventListener("htmx:sseBeforeMessage", (e) => received.push(e.detail.data));
document.body.addEventListener("htmx:afterSettle", (e) => { if (e.target.id === "target") fragments++; });</script>
</body></html>`))

// crFragments are HTML fragments with CR and CRLF where they matter: in
// text, in attribute values, at the start of <pre> and <textarea> (where
// the parser drops one leading newline), and in a comment.
var crFragments = []string{
	"<p>a\rb\r\nc\nd</p>",
	"<pre>\r\rfirst\r\nsecond\rthird</pre>",
	"<pre>\r\nx</pre>",
	"<textarea>\rline\r\nline</textarea>",
	"<p title=\"one\rtwo\r\nthree\">t</p><!-- a\rb -->",
	"<div\rclass=\"x\"\r\nid=\"y\">attribute separators</div>",
	"<p>\r</p>\r",
}

// TestBrowserCRFragmentsParseToTheSameDOM checks the HTML kind's line-break
// rule in Chromium: each fragment, swapped in by htmx from the stream (where
// its CRs became line breaks between data lines, so LF), is the DOM that
// the fragment with its CRs parses to.
func TestBrowserCRFragmentsParseToTheSameDOM(t *testing.T) {
	r := chi.NewRouter()
	r.Handle("/vendor/*", newApp(slog.New(slog.DiscardHandler)).handler)
	r.Get("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := crPage.Execute(w, nil); err != nil {
			t.Error(err)
		}
	})
	// One fragment at a time: the test takes each from the page before the
	// next replaces it.
	gate := make(chan struct{})
	gated := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/cr" {
			(&sseview.Handler{View: stepView{gate}}).ServeHTTP(w, req)
			return
		}
		r.ServeHTTP(w, req)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: gated}
	sseview.EndStreamsOnShutdown(hs, time.Second)
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { require.NoError(t, hs.Shutdown(context.Background())) })

	tab := browser(t, 1)[0]
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate("http://"+ln.Addr().String()+"/")))
	for i, f := range crFragments {
		gate <- struct{}{}
		waitPage(t, tab, fmt.Sprintf("fragment %d", i), fmt.Sprintf(`window.fragments === %d`, i+1), 5*time.Second)
		// The data the EventSource delivered parses as the fragment does,
		// and htmx swapped in that DOM (but for comments, which htmx leaves
		// out of a swap).
		check := eval[string](t, tab, fmt.Sprintf(`(() => {
			const parse = (html) => { const d = document.createElement("div"); d.innerHTML = html; return d; };
			const expected = parse(%s);
			const data = parse(received[%d]);
			const swapped = document.createElement("div");
			for (const n of document.getElementById("target").childNodes) swapped.appendChild(n.cloneNode(true));
			if (!expected.isEqualNode(data)) return "data: " + JSON.stringify({expected: expected.innerHTML, got: data.innerHTML});
			const noComments = (d) => { const c = d.cloneNode(true);
				for (const n of [...c.childNodes]) if (n.nodeType === Node.COMMENT_NODE) n.remove(); return c; };
			if (!noComments(expected).isEqualNode(swapped)) return "swap: " + JSON.stringify({expected: expected.innerHTML, got: swapped.innerHTML});
			return "same";
		})()`, jsString(f), i))
		assert.Equal(t, "same", check, "fragment %q", f)
	}
}

// stepView yields crFragments one at a time, each when gate lets it.
type stepView struct{ gate chan struct{} }

func (v stepView) Stream(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		for _, f := range crFragments {
			select {
			case <-v.gate:
			case <-ctx.Done():
				return
			}
			if !yield(sseview.HTML{Type: "fragment", Fragment: sseview.Markup(f)}, nil) {
				return
			}
		}
		<-ctx.Done()
	}
}
