package main

// This file is the one part of the load test that knows the brokers: each
// -broker value opens its broker, and its server when the run brings one.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/sseview/sseview/internal/quote"
	"github.com/sseview/sseview/natsbroker"
	"github.com/sseview/sseview/redisbroker"
	"github.com/sseview/sseview/sseview"
)

// brokers are the -broker values.
const brokers = "memory, nats or redis"

// newBroker opens the broker -broker names, and returns it with the
// function that closes it and stops the server the run started for it.
func newBroker(ctx context.Context, o options) (sseview.Broker, func(), error) {
	switch o.broker {
	case "memory":
		return &sseview.MemoryBroker{QueueLen: o.queue}, func() {}, nil
	case "nats":
		return newNATSBroker(ctx, o)
	case "redis":
		return newRedisBroker(ctx, o)
	}
	return nil, nil, fmt.Errorf("fanoutload: -broker %s is not %s", quote.Bounded(o.broker), brokers)
}

// newNATSBroker opens a NATS broker on -nats, or, without one, on a NATS
// server with JetStream inside this process, storing in a temporary
// directory.
func newNATSBroker(ctx context.Context, o options) (sseview.Broker, func(), error) {
	url := o.natsURL
	var ns *server.Server
	if url == "" {
		dir, err := os.MkdirTemp("", "fanoutload-nats-")
		if err != nil {
			return nil, nil, err
		}
		ns, err = server.NewServer(&server.Options{
			Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true,
		})
		if err != nil {
			return nil, nil, err
		}
		ns.Start()
		if !ns.ReadyForConnections(10 * time.Second) {
			ns.Shutdown()
			return nil, nil, errors.New("fanoutload: NATS server not ready in 10s")
		}
		url = ns.ClientURL()
		defer func() {
			if ns != nil {
				ns.Shutdown()
			}
		}()
		dirToRemove := dir
		defer func() {
			if ns != nil {
				_ = os.RemoveAll(dirToRemove)
			}
		}()
	}
	nc, err := nats.Connect(url, nats.Name("fanoutload"))
	if err != nil {
		return nil, nil, err
	}
	b, err := natsbroker.New(ctx, nc, natsbroker.Config{Stream: "FANOUTLOAD", SubjectPrefix: "fanoutload", QueueLen: o.queue})
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	embedded := ns
	ns = nil // the deferred cleanups are for failures only
	return b, func() {
		_ = b.Close()
		nc.Close()
		if embedded != nil {
			dir := embedded.StoreDir()
			embedded.Shutdown()
			embedded.WaitForShutdown()
			_ = os.RemoveAll(dir)
		}
	}, nil
}

// newRedisBroker opens a Redis broker on -redis, or, without one, on a
// redis-server of its own (see startRedis).
func newRedisBroker(ctx context.Context, o options) (sseview.Broker, func(), error) {
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
// a temporary directory, the append-only file on and fsynced every second
// as the README advises, and returns its URL and a function that stops it
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
