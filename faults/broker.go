package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/sseview/sseview/internal/quote"
)

// brokerServer is the broker's server process as the harness drives it: the
// only part of the harness that knows which broker it is: natsServer and
// redisServer, one a -broker value each.
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
	case "redis":
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		return &redisServer{bin: o.redisServer, dir: o.dir, port: port}, nil
	}
	return nil, fmt.Errorf("faults: -broker %s is not one of: nats, redis", quote.Bounded(o.broker))
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

// redisServer is a redis-server process with the append-only file on,
// storing in a directory of the run.
type redisServer struct {
	bin  string
	dir  string
	port int
}

// redisKeyPrefix is redisbroker.Config's default KeyPrefix, which the
// weather example uses.
const redisKeyPrefix = "sseview:"

func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *redisServer) WeatherFlag() string { return "redis://" + s.addr() + "/0" }

// Start runs redis-server with the append-only file fsynced at every write
// (appendfsync always), and no RDB snapshots: the AOF is the store a restart
// reads. A kill -9 is a process crash, which leaves what Redis has written
// in the kernel's page cache, so everysec would lose nothing most of the
// time; but with everysec Redis may postpone writing the AOF while a
// background fsync is slow, and still answer the client, so an XADD
// acknowledged just before the kill could be missing after the restart.
// With always the entry is written and fsynced before the answer: every
// event a publisher was told is stored is there after any kill.
func (s *redisServer) Start(ctx context.Context) (*process, error) {
	store := filepath.Join(s.dir, "redis-store")
	if err := os.MkdirAll(store, 0o755); err != nil {
		return nil, fmt.Errorf("faults: %w", err)
	}
	log := filepath.Join(s.dir, "redis-server.log")
	p, err := startProcess("redis-server", log, nil, s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", store,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "",
		"--daemonize", "no", "--logfile", "")
	if err != nil {
		return nil, err
	}
	// Serving means it answers PING, not only that the port is open: a
	// restarted server answers LOADING until it has read its AOF.
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
			return nil, fmt.Errorf("faults: redis-server exited at start: %v (see %s)", p.err, log)
		case <-ctx.Done():
			p.kill()
			return nil, fmt.Errorf("faults: redis-server not ready in 30s")
		case <-tick.C:
		}
	}
}

func (s *redisServer) client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1, DialTimeout: time.Second})
}

func (s *redisServer) ready(ctx context.Context) error {
	rdb := s.client()
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return rdb.Ping(ctx).Err()
}

// Stored reads every topic's stream whole. The ids are redisbroker's event
// ids of the entries, as its subscribers get them.
func (s *redisServer) Stored(ctx context.Context) ([]storedEvent, error) {
	rdb := s.client()
	defer rdb.Close()
	var events []storedEvent
	iter := rdb.ScanType(ctx, 0, redisKeyPrefix+"{*}", 100, "stream").Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		// SCAN's pattern has matched the prefix; the topic is what the
		// braces hold.
		topic, ok := strings.CutSuffix(strings.TrimPrefix(key, redisKeyPrefix+"{"), "}")
		if !ok {
			continue
		}
		for from := "-"; ; {
			entries, err := rdb.XRangeN(ctx, key, from, "+", 1000).Result()
			if err != nil {
				return nil, fmt.Errorf("faults: read stream %s: %w", key, err)
			}
			for _, e := range entries {
				data, _ := e.Values["data"].(string)
				id, err := redisEventID(key, e.ID)
				if err != nil {
					return nil, err
				}
				events = append(events, storedEvent{Topic: topic, ID: id, Data: data})
			}
			if len(entries) < 1000 {
				break
			}
			from = "(" + entries[len(entries)-1].ID
		}
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("faults: list the streams: %w", err)
	}
	return events, nil
}

// redisEventID is redisbroker's event id of the entry entryID of the stream
// key: the key's FNV-1a hash in base 36, a dot, and the entry id with its
// sequence written in 20 digits (redisbroker/ids.go). Were the two to
// differ, no id a client received would be found in the store, and the run
// would fail on unknown ids, not pass.
func redisEventID(key, entryID string) (string, error) {
	ms, seq, ok := strings.Cut(entryID, "-")
	if !ok || len(seq) > 20 {
		return "", fmt.Errorf("faults: entry id %s of %s is not <ms>-<seq>", quote.Bounded(entryID), key)
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return strconv.FormatUint(h.Sum64(), 36) + "." + ms + "-" + strings.Repeat("0", 20-len(seq)) + seq, nil
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
