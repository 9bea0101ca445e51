// Command faults is the fault test of the weather example on a real
// broker: a broker server process (nats-server with JetStream, or
// redis-server with its append-only file), two weather
// instances as separate processes on it, and EventSource-like clients that
// hold streams on both and resume with Last-Event-ID. It injects, one after
// another and each bounded in time:
//
//   - kill -9 of the broker server, restarted on the same store;
//   - SIGSTOP of the broker server for -pause, then SIGCONT;
//   - kill -9 of instance A (its clients resume on B), restarted;
//   - SIGTERM of instance B (its clients resume on A), restarted.
//
// Then it reads what the broker stored and checks every stream: ids strictly
// increasing, no id and no reading (point and time) twice, no stored event
// skipped, and every slot of the -update grid stored. It prints a table per
// fault (lost, duplicated, reordered, time to recover) and exits 1 if any
// count is not 0, or a fault did not recover within -recover.
//
//	make faults   # builds nats-server, weather and this, then runs it on each broker
//
// Everything listens on 127.0.0.1; every child process is killed when the
// harness exits, whatever the reason, and the whole run is bounded by
// -timeout.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

type options struct {
	broker      string
	natsServer  string
	redisServer string
	weather     string
	clients     int
	points      int
	update      time.Duration
	reconnect   time.Duration
	down        time.Duration
	pause       time.Duration
	settle      time.Duration
	recover     time.Duration
	timeout     time.Duration
	dir         string // the run's directory: stores, databases, logs
	keep        bool
}

func main() {
	var o options
	flag.StringVar(&o.broker, "broker", "nats", "broker under test: nats or redis")
	flag.StringVar(&o.natsServer, "nats-server", "bin/nats-server", "the nats-server binary (-broker nats)")
	flag.StringVar(&o.redisServer, "redis-server", "redis-server", "the redis-server binary (-broker redis; apt-get install -y redis-server)")
	flag.StringVar(&o.weather, "weather", "bin/weather", "the weather example's binary")
	flag.IntVar(&o.clients, "clients", 50, "EventSource-like clients, half on each instance")
	flag.IntVar(&o.points, "points", 4, "weather points the clients watch")
	flag.DurationVar(&o.update, "update", time.Second, "the instances' -update: one reading per point and slot")
	flag.DurationVar(&o.reconnect, "reconnect", time.Second, "the clients' reconnection time until the server sends a retry (browsers: about 3s)")
	flag.DurationVar(&o.down, "down", 3*time.Second, "how long a killed process stays down before it is restarted")
	flag.DurationVar(&o.pause, "pause", 10*time.Second, "how long the broker server stays stopped by SIGSTOP")
	flag.DurationVar(&o.settle, "settle", 5*time.Second, "steady time after each recovery, before the next fault")
	flag.DurationVar(&o.recover, "recover", 60*time.Second, "how long a fault may take to recover before the run fails")
	flag.DurationVar(&o.timeout, "timeout", 4*time.Minute, "bound of the whole run")
	flag.BoolVar(&o.keep, "keep", false, "keep the run's directory (logs, stores) even when every check passes")
	flag.Parse()
	if o.clients < 2 || o.points < 1 || o.update <= 0 || o.reconnect <= 0 || o.down <= 0 || o.pause <= 0 || o.timeout <= 0 {
		fmt.Fprintln(os.Stderr, "faults: -clients must be at least 2, -points at least 1, durations positive")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeoutCause(ctx, o.timeout, fmt.Errorf("faults: the run took longer than -timeout %v", o.timeout))
	ok, err := run(ctx, o, os.Stdout)
	cancel()
	stop()
	killAll()
	switch {
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	case !ok:
		os.Exit(1)
	}
}

// weatherInstance is one weather process, always on the same port and
// database, so that it can be restarted as an operator would.
type weatherInstance struct {
	name string
	port int
	url  string
	proc *process
}

func (w *weatherInstance) start(ctx context.Context, o options, brokerFlag string) error {
	line := make(chan string, 1)
	p, err := startProcess(w.name, filepath.Join(o.dir, w.name+".log"), line, o.weather,
		"-broker", brokerFlag, "-addr", "127.0.0.1:"+strconv.Itoa(w.port),
		"-db", filepath.Join(o.dir, w.name+".db"), "-update", o.update.String())
	if err != nil {
		return err
	}
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case l := <-line:
		if !strings.Contains(l, "serving "+w.url+"/") {
			p.kill()
			return fmt.Errorf("faults: %s printed %q, not that it serves %s", w.name, l, w.url)
		}
		w.proc = p
		return nil
	case <-p.done:
		return fmt.Errorf("faults: %s exited at start: %v (see %s.log)", w.name, p.err, filepath.Join(o.dir, w.name))
	case <-t.C:
	case <-ctx.Done():
	}
	p.kill()
	return fmt.Errorf("faults: %s did not start serving", w.name)
}

// stop sends SIGTERM and waits (at most 15 s) for the exit.
func (w *weatherInstance) stop() error {
	if err := w.proc.signal(syscall.SIGTERM); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return w.proc.wait(ctx)
}

// phase is a fault, or the steady start, and what the run measured of it.
type phase struct {
	name    string
	start   time.Time
	lasted  time.Duration // from injecting the fault to lifting it
	recover time.Duration // from lifting it until every stream had a reading produced after
	failed  string        // why it did not complete, if it did not
}

func run(ctx context.Context, o options, out io.Writer) (ok bool, err error) {
	began := time.Now()
	if o.dir, err = os.MkdirTemp("", "sseview-faults-"); err != nil {
		return false, fmt.Errorf("faults: %w", err)
	}
	defer func() {
		if ok && !o.keep {
			os.RemoveAll(o.dir)
		} else {
			fmt.Fprintf(out, "logs and stores kept in %s\n", o.dir)
		}
	}()
	say := func(format string, args ...any) {
		fmt.Fprintf(out, "%7.1fs  %s\n", time.Since(began).Seconds(), fmt.Sprintf(format, args...))
	}

	broker, err := newBrokerServer(o)
	if err != nil {
		return false, err
	}
	brokerProc, err := broker.Start(ctx)
	if err != nil {
		return false, err
	}
	say("%s serving (%s)", o.broker, broker.WeatherFlag())
	instances := make([]*weatherInstance, 2)
	for i, name := range []string{"A", "B"} {
		port, err := freePort()
		if err != nil {
			return false, err
		}
		instances[i] = &weatherInstance{name: name, port: port, url: "http://127.0.0.1:" + strconv.Itoa(port)}
		if err := instances[i].start(ctx, o, broker.WeatherFlag()); err != nil {
			return false, err
		}
		say("instance %s serving %s", name, instances[i].url)
	}

	points := make([]string, o.points)
	for i := range points {
		// Spread over the globe, in the route's -?d{1,3}.dd form.
		points[i] = fmt.Sprintf("%.2f,%.2f", -60+float64(i*120)/float64(o.points), -170+float64(i*340)/float64(o.points))
	}
	clientsCtx, stopClients := context.WithCancel(ctx)
	defer stopClients()
	progress := make(chan struct{}, 1)
	transport := &http.Transport{DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		ResponseHeaderTimeout: 10 * time.Second, MaxIdleConnsPerHost: o.clients}
	defer transport.CloseIdleConnections()
	urls := []string{instances[0].url, instances[1].url}
	clients := make([]*client, o.clients)
	var running sync.WaitGroup
	for i := range clients {
		// Each point's clients alternate between the instances, and on
		// each instance between pinned and failing over: so every point
		// always has a stream on every live instance, whose updater then
		// produces its readings.
		k := i / o.points
		clients[i] = &client{n: i, point: points[i%o.points], home: k % 2, pinned: k/2%2 == 0, urls: urls,
			reconnect: o.reconnect, httpc: &http.Client{Transport: transport}, progress: progress}
		running.Go(func() { clients[i].run(clientsCtx) })
	}
	defer func() {
		stopClients()
		running.Wait()
	}()

	// waitAll waits until every client has a reading of slot at or later.
	waitAll := func(slot time.Time, within time.Duration) (time.Duration, bool) {
		start := time.Now()
		t := time.NewTimer(within)
		defer t.Stop()
		for {
			if !slices.ContainsFunc(clients, func(c *client) bool { return c.newest().Before(slot) }) {
				return time.Since(start), true
			}
			select {
			case <-progress:
			case <-t.C:
				return time.Since(start), false
			case <-ctx.Done():
				return time.Since(start), false
			}
		}
	}
	nextSlot := func(t time.Time, n int) time.Time { return t.Truncate(o.update).Add(time.Duration(n) * o.update) }

	phases := []*phase{{name: "steady (no fault)", start: time.Now()}}
	if _, ok := waitAll(nextSlot(time.Now(), 1), o.recover); !ok {
		phases[0].failed = "the clients never all got a reading"
	} else {
		say("%d clients streaming %d points", len(clients), len(points))
		if _, ok := waitAll(nextSlot(time.Now().Add(o.settle), 0), o.settle+o.recover); !ok {
			phases[0].failed = "the streams stalled"
		}
	}
	hold := func(d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	faults := []struct {
		name   string
		inject func() error
		hold   time.Duration
		lift   func() error
	}{
		{"kill -9 " + o.broker + ", restart on its store", func() error { return brokerProc.kill() }, o.down,
			func() (err error) { brokerProc, err = broker.Start(ctx); return err }},
		{fmt.Sprintf("SIGSTOP %s %v, SIGCONT", o.broker, o.pause), func() error { return brokerProc.signal(syscall.SIGSTOP) }, o.pause,
			func() error { return brokerProc.signal(syscall.SIGCONT) }},
		{"kill -9 instance A, restart", func() error { return instances[0].proc.kill() }, o.down,
			func() error { return instances[0].start(ctx, o, broker.WeatherFlag()) }},
		{"SIGTERM instance B, restart", instances[1].stop, o.down,
			func() error { return instances[1].start(ctx, o, broker.WeatherFlag()) }},
	}
	for _, f := range faults {
		if phases[0].failed != "" || ctx.Err() != nil {
			break
		}
		ph := &phase{name: f.name, start: time.Now()}
		phases = append(phases, ph)
		say("fault: %s", f.name)
		if err := f.inject(); err != nil {
			ph.failed = err.Error()
			break
		}
		if err := hold(f.hold); err != nil {
			ph.failed = err.Error()
			break
		}
		if err := f.lift(); err != nil {
			ph.failed = err.Error()
			break
		}
		lifted := time.Now()
		ph.lasted = lifted.Sub(ph.start)
		took, ok := waitAll(nextSlot(lifted, 1), o.recover)
		// Counted from the lift, not from when the slot's reading could
		// first exist (up to one -update later).
		ph.recover = took
		if !ok {
			ph.failed = fmt.Sprintf("not every stream recovered in %v", o.recover)
			break
		}
		say("recovered %v after the lift", took.Round(10*time.Millisecond))
		if _, ok := waitAll(nextSlot(time.Now().Add(o.settle), 0), o.settle+o.recover); !ok {
			ph.failed = "the streams stalled after recovering"
			break
		}
	}

	// The end: every stream must reach what the broker holds now; then
	// the clients stop, then the instances, and the store is read whole.
	end := time.Now()
	snapshot, err := broker.Stored(ctx)
	if err != nil {
		return false, err
	}
	upTo := map[string]string{}
	newest := map[string]time.Time{}
	for _, e := range snapshot {
		upTo[e.Topic] = e.ID
		newest[e.Topic] = later(newest[e.Topic], readingTime(e.Data))
	}
	caughtUp := time.Time{}
	for _, t := range newest {
		if caughtUp.IsZero() || t.Before(caughtUp) {
			caughtUp = t
		}
	}
	if _, ok := waitAll(caughtUp, 30*time.Second); !ok {
		say("not every stream caught up with the store in 30s")
	}
	stopClients()
	running.Wait()
	for _, w := range instances {
		if w.proc != nil {
			if err := w.stop(); err != nil {
				say("%v", err)
			}
		}
	}
	stored, err := broker.Stored(ctx)
	if err != nil {
		return false, err
	}

	var streams []streamLog
	received, connects, failures := 0, 0, 0
	for _, c := range clients {
		got, n, f := c.log()
		streams = append(streams, streamLog{Client: c.n, Topic: topic(c.point), Got: got})
		received += len(got)
		connects += n
		failures += f
	}
	found := check(stored, upTo, streams, o.update, end)
	if err := writeAnomalies(filepath.Join(o.dir, "anomalies.txt"), found); err != nil {
		return false, err
	}
	ok = report(out, phases, found)
	say("done: %d clients, %d events received over %d streams (%d connections refused), %d events stored",
		len(clients), received, connects, failures, len(stored))
	return ok, nil
}

// topic is the weather example's topic of point ("40.71,-74.01" is
// "weather.40_71.-74_01"), as examples/weather's Topic makes it.
func topic(point string) string {
	lat, lng, _ := strings.Cut(point, ",")
	return "weather." + strings.ReplaceAll(lat, ".", "_") + "." + strings.ReplaceAll(lng, ".", "_")
}

// report prints the table and the first anomalies, and says whether the run
// passed.
func report(out io.Writer, phases []*phase, found []anomaly) bool {
	count := make([]map[string]int, len(phases))
	for i := range count {
		count[i] = map[string]int{}
	}
	for _, a := range found {
		i := len(phases) - 1
		for i > 0 && a.At.Before(phases[i].start) {
			i--
		}
		count[i][a.Kind]++
	}
	ok := true
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "fault\tlasted\trecover\tlost\tduplicated\treordered\tstored twice\tresets\tunknown ids\t")
	for i, ph := range phases {
		lasted, recover := "-", "-"
		if ph.lasted > 0 {
			lasted = ph.lasted.Round(100 * time.Millisecond).String()
			recover = ph.recover.Round(10 * time.Millisecond).String()
		}
		if ph.failed != "" {
			recover = "FAILED"
			ok = false
		}
		c := count[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", ph.name, lasted, recover,
			c[lost], c[duplicated], c[reordered], c[copies], c[resets], c[unknownID])
		if c[lost]+c[duplicated]+c[reordered]+c[resets]+c[unknownID] > 0 {
			ok = false
		}
	}
	tw.Flush()
	for _, ph := range phases {
		if ph.failed != "" {
			fmt.Fprintf(out, "%s: %s\n", ph.name, ph.failed)
		}
	}
	// A few of each kind here; all of them in the run's directory.
	const shown = 5
	perKind := map[string]int{}
	for _, a := range found {
		if perKind[a.Kind]++; perKind[a.Kind] <= shown {
			fmt.Fprintln(out, " ", a)
		}
	}
	for _, kind := range []string{lost, duplicated, reordered, copies, resets, unknownID} {
		if n := perKind[kind]; n > shown {
			fmt.Fprintf(out, "  ... %d more %s\n", n-shown, kind)
		}
	}
	if ok {
		fmt.Fprintln(out, "PASS: every fault: 0 lost, 0 duplicated, 0 reordered")
	} else {
		fmt.Fprintln(out, "FAIL")
	}
	return ok
}

func (a anomaly) String() string {
	who := "store"
	if a.Client >= 0 {
		who = "client " + strconv.Itoa(a.Client)
	}
	return fmt.Sprintf("%s %-10s %-9s %s", a.At.Format("15:04:05.000"), a.Kind, who, a.Detail)
}

// writeAnomalies writes every anomaly, one a line, to path.
func writeAnomalies(path string, found []anomaly) error {
	var b strings.Builder
	for _, a := range found {
		b.WriteString(a.String())
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("faults: %w", err)
	}
	return nil
}
