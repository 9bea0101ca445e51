// Package serve is the bench server process: one contestant on one
// listener, on its own handler or mounted on a chi router (with or without
// middleware), and a control listener of its own that Shutdown never
// touches.
//
// Control routes:
//
//	GET  /stats?gc=1                 goroutines, heap and stacks, after a GC when asked
//	GET  /cpu                        the process's CPU time so far (getrusage)
//	POST /publish?seq=S&size=B       publish one event (broadcast)
//	POST /run?n=N&rate=R&size=B&from=F  publish events F..F+N-1 (F defaults to 0) at R per second, in the background
//	GET  /run                        progress of the last /run
//	POST /tick?period=D              publish a warm-up event every D until the process ends
//	POST /shutdown?timeout=D         http.Server.Shutdown with the contestant's path; reports its time
package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	pprofhttp "net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/sseview/sseview/bench/internal/contestants"
	"github.com/sseview/sseview/bench/internal/wire"
)

// Stats is the answer of GET /stats.
type Stats struct {
	Goroutines int    `json:"goroutines"`
	HeapInuse  uint64 `json:"heap_inuse"`
	HeapAlloc  uint64 `json:"heap_alloc"`
	// Stacks is runtime/metrics' /memory/classes/heap/stacks:bytes: the
	// heap memory reserved for goroutine stacks, in use or cached.
	Stacks uint64 `json:"stacks"`
	// StackStart is /gc/stack/starting-size:bytes, the stack a new
	// goroutine gets: the runtime sizes it from the average stack it
	// scanned at the last collection (GODEBUG adaptivestackstart).
	StackStart uint64 `json:"stack_start"`
}

// Routers a contestant can be served behind, besides its own handler.
const (
	// RouterChi mounts the contestant's routes on a chi router.
	RouterChi = "chi"
	// RouterChiMiddleware adds chi's RequestID, RealIP, Logger (to
	// io.Discard) and Recoverer in front of them, a common production stack.
	RouterChiMiddleware = "chi-middleware"
)

// RunStatus is the answer of GET /run.
type RunStatus struct {
	Published int64  `json:"published"`
	Done      bool   `json:"done"`
	Err       string `json:"err,omitempty"`
}

// ShutdownResult is the answer of POST /shutdown.
type ShutdownResult struct {
	Seconds float64 `json:"seconds"`
	Err     string  `json:"err,omitempty"`
}

// RaiseFileLimit lifts the soft RLIMIT_NOFILE to the hard limit and fails
// when that is below need.
func RaiseFileLimit(need uint64) error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return fmt.Errorf("setrlimit: %w", err)
		}
	}
	if l.Cur < need {
		return fmt.Errorf("open-file limit is %d, the benchmark needs %d (raise ulimit -n)", l.Cur, need)
	}
	return nil
}

// sndbufListener gives every accepted connection a fixed send buffer.
type sndbufListener struct {
	net.Listener
	size int
}

func (l sndbufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if err := tc.SetWriteBuffer(l.size); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Main runs the server of contestant name until stdin closes (the driver
// went away) or it is killed. It prints "LISTEN <addr> <control addr>".
// A positive sndbuf fixes the send buffer of every stream's socket; router,
// when not "", is RouterChi or RouterChiMiddleware.
func Main(name string, sndbuf int, router string) error {
	c := contestants.ByName(name)
	if c == nil {
		return fmt.Errorf("serve: no contestant %q", name)
	}
	if c.Unavailable != "" {
		return fmt.Errorf("serve: %s: %s", name, c.Unavailable)
	}
	if err := RaiseFileLimit(12000); err != nil {
		return err
	}
	// SSEBENCH_HEAPPROFILE (read by the driver) asks for exact heap
	// profiles: record every allocation.
	if os.Getenv("SSEBENCH_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 1
	}
	// The libraries' own logging of dropped clients is not under test.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	inst := c.New()
	handler, err := routed(inst, router)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if sndbuf > 0 {
		ln = sndbufListener{ln, sndbuf}
	}
	cln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ErrorLog: log.New(io.Discard, "", 0)}
	if inst.Prepare != nil {
		inst.Prepare(srv)
	}
	ctl := &control{inst: inst, srv: srv}
	go func() { _ = srv.Serve(ln) }()
	go func() { _ = http.Serve(cln, ctl.mux()) }()
	fmt.Printf("LISTEN %s %s\n", ln.Addr(), cln.Addr())
	// SSEBENCH_CPUPROFILE=dir profiles the server, for finding out why a
	// contestant costs what it costs.
	if dir := os.Getenv("SSEBENCH_CPUPROFILE"); dir != "" {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", name, os.Getpid())))
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	// The driver holds our stdin: when it closes it or dies, we end.
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// routed returns inst's handler behind router.
func routed(inst *contestants.Instance, router string) (http.Handler, error) {
	r := chi.NewRouter()
	switch router {
	case "":
		return inst.Handler, nil
	case RouterChi:
	case RouterChiMiddleware:
		// Logger formats every request; to io.Discard, so that the cost is
		// paid but the driver's output is not flooded.
		logger := middleware.RequestLogger(&middleware.DefaultLogFormatter{Logger: log.New(io.Discard, "", 0), NoColor: true})
		//lint:ignore SA1019 RealIP is deprecated (it trusts spoofable headers), but it is the stack the idle claim was made against and many servers still run; nothing here reads the address.
		r.Use(middleware.RequestID, middleware.RealIP, logger, middleware.Recoverer)
	default:
		return nil, fmt.Errorf("serve: unknown router %q", router)
	}
	for path, h := range inst.Routes() {
		r.Handle(path, h)
	}
	return r, nil
}

type control struct {
	inst *contestants.Instance
	srv  *http.Server

	mu        sync.Mutex
	running   bool
	published atomic.Int64
	done      atomic.Bool
	runErr    atomic.Value // string
}

func (c *control) mux() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /stats", c.stats)
	m.HandleFunc("GET /cpu", c.cpu)
	m.HandleFunc("POST /publish", c.publish)
	m.HandleFunc("POST /run", c.run)
	m.HandleFunc("GET /run", c.runStatus)
	m.HandleFunc("POST /tick", c.tick)
	m.HandleFunc("POST /shutdown", c.shutdown)
	m.HandleFunc("GET /debug/pprof/", pprofhttp.Index)
	return m
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func intArg(r *http.Request, name string) int {
	n, _ := strconv.Atoi(r.URL.Query().Get(name))
	return n
}

func (c *control) stats(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("gc") != "" {
		// Twice: sync.Pool keeps a victim cache through one GC.
		runtime.GC()
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := []metrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}, {Name: "/gc/stack/starting-size:bytes"}}
	metrics.Read(m)
	reply(w, Stats{
		Goroutines: runtime.NumGoroutine(), HeapInuse: ms.HeapInuse, HeapAlloc: ms.HeapAlloc,
		Stacks: m[0].Value.Uint64(), StackStart: m[1].Value.Uint64(),
	})
}

// CPU is the answer of GET /cpu: user and system CPU time of the whole
// process, in microseconds. getrusage reports the scheduler's exact
// runtime, where /proc/<pid>/stat counts 10 ms clock ticks.
type CPU struct {
	UserMicros int64 `json:"user_us"`
	SysMicros  int64 `json:"sys_us"`
}

func (c *control) cpu(w http.ResponseWriter, _ *http.Request) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		http.Error(w, "serve: getrusage: "+err.Error(), http.StatusInternalServerError)
		return
	}
	reply(w, CPU{
		UserMicros: ru.Utime.Sec*1e6 + ru.Utime.Usec,
		SysMicros:  ru.Stime.Sec*1e6 + ru.Stime.Usec,
	})
}

func (c *control) needPublish(w http.ResponseWriter) bool {
	if c.inst.Publish == nil {
		http.Error(w, "serve: this contestant does not publish", http.StatusBadRequest)
		return false
	}
	return true
}

// publish is the driver's warm-up: a publisher that blocks is reported as
// a timeout rather than hanging the driver.
func (c *control) publish(w http.ResponseWriter, r *http.Request) {
	if !c.needPublish(w) {
		return
	}
	seq, size := intArg(r, "seq"), intArg(r, "size")
	errc := make(chan error, 1)
	go func() {
		errc <- c.inst.Publish(context.Background(), wire.Payload(int64(seq), time.Now().UnixNano(), size))
	}()
	select {
	case err := <-errc:
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	case <-time.After(2 * time.Second):
		http.Error(w, "serve: Publish blocked for 2s", http.StatusGatewayTimeout)
	}
}

func (c *control) run(w http.ResponseWriter, r *http.Request) {
	if !c.needPublish(w) {
		return
	}
	n, rate, size, from := intArg(r, "n"), intArg(r, "rate"), intArg(r, "size"), intArg(r, "from")
	if n <= 0 || rate <= 0 || from < 0 {
		http.Error(w, "serve: n and rate must be positive, from not negative", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		http.Error(w, "serve: already running", http.StatusConflict)
		return
	}
	c.running = true
	c.published.Store(0)
	c.done.Store(false)
	period := time.Second / time.Duration(rate)
	go func() {
		defer func() {
			c.mu.Lock()
			c.running = false
			c.mu.Unlock()
			c.done.Store(true)
		}()
		start := time.Now()
		for i := range n {
			if d := time.Until(start.Add(time.Duration(i) * period)); d > 0 {
				time.Sleep(d)
			}
			seq := int64(from + i)
			if err := c.inst.Publish(context.Background(), wire.Payload(seq, time.Now().UnixNano(), size)); err != nil {
				c.runErr.Store(err.Error())
				return
			}
			c.published.Add(1)
		}
	}()
}

func (c *control) runStatus(w http.ResponseWriter, _ *http.Request) {
	s := RunStatus{Published: c.published.Load(), Done: c.done.Load()}
	if e, ok := c.runErr.Load().(string); ok {
		s.Err = e
	}
	reply(w, s)
}

func (c *control) tick(w http.ResponseWriter, r *http.Request) {
	if !c.needPublish(w) {
		return
	}
	period, err := time.ParseDuration(r.URL.Query().Get("period"))
	if err != nil || period <= 0 {
		http.Error(w, "serve: bad period", http.StatusBadRequest)
		return
	}
	go func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for range t.C {
			if c.inst.Publish(context.Background(), wire.Payload(-1, time.Now().UnixNano(), 64)) != nil {
				return
			}
		}
	}()
}

func (c *control) shutdown(w http.ResponseWriter, r *http.Request) {
	timeout, err := time.ParseDuration(r.URL.Query().Get("timeout"))
	if err != nil || timeout <= 0 {
		http.Error(w, "serve: bad timeout", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	err = c.srv.Shutdown(ctx)
	res := ShutdownResult{Seconds: time.Since(start).Seconds()}
	if err != nil {
		res.Err = err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			res.Err = fmt.Sprintf("Shutdown hit its %v deadline", timeout)
		}
	}
	reply(w, res)
}
