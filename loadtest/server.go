package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"

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
