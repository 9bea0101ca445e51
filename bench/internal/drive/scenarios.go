package drive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sseview/sseview/bench/internal/contestants"
	"github.com/sseview/sseview/bench/internal/serve"
	"github.com/sseview/sseview/bench/internal/wire"
)

// Config sizes one run of the harness.
type Config struct {
	Rounds int
	// ThroughputRounds is the rounds of the pinned throughput runs, whose
	// median decides the throughput targets: a median of many interleaved
	// rounds is not moved by the one or two that another process on the
	// machine disturbed.
	ThroughputRounds int
	// UnpinnedRounds is how many of those rounds (the first) also run
	// unpinned: those figures are shown beside, and decide nothing.
	UnpinnedRounds   int
	ThroughputEvents int // events per measured pinned run at 64 B; half of it at 1 KiB
	UnpinnedEvents   int // the same for an unpinned run
	// ThroughputWarmup is the events of an unmeasured pass that every
	// throughput run makes in its server process before the measured one
	// (half of it at 1 KiB, as ThroughputEvents).
	ThroughputWarmup int
	// ThroughputWarmupRound runs every contestant of a throughput scenario
	// once, unmeasured, before its rounds (see scenario.WarmupRound).
	ThroughputWarmupRound bool
	IdleConns             int // streams held at once in the idle scenarios
	FanoutSubs            int
	FanoutRate            int
	FanoutSeconds         int
	FanoutSize            int
	ChurnCycles           int
	ShutdownStreams       int
	ShutdownTimeout       time.Duration
	// LadderRates are the publish rates of the high-rate fan-out, tried in
	// turn, for LadderSeconds each, until one is not sustained.
	LadderRates   []int
	LadderSeconds int
	LadderRounds  int
	LadderGrace   time.Duration // how long past a step's end its events may take
	Grace         time.Duration // how long past its end a run may take to deliver
	RunTimeout    time.Duration // bounds every single measurement
	// FirstEventTimeout bounds the wait for every stream of a fleet to get
	// its first event (a healthy server needs a few seconds for 10,000).
	FirstEventTimeout time.Duration
}

// Full is the configuration of `make bench`.
var Full = Config{
	Rounds: 3, ThroughputRounds: 7, UnpinnedRounds: 3, ThroughputEvents: 600_000, UnpinnedEvents: 200_000,
	ThroughputWarmup: 50_000, ThroughputWarmupRound: true, IdleConns: 5_000,
	FanoutSubs: 1_000, FanoutRate: 100, FanoutSeconds: 3, FanoutSize: 128,
	LadderRates: []int{25, 35, 50, 70, 100, 140, 200, 280, 400, 560, 800, 1120, 1600, 2240, 3200}, LadderSeconds: 2, LadderRounds: 2, LadderGrace: 2 * time.Second,
	ChurnCycles: 10_000, ShutdownStreams: 1_000, ShutdownTimeout: 3 * time.Second, Grace: 5 * time.Second,
	RunTimeout: 60 * time.Second, FirstEventTimeout: 30 * time.Second,
}

// Smoke is the configuration of `make bench-smoke`: every path, small counts.
var Smoke = Config{
	Rounds: 1, ThroughputRounds: 1, ThroughputEvents: 10_000, ThroughputWarmup: 1_000, IdleConns: 300,
	FanoutSubs: 50, FanoutRate: 100, FanoutSeconds: 2, FanoutSize: 128,
	LadderRates: []int{50, 200}, LadderSeconds: 1, LadderRounds: 1, LadderGrace: time.Second,
	ChurnCycles: 300, ShutdownStreams: 50, ShutdownTimeout: time.Second, Grace: time.Second,
	RunTimeout: 20 * time.Second, FirstEventTimeout: 20 * time.Second,
}

type driver struct {
	self string
	cfg  Config
	// fanoutP99 is the median fan-out p99 of each contestant, for the
	// slow-consumer comparison.
	fanoutP99 map[string]float64
	// cpus is the driver's own affinity at start, restored after a pinned
	// run.
	cpus uint64
}

// everywhere lists the contestants of every scenario: all but the
// throughput-only and idle-only variants.
func everywhere() []*contestants.Contestant {
	var out []*contestants.Contestant
	for _, c := range contestants.All() {
		if !c.ThroughputOnly && !c.IdleOnly {
			out = append(out, c)
		}
	}
	return out
}

// idlers lists the contestants of the idle scenarios.
func idlers() []*contestants.Contestant {
	var out []*contestants.Contestant
	for _, c := range contestants.All() {
		if !c.ThroughputOnly {
			out = append(out, c)
		}
	}
	return out
}

func byName(names ...string) []*contestants.Contestant {
	var out []*contestants.Contestant
	for _, n := range names {
		out = append(out, contestants.ByName(n))
	}
	return out
}

// routers are the two ways every scenario that depends on the route is run:
// on a bare chi router, and behind the middleware most services run.
var routers = []struct{ name, throughputPrefix, title, how string }{
	{serve.RouterChi, "throughput-", "on chi", "on a chi router with no middleware."},
	{serve.RouterChiMiddleware, "throughput-mw-", "behind chi's middleware",
		"on a chi router behind middleware.RequestID, RealIP, Logger (writing to io.Discard) and Recoverer, in that order."},
}

// of lists the contestants of one mode, but the idle-only variants.
func of(mode contestants.Mode) []*contestants.Contestant {
	var out []*contestants.Contestant
	for _, c := range contestants.All() {
		if c.Mode == mode && !c.IdleOnly {
			out = append(out, c)
		}
	}
	return out
}

func (d *driver) scenarios() []*scenario {
	var out []*scenario
	for _, router := range routers {
		cs := of(contestants.PerRequest)
		if router.name != serve.RouterChi {
			// Behind the middleware, the floors and sseview: the peers
			// are compared on the bare router.
			cs = byName("raw", "raw-copy", "sseview", "sseview-bytes")
		}
		for _, tc := range []struct{ streams, size int }{{1, 64}, {1, 1024}, {64, 64}, {64, 1024}} {
			total, free, warm := d.cfg.ThroughputEvents, d.cfg.UnpinnedEvents, d.cfg.ThroughputWarmup
			if tc.size > 64 {
				total, free, warm = total/2, free/2, warm/2
			}
			out = append(out, &scenario{
				Name: fmt.Sprintf("%s%dx%dB", router.throughputPrefix, tc.streams, tc.size),
				Title: fmt.Sprintf("Per-request throughput %s: %d stream(s) × %d B events",
					router.title, tc.streams, tc.size),
				Description: fmt.Sprintf("%d events in all per pinned run (%d unpinned), written as fast as the "+
					"server can, each flushed, after an unmeasured pass of %d events in the same server process; "+
					"every payload checked by the client. Server CPU from the server's own getrusage "+
					"(user+system), per event. Pinned: the server and the load client on core %d (taskset, "+
					"sched_setaffinity), the server at nice %d and the client at nice %d, so that the server runs "+
					"whenever it has work and other work on the machine goes to the other core (see the method); "+
					"unpinned: both free to use either core at equal priority. Every contestant's "+
					"routes are registered with r.Handle %s Cells are the median of the rounds (%d pinned, the "+
					"first %d of them also unpinned), with the lowest and highest in parentheses; × base is the "+
					"median of the per-round ratios to raw (each round runs every contestant once, in turn).",
					total-total%tc.streams, free-free%tc.streams, warm-warm%tc.streams, pinnedCPU, serverNice, clientNice,
					router.how, d.cfg.ThroughputRounds, min(d.cfg.UnpinnedRounds, d.cfg.ThroughputRounds)),
				Columns: []column{
					{"cpu_us_per_event", "server CPU µs/event, pinned", "%.3f", true},
					{"events_per_s", "events/s, pinned", "%.0f", true},
					{"cpu_us_per_event_unpinned", "server CPU µs/event, unpinned", "%.3f", true},
					{"events_per_s_unpinned", "events/s, unpinned", "%.0f", true},
				},
				Contestants: cs,
				Rounds:      d.cfg.ThroughputRounds,
				WarmupRound: d.cfg.ThroughputWarmupRound,
				Spread:      true,
				run: func(c *contestants.Contestant, round int) sample {
					return d.throughputBoth(c, round, router.name, tc.streams, tc.size, warm, total, free)
				},
			})
		}
	}
	idleCols := []column{
		{"rss_kib_per_conn", "RSS KiB/conn", "%.1f", true},
		{"goroutines_per_conn", "goroutines/conn", "%.2f", true},
		{"heap_kib_per_conn", "heap KiB/conn", "%.1f", true},
		{"stack_kib_per_conn", "stack KiB/conn", "%.1f", true},
		{"stack_start_kib", "new goroutine's stack KiB", "%.0f", false},
	}
	idleMethod := "Measured in a fresh server process: RSS (VmRSS from /proc), heap in use (after two GCs) and " +
		"stacks (runtime/metrics /memory/classes/heap/stacks:bytes, after the GCs, so stacks the GC shrank " +
		"count shrunk) once every stream is open, minus the same figures before the first connection, " +
		"divided by the streams; goroutines likewise. Keep-alive on where the library has it. " +
		"Per-request contestants serve one event then wait; broadcast contestants hold a subscription " +
		"after one published event. The new goroutine's stack is /gc/stack/starting-size:bytes at the end " +
		"(the runtime sizes it from the average stack it scanned, GODEBUG adaptivestackstart). " +
		"Cells are the median of the rounds, with the lowest and highest in parentheses."
	// sseview is a library for chi, and middleware changes what a waiting
	// stream keeps on its stack: every contestant on chi, bare and behind
	// the usual middleware.
	for _, router := range routers {
		out = append(out, &scenario{
			Name:        "idle-" + router.name,
			Title:       fmt.Sprintf("Idle connections %s: %d open streams", router.title, d.cfg.IdleConns),
			Description: idleMethod + " Every contestant's routes are registered with r.Handle " + router.how,
			Columns:     idleCols,
			Contestants: idlers(),
			Spread:      true,
			run: func(c *contestants.Contestant, _ int) sample {
				return d.idle(c, d.cfg.IdleConns, router.name)
			},
		})
	}
	fanCols := []column{
		{"p50_ms", "p50 ms", "%.2f", true},
		{"p99_ms", "p99 ms", "%.2f", true},
		{"max_ms", "max ms", "%.1f", true},
		{"delivered_pct", "delivered %", "%.2f", false},
		{"cpu_us_per_delivery", "server CPU µs/delivery", "%.2f", true},
	}
	out = append(out, &scenario{
		Name:  "fanout",
		Title: fmt.Sprintf("Fan-out: %d subscribers, %d events/s for %d s", d.cfg.FanoutSubs, d.cfg.FanoutRate, d.cfg.FanoutSeconds),
		Description: fmt.Sprintf("%d B events published on one topic; latency from the publish call to the "+
			"client's parse of the event, over every delivery; delivered = events received in order, "+
			"complete and intact, within the run plus %v; server CPU per delivery from the server's getrusage.", d.cfg.FanoutSize, d.cfg.Grace),
		Columns:     fanCols,
		Contestants: of(contestants.Broadcast),
		run:         func(c *contestants.Contestant, _ int) sample { return d.fanout(c, false) },
	})
	out = append(out, &scenario{
		Name: "fanout-rate",
		Title: fmt.Sprintf("High-rate fan-out: %d subscribers, the highest publish rate sustained",
			d.cfg.FanoutSubs),
		Description: fmt.Sprintf("One fleet of subscribers; %d B events published on one topic at %v events/s "+
			"(steps of about √2), "+
			"%d s each, in turn, until a rate is not sustained. A rate is sustained when every subscriber gets "+
			"every event of it, in order and intact, within %v of its end, with a p99 publish-to-parse latency "+
			"under %.0f ms. Figures are at the highest rate sustained; \"next\" is the rate above it. "+
			"No fixed send buffer here (no reader stops).",
			d.cfg.FanoutSize, d.cfg.LadderRates, d.cfg.LadderSeconds, d.cfg.LadderGrace, ladderP99),
		Columns: []column{
			{"sustained_per_s", "sustained events/s", "%.0f", true},
			{"deliveries_per_s", "deliveries/s", "%.0f", false},
			{"p50_ms", "p50 ms", "%.2f", false},
			{"p99_ms", "p99 ms", "%.2f", false},
			{"max_ms", "max ms", "%.1f", false},
			{"cpu_us_per_delivery", "server CPU µs/delivery", "%.2f", true},
			{"next_p99_ms", "next: p99 ms", "%.1f", false},
			{"next_delivered_pct", "next: delivered %", "%.2f", false},
		},
		Contestants: of(contestants.Broadcast),
		Rounds:      d.cfg.LadderRounds,
		Spread:      true,
		run:         func(c *contestants.Contestant, _ int) sample { return d.fanoutLadder(c) },
	})
	out = append(out, &scenario{
		Name:  "slow-consumer",
		Title: "Slow consumer: the same fan-out with one subscriber that stops reading",
		Description: "One extra subscriber (4 KiB receive buffer) stops reading once subscribed. Figures are " +
			"the other subscribers'; \"p99 / fan-out p99\" compares with the same library's fan-out run.",
		Columns: append(slices.Clone(fanCols),
			column{"p99_vs_fanout", "p99 / fan-out p99", "%.2f", false}),
		Contestants: of(contestants.Broadcast),
		run:         func(c *contestants.Contestant, _ int) sample { return d.fanout(c, true) },
	})
	out = append(out, &scenario{
		Name:  "churn",
		Title: fmt.Sprintf("Churn: %d connect/disconnect cycles", d.cfg.ChurnCycles),
		Description: "Each cycle opens a stream, reads its first event and closes it, 16 at a time (broadcast " +
			"contestants publish an event every 5 ms). Goroutines and heap (after GC) of the server before, " +
			"and after its goroutine count settles (up to 5 s).",
		Columns: []column{
			{"cycles_per_s", "cycles/s", "%.0f", true},
			{"goroutines_before", "goroutines before", "%.0f", false},
			{"goroutines_after", "goroutines after", "%.0f", false},
			{"heap_before_kib", "heap before KiB", "%.0f", false},
			{"heap_after_kib", "heap after KiB", "%.0f", false},
		},
		Contestants: everywhere(),
		run:         func(c *contestants.Contestant, _ int) sample { return d.churn(c) },
	})
	out = append(out, &scenario{
		Name:  "shutdown",
		Title: fmt.Sprintf("Shutdown: %d open streams", d.cfg.ShutdownStreams),
		Description: fmt.Sprintf("Time for http.Server.Shutdown to return with each library's recommended "+
			"path (see the contestants list), given a %v deadline; streams ended = streams the client saw end.",
			d.cfg.ShutdownTimeout),
		Columns: []column{
			{"shutdown_s", "Shutdown s", "%.3f", true},
			{"ended_pct", "streams ended %", "%.1f", false},
		},
		Contestants: everywhere(),
		run:         func(c *contestants.Contestant, _ int) sample { return d.shutdown(c) },
	})
	return out
}

func debugf(format string, args ...any) {
	if os.Getenv("SSEBENCH_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
	}
}

// withServer runs fn against a fresh server of c, behind router (see
// serve.Main; every scenario serves its contestants on chi), on its own
// core when pinned.
func (d *driver) withServer(c *contestants.Contestant, router string, pinned bool, fn func(s *server, smp *sample), args ...string) sample {
	var smp sample
	if c.Unavailable != "" {
		return smp
	}
	if router != "" {
		args = append(args, "-router", router)
	}
	s, err := startServer(d.self, c.Name, pinned, args...)
	if err != nil {
		smp.problem("%v", err)
		return smp
	}
	defer s.stop()
	fn(s, &smp)
	return smp
}

// throughputBoth measures c pinned (server and load client on one core,
// the client below the server: see pin.go), then, in the first
// UnpinnedRounds rounds, unpinned, each in a fresh server process. The
// pinned figures are the primary ones.
func (d *driver) throughputBoth(c *contestants.Contestant, round int, router string, streams, size, warm, total, totalFree int) sample {
	pinned := d.throughput(c, router, true, streams, size, warm, total)
	if round >= d.cfg.UnpinnedRounds {
		return pinned
	}
	free := d.throughput(c, router, false, streams, size, warm, totalFree)
	for k, v := range free.Metrics {
		pinned.set(k+"_unpinned", v)
	}
	for _, p := range free.Problems {
		pinned.problem("unpinned: %s", p)
	}
	return pinned
}

func (d *driver) throughput(c *contestants.Contestant, router string, pinned bool, streams, size, warm, total int) sample {
	per := total / streams
	return d.withServer(c, router, pinned, func(s *server, smp *sample) {
		if pinned {
			// The client on the server's core, below it (see pin.go).
			if err := errors.Join(setAffinity(1<<pinnedCPU), setNice(clientNice)); err != nil {
				smp.problem("%v", err)
				return
			}
			defer func() {
				if err := errors.Join(setNice(0), setAffinity(d.cpus)); err != nil {
					smp.problem("%v", err)
				}
			}()
		}
		client := &http.Client{Transport: newTransport(64)}
		defer client.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), d.cfg.RunTimeout)
		defer cancel()
		// A warm-up pass in the same process, not measured: the first
		// events of a fresh process pay for growing its heap and stacks
		// and for faulting in its code, once, whatever the library.
		if w := warm / streams; w > 0 {
			if _, _, problems := drain(ctx, client, s.url(fmt.Sprintf("/stream?n=%d&size=%d", w, size)), c, streams, w, size); len(problems) > 0 {
				for _, p := range problems {
					smp.problem("warm-up: %s", p)
				}
				return
			}
		}
		cpu0, err := s.cpu()
		if err != nil {
			smp.problem("%v", err)
			return
		}
		t0 := time.Now()
		received, reads, problems := drain(ctx, client, s.url(fmt.Sprintf("/stream?n=%d&size=%d", per, size)), c, streams, per, size)
		el := time.Since(t0)
		smp.Problems = append(smp.Problems, problems...)
		cpu1, err := s.cpu()
		if err != nil {
			smp.problem("%v", err)
			return
		}
		n := float64(received)
		if n == 0 {
			return
		}
		user, sys := float64(cpu1.UserMicros-cpu0.UserMicros), float64(cpu1.SysMicros-cpu0.SysMicros)
		smp.set("events_per_s", n/el.Seconds())
		smp.set("cpu_us_per_event", (user+sys)/n)
		smp.set("user_us_per_event", user/n)
		// How often the client found more than one event waiting: a
		// slower server can cost more per event when the client keeps up
		// and every write has to wake it.
		smp.set("client_reads_per_event", float64(reads)/n)
	})
}

// drain reads streams streams of per events of size bytes from url at once,
// checking every event, and returns the events received, the reads the
// client made and up to three problems.
func drain(ctx context.Context, client *http.Client, url string, c *contestants.Contestant, streams, per, size int) (received, reads int64, problems []string) {
	var nrecv, nreads atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range streams {
		wg.Go(func() {
			fail := func(format string, args ...any) {
				mu.Lock()
				defer mu.Unlock()
				if len(problems) < 3 {
					problems = append(problems, fmt.Sprintf(format, args...))
				}
			}
			st, err := open(ctx, client, url)
			if err != nil {
				fail("open: %v", err)
				return
			}
			defer st.close()
			defer func() { nreads.Add(st.r.Reads) }()
			next := int64(0)
			for {
				ev, err := st.r.Next()
				if err != nil {
					if !errors.Is(err, io.EOF) {
						fail("after %d of %d events: %v", next, per, err)
					} else if next != int64(per) {
						fail("stream ended after %d of %d events", next, per)
					}
					return
				}
				seq, _, err := wire.Check(ev.Data, size, c.Quoted)
				if err != nil {
					fail("%v", err)
					return
				}
				if seq != next {
					fail("event %d arrived where %d was due", seq, next)
					return
				}
				next++
				nrecv.Add(1)
			}
		})
	}
	wg.Wait()
	return nrecv.Load(), nreads.Load(), problems
}

// idle holds n streams of c open at once and reports what they cost the
// server, with c behind router (see serve.Main) when it is not "".
func (d *driver) idle(c *contestants.Contestant, n int, router string) sample {
	name := c.Name + "-" + router
	return d.withServer(c, router, false, func(s *server, smp *sample) {
		st0, err := s.stats(true)
		if err != nil {
			smp.problem("%v", err)
			return
		}
		rss0, err := s.rssBytes()
		if err != nil {
			smp.problem("%v", err)
			return
		}
		t0 := time.Now()
		f := openFleet(s, c, n, nil)
		defer func() {
			t1 := time.Now()
			f.close()
			debugf("idle %s: close %v", name, time.Since(t1))
		}()
		f.waitFirst(s, c, d.cfg.FirstEventTimeout, nil)
		debugf("idle %s: open %v", name, time.Since(t0))
		// Let the server finish what the connects started.
		time.Sleep(500 * time.Millisecond)
		rss1, err1 := s.rssBytes()
		st1, err2 := s.stats(false)
		st2, err3 := s.stats(true)
		if err := errors.Join(err1, err2, err3); err != nil {
			smp.problem("%v", err)
			return
		}
		if dir := os.Getenv("SSEBENCH_HEAPPROFILE"); dir != "" {
			if err := s.saveHeapProfile(filepath.Join(dir, name+"-idle.pprof")); err != nil {
				smp.problem("%v", err)
			}
		}
		smp.Problems = append(smp.Problems, f.problems()...)
		fn := float64(n)
		smp.set("rss_kib_per_conn", (rss1-rss0)/fn/1024)
		smp.set("goroutines_per_conn", float64(st1.Goroutines-st0.Goroutines)/fn)
		smp.set("heap_kib_per_conn", (float64(st2.HeapInuse)-float64(st0.HeapInuse))/fn/1024)
		smp.set("stack_kib_per_conn", (float64(st2.Stacks)-float64(st0.Stacks))/fn/1024)
		smp.set("stack_start_kib", float64(st2.StackStart)/1024)
	})
}

// fanoutSndbuf is the send buffer of the server's sockets in the fan-out
// scenarios. On loopback the kernel starts a socket with over a megabyte of
// send buffer (ten 64 KiB segments, doubled), which a stopped client at
// 100 events/s would take minutes to fill; fixed at 8 KiB (16 KiB with the
// kernel's doubling) a stopped reader blocks its writer within seconds.
// Every contestant gets the same sockets.
const fanoutSndbuf = 8 << 10

// subState is what one fan-out subscriber saw; only its goroutine writes it
// until the driver reads it after the run.
type subState struct {
	next     int64
	received int64
	lat      []float64 // milliseconds
	problem  string
}

func (d *driver) fanout(c *contestants.Contestant, slow bool) sample {
	return d.withServer(c, serve.RouterChi, false, func(s *server, smp *sample) {
		subs, n := d.cfg.FanoutSubs, d.cfg.FanoutRate*d.cfg.FanoutSeconds
		size := d.cfg.FanoutSize
		states := make([]subState, subs)
		for i := range states {
			states[i].lat = make([]float64, 0, n)
		}
		var done atomic.Int64
		f := openFleet(s, c, subs, func(i int, seq, ts int64, data []byte) {
			now := time.Now().UnixNano()
			st := &states[i]
			if seq < 0 || st.next >= int64(n) {
				return
			}
			if seq != st.next && st.problem == "" {
				st.problem = fmt.Sprintf("event %d arrived where %d was due", seq, st.next)
			}
			if len(data) != size && st.problem == "" {
				st.problem = fmt.Sprintf("event %d is %d bytes, sent %d", seq, len(data), size)
			}
			st.next = seq + 1
			st.received++
			st.lat = append(st.lat, float64(now-ts)/1e6)
			if st.next >= int64(n) {
				done.Add(1)
			}
		})
		defer f.close()
		var stuckReady func() bool
		if slow {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			sk, err := openStuck(ctx, s.addr, "/sub")
			if err != nil {
				smp.problem("stuck subscriber: %v", err)
				return
			}
			defer sk.close()
			var ready atomic.Bool
			go func() {
				if err := sk.waitSubscribed(time.Now().Add(60 * time.Second)); err == nil {
					ready.Store(true)
				}
			}()
			stuckReady = ready.Load
		}
		if !f.waitFirst(s, c, d.cfg.FirstEventTimeout, stuckReady) {
			smp.Problems = append(smp.Problems, f.problems()...)
			if stuckReady != nil && !stuckReady() {
				smp.problem("the stuck subscriber never got its first event")
			}
			return
		}
		cpu0, err := s.cpuSeconds()
		if err != nil {
			smp.problem("%v", err)
			return
		}
		if err := s.run(n, d.cfg.FanoutRate, size); err != nil {
			smp.problem("%v", err)
			return
		}
		deadline := time.Now().Add(time.Duration(d.cfg.FanoutSeconds)*time.Second + d.cfg.Grace)
		for time.Now().Before(deadline) && done.Load() < int64(subs) {
			time.Sleep(50 * time.Millisecond)
		}
		cpu1, cpuErr := s.cpuSeconds()
		rs, err := s.runStatus()
		if err != nil {
			smp.problem("%v", err)
		} else if rs.Err != "" {
			smp.problem("Publish failed: %s", rs.Err)
		} else if rs.Published < int64(n) {
			smp.problem("Publish blocked: %d of %d events published", rs.Published, n)
		}
		f.expectEnd()
		smp.Problems = append(smp.Problems, f.problems()...)
		// Read the states only once their goroutines are gone.
		f.close()
		var lat []float64
		var received int64
		var bad []string
		for i := range states {
			received += states[i].received
			lat = append(lat, states[i].lat...)
			if states[i].problem != "" {
				bad = append(bad, states[i].problem)
			}
		}
		if len(bad) > 0 {
			smp.problem("%d subscribers saw events out of order or damaged, e.g. %s", len(bad), bad[0])
		}
		if cpuErr == nil && received > 0 {
			smp.set("cpu_us_per_delivery", (cpu1-cpu0)/float64(received)*1e6)
		}
		pct := float64(received) / float64(subs*n) * 100
		smp.set("delivered_pct", pct)
		if received < int64(subs*n) {
			smp.problem("%d of %d deliveries missing (stalled)", int64(subs*n)-received, subs*n)
		}
		if len(lat) == 0 {
			return
		}
		slices.Sort(lat)
		q := func(p float64) float64 { return lat[min(len(lat)-1, int(math.Ceil(p*float64(len(lat))))-1)] }
		smp.set("p50_ms", q(0.50))
		smp.set("p99_ms", q(0.99))
		smp.set("max_ms", lat[len(lat)-1])
		if slow {
			if base, ok := d.fanoutP99[c.Name]; ok && base > 0 {
				smp.set("p99_vs_fanout", q(0.99)/base)
			}
		}
	}, "-sndbuf", strconv.Itoa(fanoutSndbuf))
}

func (d *driver) churn(c *contestants.Contestant) sample {
	return d.withServer(c, serve.RouterChi, false, func(s *server, smp *sample) {
		if c.Mode == contestants.Broadcast {
			if err := s.tick(5 * time.Millisecond); err != nil {
				smp.problem("%v", err)
				return
			}
		}
		client := &http.Client{Transport: newTransport(64)}
		defer client.CloseIdleConnections()
		url := s.url(path(c))
		cycle := func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			st, err := open(ctx, client, url)
			if err != nil {
				return err
			}
			defer st.close()
			ev, err := st.r.Next()
			if err != nil {
				return fmt.Errorf("no first event: %w", err)
			}
			_, _, err = wire.Check(ev.Data, 0, c.Quoted)
			return err
		}
		var failed atomic.Int64
		var firstErr atomic.Value
		cycles := func(n int) {
			var next atomic.Int64
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					for next.Add(1) <= int64(n) {
						if err := cycle(); err != nil {
							failed.Add(1)
							firstErr.CompareAndSwap(nil, err.Error())
						}
					}
				})
			}
			wg.Wait()
		}
		// Warm up, so that what a library starts once is in the baseline.
		cycles(100)
		// settle waits until the goroutine count is at most target (or,
		// with target < 0, stops changing), for up to 5 s.
		settle := func(target int) serve.Stats {
			deadline := time.Now().Add(5 * time.Second)
			last := -1
			for {
				st, err := s.stats(false)
				if err != nil || time.Now().After(deadline) ||
					(target >= 0 && st.Goroutines <= target) || (target < 0 && st.Goroutines == last) {
					break
				}
				last = st.Goroutines
				time.Sleep(100 * time.Millisecond)
			}
			st, err := s.stats(true)
			if err != nil {
				smp.problem("%v", err)
			}
			return st
		}
		before := settle(-1)
		n := d.cfg.ChurnCycles
		t0 := time.Now()
		cycles(n)
		el := time.Since(t0)
		after := settle(before.Goroutines)
		if k := failed.Load(); k > 0 {
			smp.problem("%d of %d cycles failed, e.g. %v", k, n+100, firstErr.Load())
		}
		smp.set("cycles_per_s", float64(n)/el.Seconds())
		smp.set("goroutines_before", float64(before.Goroutines))
		smp.set("goroutines_after", float64(after.Goroutines))
		smp.set("heap_before_kib", float64(before.HeapInuse)/1024)
		smp.set("heap_after_kib", float64(after.HeapInuse)/1024)
		if g := after.Goroutines - before.Goroutines; g > 0 {
			smp.problem("%d goroutines more than before, 5 s after the last disconnect", g)
		}
		if grow := float64(after.HeapInuse) - float64(before.HeapInuse); grow > 1<<20 {
			smp.problem("heap grew by %.0f KiB", grow/1024)
		}
	})
}

func (d *driver) shutdown(c *contestants.Contestant) sample {
	return d.withServer(c, serve.RouterChi, false, func(s *server, smp *sample) {
		n := d.cfg.ShutdownStreams
		f := openFleet(s, c, n, nil)
		defer f.close()
		if !f.waitFirst(s, c, d.cfg.FirstEventTimeout, nil) {
			smp.Problems = append(smp.Problems, f.problems()...)
			return
		}
		f.expectEnd()
		res, err := s.shutdown(d.cfg.ShutdownTimeout)
		if err != nil {
			smp.problem("%v", err)
			return
		}
		wait := min(d.cfg.Grace, 2*time.Second)
		ended := f.waitEnded(wait)
		smp.set("shutdown_s", res.Seconds)
		smp.set("ended_pct", float64(ended)/float64(n)*100)
		if res.Err != "" {
			smp.problem("%s", res.Err)
		}
		if ended < int64(n) {
			smp.problem("%d of %d streams still open %v after Shutdown returned", int64(n)-ended, n, wait)
		}
		smp.Problems = append(smp.Problems, f.problems()...)
	})
}
