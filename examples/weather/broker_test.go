package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/testutil"
	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

func TestTopic(t *testing.T) {
	tests := []struct{ point, topic string }{
		{"40.71,-74.01", "weather.40_71.-74_01"},
		{"51.51,-0.13", "weather.51_51.-0_13"},
		{"-33.87,151.21", "weather.-33_87.151_21"},
		{"0.00,0.00", "weather.0_00.0_00"},
	}
	for _, tt := range tests {
		t.Run(tt.point, func(t *testing.T) {
			assert.Equal(t, tt.topic, Topic(tt.point))
			assert.Regexp(t, `^weather\.[^.*> ]+\.[^.*> ]+$`, Topic(tt.point), "two NATS tokens after weather")
		})
	}
}

// brokerApp is an app in broker mode whose updater's clock the test sets
// (at first: at), served on a test server.
type brokerApp struct {
	*app
	url string
	mu  sync.Mutex // the updater reads now in the server's goroutines
	now time.Time
}

func startBrokerApp(t *testing.T, broker string) *brokerApp {
	t.Helper()
	a, err := newApp(t.Context(), config{Broker: broker, DB: filepath.Join(t.TempDir(), "weather.db"),
		Update: time.Hour, Logger: (&logBuffer{}).logger()})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, a.Close()) })
	require.NotNil(t, a.broker, "broker mode")
	b := &brokerApp{app: a, now: at}
	a.updater.Now = func() time.Time {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.now
	}
	runUpdater(t, a.updater)
	b.url = testutil.Serve(t, a.handler).URL
	return b
}

// round stores and publishes the readings of the next hour, and returns
// once the updater has recorded them as published.
func (b *brokerApp) round(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	b.now = b.now.Add(time.Hour)
	now := b.now
	b.mu.Unlock()
	b.updater.Round(t.Context())
	points, _ := b.updater.Watched()
	for _, p := range points {
		waitPublished(t, b.updater, p, now)
	}
}

// waitPublished waits until u has recorded point's reading at when, or a
// newer one, as published.
func waitPublished(t *testing.T, u *Updater, point string, when time.Time) {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		changed := u.publishedChanged()
		if p, ok := u.Published(point); ok && !p.Current.Time.Before(when) {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("the reading of %s at %v was not published in %v", point, when, wait)
		}
	}
}

// wantReading checks that ev is the reading of point at when.
func wantReading(t *testing.T, ev sseviewtest.Event, point string, when time.Time) {
	t.Helper()
	wp, err := Simulate(point, when)
	require.NoError(t, err)
	assert.Equal(t, "weather", ev.Type)
	assert.JSONEq(t, currentJSON(t, wp), ev.Data, "the reading of %s at %v", point, when)
	assert.NotEmpty(t, ev.ID, "a broker's reading has an id")
}

func lastEventID(id string) http.Header { return http.Header{"Last-Event-ID": {id}} }

func TestMemoryModeSendsPublishedReadings(t *testing.T) {
	b := startBrokerApp(t, brokerMemory)
	const point = "51.51,-0.13"

	s := open(t, b.url+"/weather/51.51,-0.13/", nil)
	first := nextEvent(t, s)
	wantReading(t, first, point, at)

	b.round(t)
	ev := nextEvent(t, s)
	wantReading(t, ev, point, at.Add(time.Hour))
	assert.NotEqual(t, first.ID, ev.ID)

	// A reading of another point is not sent here; the next one of this
	// point is, with no ping in between.
	_, err := b.broker.Publish(t.Context(), Topic("40.71,-74.01"), sseview.JSON{Type: "weather", Data: map[string]string{"time": at.Format(time.RFC3339)}})
	require.NoError(t, err)
	b.round(t)
	wantReading(t, nextEvent(t, s), point, at.Add(2*time.Hour))

	// The readings are still stored.
	wp, ok, err := b.store.Latest(t.Context(), point)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, at.Add(2*time.Hour), wp.Created)
}

func TestMemoryModeNewStreamGetsTheNewestReadingAtOnce(t *testing.T) {
	b := startBrokerApp(t, brokerMemory)
	const point = "35.68,139.69"
	s1 := open(t, b.url+"/weather/35.68,139.69/", nil)
	wantReading(t, nextEvent(t, s1), point, at)
	b.round(t)
	newest := nextEvent(t, s1)

	// A second stream joins: it gets the newest reading, with its id, and
	// then the live ones, each once.
	s2 := open(t, b.url+"/weather/35.68,139.69/", nil)
	ev := nextEvent(t, s2)
	wantReading(t, ev, point, at.Add(time.Hour))
	assert.Equal(t, newest.ID, ev.ID)
	b.round(t)
	wantReading(t, nextEvent(t, s2), point, at.Add(2*time.Hour))
	wantReading(t, nextEvent(t, s1), point, at.Add(2*time.Hour))
}

func TestMemoryModeResumesFromLastEventID(t *testing.T) {
	b := startBrokerApp(t, brokerMemory)
	const point = "-33.87,151.21"
	// Keep the point watched while no stream is open, as another page
	// would, so the updater goes on publishing.
	defer b.updater.Watch(t.Context(), point)()

	s := open(t, b.url+"/weather/-33.87,151.21/", nil)
	seen := nextEvent(t, s)
	wantReading(t, seen, point, at)
	require.NoError(t, s.Close())

	b.round(t)
	b.round(t)
	s = open(t, b.url+"/weather/-33.87,151.21/", lastEventID(seen.ID))
	wantReading(t, nextEvent(t, s), point, at.Add(time.Hour))
	wantReading(t, nextEvent(t, s), point, at.Add(2*time.Hour))
	b.round(t)
	wantReading(t, nextEvent(t, s), point, at.Add(3*time.Hour))

	// An id the broker does not know: the reset, then the newest reading.
	s = open(t, b.url+"/weather/-33.87,151.21/", lastEventID("from-another-life"))
	reset := nextEvent(t, s)
	assert.Equal(t, sseview.ResetEventType, reset.Type)
	assert.NotEmpty(t, reset.ID)
	ev := nextEvent(t, s)
	wantReading(t, ev, point, at.Add(3*time.Hour))
	assert.Equal(t, reset.ID, ev.ID, "the reading refreshes the page without changing the id")
}

// startNATS runs a NATS server with JetStream in the test process on a
// random port and returns its URL.
func startNATS(t *testing.T) string {
	t.Helper()
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: natsserver.RANDOM_PORT,
		JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	require.NoError(t, err)
	srv.Start()
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	require.True(t, srv.ReadyForConnections(wait), "NATS server ready")
	return srv.ClientURL()
}

// startRedis runs a redis-server of the test's own on a free 127.0.0.1
// port, storing in a temporary directory, and returns its redis:// URL.
// Without redis-server installed the test skips and says how to get it;
// with CI set, as .ci/run has it, it fails instead, so CI never skips it.
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server is not installed; install it with `apt-get install -y redis-server` (Debian/Ubuntu) to run this test"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI must not skip it)")
		}
		t.Skip(msg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	require.NoError(t, ln.Close())
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--dir", t.TempDir(),
		"--appendonly", "yes", "--save", "", "--daemonize", "no", "--logfile", "")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	ready := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				close(ready)
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	select {
	case <-ready:
	case <-exited:
		t.Fatal("redis-server exited before it was ready")
	case <-time.After(wait):
		t.Fatalf("redis-server not ready in %v", wait)
	}
	return "redis://127.0.0.1:" + port + "/0"
}

func TestNATSModeInstancesShareReadings(t *testing.T) {
	instancesShareReadings(t, startNATS(t), `^\d+$`)
}

func TestRedisModeInstancesShareReadings(t *testing.T) {
	instancesShareReadings(t, startRedis(t), `^[0-9a-z]+\.[1-9]\d*-\d{20}$`)
}

// instancesShareReadings checks two instances on the broker at url: the
// pages of each get the readings either publishes, once, and a page moves
// between them with its Last-Event-ID and misses nothing. idPattern is the
// form of the broker's ids.
func instancesShareReadings(t *testing.T, url, idPattern string) {
	a := startBrokerApp(t, url)
	b := startBrokerApp(t, url)
	const point = "40.71,-74.01"

	// A page on B: B's updater publishes the point's first reading.
	sb := open(t, b.url+"/weather/40.71,-74.01/", nil)
	first := nextEvent(t, sb)
	wantReading(t, first, point, at)
	assert.Regexp(t, regexp.MustCompile(idPattern), first.ID, "the broker's id")

	// A page on A for the same point: A publishes the same hour's reading,
	// which B's page does not get twice; A's next reading reaches B's page.
	sa := open(t, a.url+"/weather/40.71,-74.01/", nil)
	wantReading(t, nextEvent(t, sa), point, at)
	a.round(t)
	ev := nextEvent(t, sb)
	wantReading(t, ev, point, at.Add(time.Hour))
	wantReading(t, nextEvent(t, sa), point, at.Add(time.Hour))

	// B's page moves to A with its Last-Event-ID and misses nothing.
	require.NoError(t, sb.Close())
	a.round(t)
	s := open(t, a.url+"/weather/40.71,-74.01/", lastEventID(ev.ID))
	wantReading(t, nextEvent(t, s), point, at.Add(2*time.Hour))

	// Both publish the next hour's reading: the broker stores it once, so a page
	// that resumes from the first reading's id, on either instance, gets
	// each later reading once.
	a.round(t)
	b.round(t)
	wantReading(t, nextEvent(t, s), point, at.Add(3*time.Hour))
	a.round(t)
	for _, inst := range []*brokerApp{a, b} {
		s := open(t, inst.url+"/weather/40.71,-74.01/", lastEventID(first.ID))
		for h := 1; h <= 4; h++ {
			wantReading(t, nextEvent(t, s), point, at.Add(time.Duration(h)*time.Hour))
		}
		require.NoError(t, s.Close())
	}
}

func TestUpdaterPublishesOnlyWhileWatched(t *testing.T) {
	broker := &sseview.MemoryBroker{}
	now := at.Add(25 * time.Minute)
	u := &Updater{Store: openStore(t), Broker: broker, Interval: time.Hour, Now: func() time.Time { return now }}
	runUpdater(t, u)
	const point = "55.76,37.62"

	unwatch := u.Watch(t.Context(), point)
	pub, ok := u.Published(point)
	require.True(t, ok, "the first stream's reading is published before Watch returns")
	assert.NotEmpty(t, pub.ID)
	assert.Equal(t, at, pub.Current.Time, "on the hour grid, not at the clock's 12:25")
	want, err := Simulate(point, at)
	require.NoError(t, err)
	assert.JSONEq(t, currentJSON(t, want), string(pub.Current.Data))

	unwatch()
	_, ok = u.Published(point)
	assert.False(t, ok, "forgotten with its last stream")
	u.Round(t.Context())
	_, ok = u.Published(point)
	assert.False(t, ok, "an unwatched point is not published")
}
