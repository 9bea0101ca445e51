// Command board is a shared board served with sseview: post a message or
// move a card in one tab and it appears in every open tab at once. Each
// change is published to an in-process sseview.MemoryBroker as an HTML
// fragment rendered by html/template, and htmx's SSE extension swaps it
// into the page (htmx 2.0.11 and htmx-ext-sse 2.2.4, vendored from npm and
// served by the program itself: no CDN).
//
//	go run .   # what `make run-board` starts, on http://127.0.0.1:8001
//
// The same changes are published as Datastar patch-elements events on
// /datastar/events (GET or POST), and /datastar/messages takes a post as
// Datastar's @post sends it, signals as a JSON body. No Datastar 1.x client
// bundle is on npm (its package there stops at 1.0.0-beta.11, which speaks
// the older merge-fragments protocol), so the board has no Datastar page:
// those endpoints are tested at the wire level.
//
// A page that reconnects resumes from its Last-Event-ID. When the broker
// cannot resume it (the program restarted, so the id is unknown), the
// stream sends the whole board instead, and the page is current again
// without a reload.
//
// Flags: -addr (listen address, default 127.0.0.1:8001).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sseview/sseview/sseview"
)

const defaultAddr = "127.0.0.1:8001"

// reconnectAfter is the retry sent to the pages when the server shuts
// down: they come back in 0.25 to 0.75 s.
const reconnectAfter = 500 * time.Millisecond

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("board", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", defaultAddr, "listen `address`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	a := newApp(logger)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	logger.Info("board: serving", "url", "http://"+ln.Addr().String()+"/")
	return a.Serve(ctx, ln)
}

// app is the board and its routes. Serve may be called again after it
// returned, on a new listener: the board and its broker's history stay,
// which is how a restarted server's pages catch up from their
// Last-Event-ID.
type app struct {
	board   *Board
	handler http.Handler
	logger  *slog.Logger
}

func newApp(logger *slog.Logger) *app {
	board := NewBoard(&sseview.MemoryBroker{}, NewPages())
	return &app{board: board, handler: routes(board, logger), logger: logger}
}

// Serve serves ln until ctx is done, then shuts down: open streams end at
// once, each told to come back in about reconnectAfter.
func (a *app) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
	}
	sseview.EndStreamsOnShutdown(srv, reconnectAfter)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
