package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/nats-io/nats.go"

	"github.com/sseview/sseview/natsbroker"
	"github.com/sseview/sseview/redisbroker"
	"github.com/sseview/sseview/sseview"
)

const (
	// shutdownTimeout bounds how long the server waits for requests in
	// flight; streams end at once, so it is only reached by a stuck handler.
	shutdownTimeout = 5 * time.Second
	// reconnectAfter is the reconnection time streams are told on shutdown,
	// so the pages come back quickly to a restarted server.
	reconnectAfter = time.Second
)

// app is the program's parts, built by newApp, served by Serve.
type app struct {
	cfg     config
	store   *Store
	updater *Updater
	handler http.Handler
	broker  sseview.Broker // nil in poll mode
	nc      *nats.Conn     // the NATS connection of a NATS broker
	redis   string         // the redacted URL of a Redis broker
	metrics *telemetry     // served at /metrics
	dbPath  string         // the database shown to the user
	tmpDir  string         // removed by Close when the database lives in it
}

// newApp opens the database and builds the routes. Close releases them.
func newApp(ctx context.Context, cfg config) (*app, error) {
	a := &app{cfg: cfg, dbPath: cfg.DB}
	if a.dbPath == "" {
		// A file rather than ":memory:": a file in WAL mode serves every
		// stream's poll on its own connection while the updater writes,
		// where ":memory:" must be one connection that all of them queue
		// for. It is also open to `sqlite3` while the demo runs.
		dir, err := os.MkdirTemp("", "sseview-weather-")
		if err != nil {
			return nil, fmt.Errorf("weather: %w", err)
		}
		a.tmpDir = dir
		a.dbPath = filepath.Join(dir, "weather.db")
	}
	store, err := OpenStore(ctx, a.dbPath)
	if err != nil {
		a.removeTmp()
		return nil, err
	}
	a.store = store
	if a.metrics, err = newTelemetry(); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.openBroker(ctx); err != nil {
		a.Close()
		return nil, err
	}
	a.updater = &Updater{Store: store, Broker: a.broker, Interval: cfg.Update,
		PublishTimeout: cfg.PublishTimeout, Backlog: cfg.Backlog, Logger: cfg.Logger}
	page, err := newPage(cfg)
	if err != nil {
		a.Close()
		return nil, err
	}
	var view sseview.StreamView = WeatherStream{Points: store, Watcher: a.updater, Poll: cfg.Poll}
	if a.broker != nil {
		view = BrokerStream{Broker: a.broker, Published: a.updater, Watcher: a.updater, Logger: cfg.Logger}
	}

	r := chi.NewRouter()
	r.Get("/", page.ServeHTTP)
	r.Handle("/static/*", http.StripPrefix("/static/", http.FileServerFS(staticFS)))
	handleStream(r, &sseview.Handler{View: view, Logger: cfg.Logger, Observer: a.metrics})
	r.Get("/metrics", a.metrics.scrape.ServeHTTP)
	a.handler = r
	return a, nil
}

// handleStream registers the weather stream on r. With Handle rather than
// Get, every method reaches the Handler: it answers HEAD with the stream's
// headers, and other methods with 405 and the Allow header, where chi's
// Get would answer HEAD with 405.
func handleStream(r chi.Router, stream *sseview.Handler) {
	r.Handle(weatherRoute, stream)
}

// openBroker sets up the broker cfg.Broker names; poll mode has none.
func (a *app) openBroker(ctx context.Context) error {
	switch mode := a.cfg.Broker; mode {
	case brokerPoll:
		return nil
	case "", brokerMemory:
		a.broker = &sseview.MemoryBroker{Observer: a.metrics.Broker("memory")}
		return nil
	default:
		if err := checkBroker(mode); err != nil {
			return err
		}
		if isRedis(mode) {
			b, err := redisbroker.Open(ctx, mode, redisbroker.Config{Logger: a.cfg.Logger, Observer: a.metrics.Broker("redis")})
			if err != nil {
				return fmt.Errorf("weather: Redis at %s: %w", redacted(mode), err)
			}
			a.redis, a.broker = redacted(mode), b
			return nil
		}
		nc, err := nats.Connect(mode, nats.Name("sseview-weather"), nats.MaxReconnects(-1))
		if err != nil {
			return fmt.Errorf("weather: connect to NATS at %s: %w", redacted(mode), err)
		}
		b, err := natsbroker.New(ctx, nc, natsbroker.Config{Logger: a.cfg.Logger, Observer: a.metrics.Broker("nats")})
		if err != nil {
			nc.Close()
			return fmt.Errorf("weather: %w", err)
		}
		a.nc, a.broker = nc, b
		return nil
	}
}

// redacted is a broker's URL with its password, if any, hidden.
func redacted(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(a URL that does not parse)"
	}
	return u.Redacted()
}

// brokerName is how the broker is shown to the user.
func (a *app) brokerName() string {
	switch {
	case a.nc != nil:
		return a.nc.ConnectedUrlRedacted()
	case a.redis != "":
		return a.redis
	}
	return brokerMemory
}

// Close closes the broker, the database and the metrics, and removes the
// database's temporary directory, if any.
func (a *app) Close() error {
	var err error
	switch b := a.broker.(type) {
	case *natsbroker.Broker:
		err = b.Close()
		a.nc.Close()
	case *redisbroker.Broker:
		err = b.Close()
	}
	if a.store != nil {
		err = errors.Join(err, a.store.Close())
	}
	if a.metrics != nil {
		err = errors.Join(err, a.metrics.Close())
	}
	a.removeTmp()
	return err
}

func (a *app) removeTmp() {
	if a.tmpDir != "" {
		os.RemoveAll(a.tmpDir)
	}
}

// Serve serves on ln and runs the updater until ctx is done, then shuts the
// server down: open streams end at once (each told to reconnect in about a
// second), other requests get shutdownTimeout to finish.
func (a *app) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.logger().Handler(), slog.LevelWarn),
	}
	sseview.EndStreamsOnShutdown(srv, reconnectAfter)

	updaterCtx, stopUpdater := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { a.updater.Run(updaterCtx) })
	defer func() {
		stopUpdater()
		wg.Wait()
	}()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("weather: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	if err != nil {
		return fmt.Errorf("weather: shutdown: %w", err)
	}
	return nil
}

func (a *app) logger() *slog.Logger {
	if a.cfg.Logger != nil {
		return a.cfg.Logger
	}
	return slog.Default()
}
