//go:build e2e

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
)

// e2ePoll is the views' poll interval in the browser test. A reading must
// reach the page within two of them.
const e2ePoll = time.Second

const (
	london = "51.51,-0.13"
	tokyo  = "35.68,139.69"
)

// Where the screenshots go: test-output/ is ignored by git; docs/weather.png
// is the README's picture, replaced by every run.
var (
	outputDir = filepath.Join("..", "..", "test-output")
	docsShot  = filepath.Join("..", "..", "docs", "weather.png")
)

// server is the app serving on a real port, as `make run` does, minus flag
// parsing (covered by TestRunServesAndShutsDownAtOnce).
type server struct {
	app      *app
	addr     string
	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
}

func startServer(t *testing.T, addr, dbPath string) *server {
	t.Helper()
	// Poll mode: the test writes readings to the database and expects the
	// seed's pings.
	cfg := config{Addr: addr, Broker: brokerPoll, DB: dbPath, Poll: e2ePoll, Update: time.Hour,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
	a, err := newApp(t.Context(), cfg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		a.Close()
		require.NoError(t, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{app: a, addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop does what Ctrl-C does, and fails the test unless the server is down
// well before the shutdown timeout: its open streams must end at once.
func (s *server) stop(t *testing.T) {
	s.stopOnce.Do(func() {
		start := time.Now()
		s.cancel()
		select {
		case err := <-s.done:
			assert.NoError(t, err)
			assert.Less(t, time.Since(start), shutdownTimeout/2, "shutdown waited for open streams")
		case <-time.After(2 * shutdownTimeout):
			t.Error("the server did not shut down")
		}
		assert.NoError(t, s.app.Close())
	})
}

// startBrowser starts headless Chromium with a fresh profile and returns
// its tab's context.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	chrome := os.Getenv("CHROME_PATH")
	if chrome == "" {
		chrome = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chrome); err != nil {
		t.Skipf("no Chromium at %s: apt-get install -y chromium, or set CHROME_PATH", chrome)
	}
	profile := t.TempDir() // removed after the browser exits (cleanups run last-in first-out)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chrome),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
	)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser process to exit
	})
	// The first action starts the browser; it must not run under a timeout.
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)))
	return ctx
}

// waitPage waits at most timeout for the JavaScript expression to be true on
// the page, polling it every 20 ms in the page, and returns how long it took.
func waitPage(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	took := time.Since(start)
	if err != nil {
		t.Fatalf("after %v waiting for %s (%s): %v\npage: %s", took.Round(time.Millisecond), what, expr, err, pageState(ctx))
	}
	return took
}

func pageState(ctx context.Context) string {
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.weatherPage)`))
	if err != nil {
		return err.Error()
	}
	return s
}

func pageInt(t *testing.T, ctx context.Context, expr string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr))
	require.NoError(t, err)
	return n
}

func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
	require.NoError(t, err)
	return s
}

// waitWatched waits until the server's updater has streams for exactly the
// given points: the server's side of which EventSources are open.
func waitWatched(t *testing.T, u *Updater, want ...string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		got, changed := u.Watched()
		if assert.ObjectsAreEqual(want, got) {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("streams are open for %q, want %q", got, want)
		}
	}
}

func screenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(outputDir, 0o755))
	path := filepath.Join(outputDir, name)
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
	return path
}

// writeReading stores a simulated reading of point through the test's own
// database connection, as another program would, and returns the page
// condition that holds once the page shows it.
func writeReading(t *testing.T, ctx context.Context, store *Store, point string) (shown string, current Current) {
	t.Helper()
	wp, err := Simulate(point, time.Now())
	require.NoError(t, err)
	raw, err := wp.Current()
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &current))
	literal, err := json.Marshal(string(raw))
	require.NoError(t, err)
	before := pageInt(t, ctx, `window.weatherPage.weatherEvents`)
	require.NoError(t, store.Add(t.Context(), wp))
	return fmt.Sprintf(`weatherPage.point === %q && weatherPage.weatherEvents > %d && JSON.stringify(weatherPage.lastReading) === %s`,
		point, before, literal), current
}

// assertShown checks the visible text of a reading.
func assertShown(t *testing.T, ctx context.Context, c Current) {
	t.Helper()
	assert.Equal(t, strconv.FormatFloat(c.TemperatureC, 'f', 1, 64), text(t, ctx, "temp"))
	assert.Equal(t, c.Condition, text(t, ctx, "condition"))
	assert.Equal(t, strconv.Itoa(c.HumidityPct), text(t, ctx, "humidity"))
}

// TestBrowserWeatherPage drives the page in headless Chromium against the
// real server: a point off the Earth is refused, the stream opens, a reading written to the database shows
// within two polls, switching point closes the old stream, and across a
// server restart on the same port the page shows "reconnecting" and then
// live data again.
func TestBrowserWeatherPage(t *testing.T) {
	started := time.Now()
	dbPath := filepath.Join(t.TempDir(), "weather.db")
	srv := startServer(t, "127.0.0.1:0", dbPath)
	store, err := OpenStore(t.Context(), dbPath)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })

	ctx := startBrowser(t)
	var (
		mu         sync.Mutex
		exceptions []string
	)
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			mu.Lock()
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			exceptions = append(exceptions, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, msg))
			mu.Unlock()
		}
	}))
	url := "http://" + srv.addr + "/"

	// A point off the Earth gets a 400, which an EventSource does not retry:
	// the page says the stream is closed.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(url+"#95.00,0.00")))
	waitPage(t, ctx, "the refused stream", `weatherPage.connection === "closed"`, 10*time.Second)
	assert.Equal(t, "closed", text(t, ctx, "conn-text"))

	// The page opens the stream and shows the reading the updater stores
	// for a newly watched point.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(url+"#"+london)))
	took := waitPage(t, ctx, "the stream to open with a first reading",
		`weatherPage.connection === "open" && weatherPage.point === "51.51,-0.13" && weatherPage.weatherEvents >= 1`, 10*time.Second)
	t.Logf("stream open with a reading %v after navigation", took.Round(time.Millisecond))
	assert.Equal(t, "open", text(t, ctx, "conn-text"))
	assert.Equal(t, "London", text(t, ctx, "place"))
	waitWatched(t, srv.app.updater, london)

	// A reading written to the database reaches the page within two polls.
	shown, current := writeReading(t, ctx, store, london)
	took = waitPage(t, ctx, "the written reading on the page", shown, 2*e2ePoll)
	t.Logf("reading written to the database shown after %v (poll %v)", took.Round(time.Millisecond), e2ePoll)
	assertShown(t, ctx, current)
	waitPage(t, ctx, "a ping", `weatherPage.lastPing !== null`, 2*e2ePoll)

	// Switching point closes the old EventSource: the server ends that
	// stream and stops watching its point.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.preset[data-name="Tokyo"]`))))
	waitPage(t, ctx, "Tokyo's stream", `weatherPage.connection === "open" && weatherPage.point === "35.68,139.69" && weatherPage.weatherEvents >= 1`, 5*time.Second)
	assert.Equal(t, "Tokyo", text(t, ctx, "place"))
	waitWatched(t, srv.app.updater, tokyo)

	// The form refuses coordinates off the Earth without touching the
	// stream, and watches the ones it accepts.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("lat"), "95"),
		chromedp.Click(chromedp.CSS(`#point-form button`))))
	waitPage(t, ctx, "the form's error", `document.getElementById("form-error").textContent === "Latitude must be between -90 and 90"`, 2*time.Second)
	assert.Equal(t, tokyo, pageState2(t, ctx, "point"))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("lat"), "51.51"),
		chromedp.SetValue(chromedp.ID("lng"), "-0.13"),
		chromedp.Click(chromedp.CSS(`#point-form button`))))
	waitPage(t, ctx, "London's stream again", `weatherPage.connection === "open" && weatherPage.point === "51.51,-0.13" && weatherPage.weatherEvents >= 1`, 5*time.Second)
	assert.Empty(t, text(t, ctx, "form-error"))
	waitWatched(t, srv.app.updater, london)

	// Stop the server: the page says it is reconnecting.
	addr := srv.addr
	stopped := time.Now()
	srv.stop(t)
	took = waitPage(t, ctx, "the page to notice", `weatherPage.connection === "reconnecting"`, 5*time.Second)
	t.Logf("page shows reconnecting %v after the server stopped", took.Round(time.Millisecond))
	assert.Equal(t, "reconnecting", text(t, ctx, "conn-text"))
	screenshot(t, ctx, "weather-reconnecting.png")

	// Start it again on the same port: the EventSource reconnects by itself
	// and live data flows again.
	before := pageInt(t, ctx, `window.weatherPage.weatherEvents`)
	srv2 := startServer(t, addr, dbPath)
	took = waitPage(t, ctx, "the stream to reopen",
		fmt.Sprintf(`weatherPage.connection === "open" && weatherPage.weatherEvents > %d`, before), 10*time.Second)
	t.Logf("page live again %v after the restart (%v after the stop)", took.Round(time.Millisecond), time.Since(stopped).Round(time.Millisecond))
	waitWatched(t, srv2.app.updater, london)
	shown, current = writeReading(t, ctx, store, london)
	took = waitPage(t, ctx, "a reading written after the restart", shown, 2*e2ePoll)
	t.Logf("reading after the restart shown after %v", took.Round(time.Millisecond))
	assertShown(t, ctx, current)
	waitPage(t, ctx, "a ping after the reading", `weatherPage.lastPing !== null && weatherPage.lastPing > weatherPage.lastUpdate`, 2*e2ePoll)

	final := screenshot(t, ctx, "weather.png")
	png, err := os.ReadFile(final)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(docsShot), 0o755))
	require.NoError(t, os.WriteFile(docsShot, png, 0o644))

	mu.Lock()
	assert.Empty(t, exceptions, "JavaScript exceptions on the page")
	mu.Unlock()
	t.Logf("browser test took %v", time.Since(started).Round(time.Millisecond))
}

// pageState2 returns one string field of window.weatherPage.
func pageState2(t *testing.T, ctx context.Context, field string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`String(window.weatherPage.`+field+`)`))
	require.NoError(t, err)
	return s
}

// resumePage records what its EventSource receives in window.resume.
const resumePage = `<!doctype html><meta charset="utf-8"><title>resume</title><script>
window.resume = {data: [], ids: [], errors: 0};
const es = new EventSource("/events");
es.onmessage = (e) => { resume.data.push(e.data); resume.ids.push(e.lastEventId); };
es.onerror = () => { resume.errors++; resume.state = es.readyState; };
</script>`

// resumeView ends each stream after one event and says which Last-Event-ID
// each connection brought. Its first event has the longest id the rule
// allows, in non-ASCII UTF-8 with spaces inside; then it tries ids just
// beyond the rule, which the encoder refuses, so the browser never holds
// them; the last connection gets "done" and stays open.
type resumeView struct {
	conns chan string  // the Last-Event-ID of each connection
	n     atomic.Int32 // connections so far
}

var (
	// edgeID is MaxLastEventIDLen bytes: 51 × "☀ " (4 bytes) + 26 × "é" (2 bytes).
	edgeID   = strings.Repeat("☀ ", 51) + strings.Repeat("é", 26)
	beyondID = []string{edgeID + "a", "trailing space ", " leading space", "tab\there"}
)

func (v *resumeView) Stream(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	n := int(v.n.Add(1)) - 1
	v.conns <- sseview.LastEventID(r)
	return func(yield func(sseview.Event, error) bool) {
		switch {
		case n == 0:
			yield(sseview.Text{ID: edgeID, Data: "edge"}, nil)
		case n <= len(beyondID):
			yield(sseview.Text{ID: beyondID[n-1], Data: "beyond"}, nil)
		default:
			if yield(sseview.Text{Data: "done"}, nil) {
				<-ctx.Done()
			}
		}
	}
}

// TestBrowserResumesFromEveryIDTheLibraryWrites checks in Chromium that an
// id at the edge of the rule of sseview.Text.ID comes back unchanged as the
// reconnect's Last-Event-ID and is answered with 200, and that ids beyond
// the rule never reach the browser: written, each would make its reconnect
// a 400 (too long) or change the id (spaces trimmed), and an EventSource
// that gets a 4xx gives up for good.
func TestBrowserResumesFromEveryIDTheLibraryWrites(t *testing.T) {
	require.Len(t, edgeID, sseview.MaxLastEventIDLen)
	view := &resumeView{conns: make(chan string, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, resumePage)
	})
	mux.Handle("GET /events", &sseview.Handler{View: view, Retry: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })

	ctx := startBrowser(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")))
	deadline := time.After(20 * time.Second)
	var seen []string
	for len(seen) < len(beyondID)+2 {
		select {
		case id := <-view.conns:
			seen = append(seen, id)
		case <-deadline:
			t.Fatalf("the browser stopped reconnecting after %d connections with Last-Event-IDs %q; page: %s",
				len(seen), seen, resumeState(ctx))
		}
	}
	want := []string{""}
	for range len(beyondID) + 1 {
		want = append(want, edgeID)
	}
	assert.Equal(t, want, seen, "every reconnect brings the edge id back unchanged")
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`resume.data.at(-1) === "done" && resume.state !== 2`,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(5*time.Second)))
	require.NoError(t, err, "page: %s", resumeState(ctx))
	ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`resume.ids`))
	require.NoError(t, err)
	assert.Equal(t, []string{edgeID, edgeID}, ids, "the page saw the edge id, and it was still the last one at done")
}

func resumeState(ctx context.Context) string {
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.resume)`))
	if err != nil {
		return err.Error()
	}
	return s
}
