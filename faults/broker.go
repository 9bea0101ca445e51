package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sseview/sseview/internal/quote"
)

// brokerServer is the broker's server process as the harness drives it: the
// only part of the harness that knows which broker it is. Another broker
// (Redis, say) is another implementation and a -broker value.
type brokerServer interface {
	// Start starts the server, or starts it again on the same port and
	// store after it was killed, and returns once it serves.
	Start(ctx context.Context) (*process, error)
	// WeatherFlag is the weather instances' -broker value.
	WeatherFlag() string
	// Stored returns every event the broker holds, in the order the
	// broker gave them their ids.
	Stored(ctx context.Context) ([]storedEvent, error)
}

// storedEvent is an event as the broker stored it.
type storedEvent struct {
	Topic string
	ID    string
	Data  string
}

// newBrokerServer is the server that -broker names.
func newBrokerServer(o options) (brokerServer, error) {
	switch o.broker {
	case "nats":
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		return &natsServer{bin: o.natsServer, dir: o.dir, port: port}, nil
	}
	return nil, fmt.Errorf("faults: -broker %s is not one of: nats", quote.Bounded(o.broker))
}

// natsServer is a nats-server process with JetStream, storing in a
// directory of the run.
type natsServer struct {
	bin  string
	dir  string
	port int
}

// The stream and subject prefix of natsbroker.Config's defaults, which the
// weather example uses.
const (
	natsStream        = "SSEVIEW"
	natsSubjectPrefix = "sseview."
)

func (s *natsServer) url() string { return "nats://127.0.0.1:" + strconv.Itoa(s.port) }

func (s *natsServer) WeatherFlag() string { return s.url() }

func (s *natsServer) Start(ctx context.Context) (*process, error) {
	p, err := startProcess("nats-server", filepath.Join(s.dir, "nats-server.log"), nil, s.bin,
		"-a", "127.0.0.1", "-p", strconv.Itoa(s.port), "-js", "-sd", filepath.Join(s.dir, "nats-store"))
	if err != nil {
		return nil, err
	}
	// Serving means JetStream answers, not only that the port is open: a
	// restarted server recovers its store before it does.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := s.ready(ctx); err == nil {
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("faults: nats-server exited at start: %v (see %s)", p.err, filepath.Join(s.dir, "nats-server.log"))
		case <-ctx.Done():
			p.kill()
			return nil, fmt.Errorf("faults: nats-server not ready in 30s")
		case <-tick.C:
		}
	}
}

func (s *natsServer) ready(ctx context.Context) error {
	nc, err := nats.Connect(s.url(), nats.Timeout(time.Second), nats.NoReconnect())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err
}

func (s *natsServer) Stored(ctx context.Context) ([]storedEvent, error) {
	nc, err := nats.Connect(s.url(), nats.Timeout(5*time.Second), nats.NoReconnect())
	if err != nil {
		return nil, fmt.Errorf("faults: read the stream: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("faults: read the stream: %w", err)
	}
	stream, err := js.Stream(ctx, natsStream)
	if err != nil {
		return nil, fmt.Errorf("faults: read the stream: %w", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("faults: read the stream: %w", err)
	}
	var events []storedEvent
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		msg, err := stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // deleted
		}
		if err != nil {
			return nil, fmt.Errorf("faults: read message %d: %w", seq, err)
		}
		events = append(events, storedEvent{Topic: strings.TrimPrefix(msg.Subject, natsSubjectPrefix),
			ID: strconv.FormatUint(msg.Sequence, 10), Data: string(msg.Data)})
	}
	return events, nil
}

// freePort is a port on 127.0.0.1 that nothing listens on now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("faults: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
