package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sseview/sseview/redisbroker"
	"github.com/sseview/sseview/sseview"
)

const topic = "load"

// feed is the view under test: the broker's subscription returned as it is.
type feed struct{ broker sseview.Broker }

func (v feed) Stream(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	return v.broker.Subscribe(ctx, topic, sseview.LastEventID(r))
}

// runServer serves the event stream and the load test's control routes on
// 127.0.0.1 until interrupted, and prints its address on stdout first.
func runServer(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	broker, closeBroker, err := newBroker(ctx, o)
	if err != nil {
		return err
	}
	defer closeBroker()

	r := chi.NewRouter()
	r.Get("/events", (&sseview.Handler{View: feed{broker: broker}, Logger: slog.New(slog.DiscardHandler)}).ServeHTTP)
	r.Get("/stats", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(readStats())
	})
	r.Post("/publish", func(w http.ResponseWriter, r *http.Request) {
		id, err := broker.Publish(r.Context(), topic, sseview.Text{Type: r.URL.Query().Get("type")})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, id)
	})
	r.Post("/run", func(w http.ResponseWriter, r *http.Request) {
		rate, err1 := strconv.Atoi(r.URL.Query().Get("rate"))
		count, err2 := strconv.Atoi(r.URL.Query().Get("count"))
		if err := errors.Join(err1, err2); err != nil || rate < 1 || count < 1 {
			http.Error(w, "rate and count must be positive integers", http.StatusBadRequest)
			return
		}
		n, took, err := publishAtRate(r.Context(), broker, rate, count)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, n, took.Seconds())
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	sseview.EndStreamsOnShutdown(srv, time.Second)
	fmt.Printf("http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// publishAtRate publishes count events on a schedule of rate per second:
// event i is due at start + i/rate. Up to publishers publish at once, as
// the request handlers of a real application would, so one slow publish
// does not hold back the schedule. Each event carries its index and the
// time its publish started.
func publishAtRate(ctx context.Context, broker sseview.Broker, rate, count int) (int, time.Duration, error) {
	const publishers = 16
	start := time.Now()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		done   int
		failed error
	)
	slots := make(chan struct{}, publishers)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := range count {
		due := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				wg.Wait()
				return done, time.Since(start), ctx.Err()
			}
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			data := strconv.Itoa(i) + " " + strconv.FormatInt(time.Now().UnixNano(), 10)
			_, err := broker.Publish(ctx, topic, sseview.Text{Type: "load", Data: data})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed = errors.Join(failed, err)
				return
			}
			done++
		})
	}
	wg.Wait()
	return done, time.Since(start), failed
}

func newBroker(ctx context.Context, o options) (sseview.Broker, func(), error) {
	switch o.broker {
	case "memory":
		return &sseview.MemoryBroker{QueueLen: o.queue}, func() {}, nil
	case "redis":
	default:
		return nil, nil, fmt.Errorf("fanoutload: unknown -broker %q (memory or redis)", o.broker)
	}
	url := o.redisURL
	stop := func() {}
	if url == "" {
		var err error
		if url, stop, err = startRedis(ctx); err != nil {
			return nil, nil, err
		}
	}
	b, err := redisbroker.Open(ctx, url, redisbroker.Config{KeyPrefix: "fanoutload:", QueueLen: o.queue})
	if err != nil {
		stop()
		return nil, nil, err
	}
	return b, func() {
		_ = b.Close()
		stop()
	}, nil
}

// startRedis runs a redis-server on a free 127.0.0.1 port with its data in
// a temporary directory, and returns its URL and a function that stops it
// and removes the directory.
func startRedis(ctx context.Context) (string, func(), error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, errors.New("fanoutload: redis-server is not installed (apt-get install -y redis-server), or pass -redis URL")
	}
	dir, err := os.MkdirTemp("", "fanoutload-redis-")
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, err
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	_ = ln.Close()
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no", "--logfile", "")
	out, err := cmd.StdoutPipe()
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		_ = os.RemoveAll(dir)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "Ready to accept connections") {
				signalled = true
				ready <- true
			}
		}
		if !signalled {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			stop()
			return "", nil, errors.New("fanoutload: redis-server exited before it was ready")
		}
	case <-time.After(20 * time.Second):
		stop()
		return "", nil, errors.New("fanoutload: redis-server not ready in 20s")
	case <-ctx.Done():
		stop()
		return "", nil, ctx.Err()
	}
	return "redis://127.0.0.1:" + port + "/0", stop, nil
}
