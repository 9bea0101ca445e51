package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListenAddrPrecedence(t *testing.T) {
	tests := []struct {
		name, flag string
		env        map[string]string
		want, err  string
	}{
		{name: "default", want: "127.0.0.1:8000"},
		{name: "PORT", env: map[string]string{"PORT": "9000"}, want: ":9000"},
		{name: "ADDR over PORT", env: map[string]string{"ADDR": "127.0.0.1:9001", "PORT": "9000"}, want: "127.0.0.1:9001"},
		{name: "flag over all", flag: "localhost:9002", env: map[string]string{"ADDR": "127.0.0.1:9001", "PORT": "9000"}, want: "localhost:9002"},
		{name: "bad PORT", env: map[string]string{"PORT": "http"}, err: `weather: PORT="http" is not a port number`},
		{name: "PORT too big", env: map[string]string{"PORT": "65536"}, err: `weather: PORT="65536" is not a port number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := listenAddr(tt.flag, func(k string) string { return tt.env[k] })
			if tt.err != "" {
				assert.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseConfig(t *testing.T) {
	noEnv := func(string) string { return "" }
	cfg, err := parseConfig(nil, noEnv, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, config{Addr: "127.0.0.1:8000", Broker: "memory", Poll: 30 * time.Second, Update: 10 * time.Second,
		PublishTimeout: 2 * time.Second, Backlog: 100}, cfg,
		"the in-memory broker, and the seed's 30 s poll for -broker poll, by default")

	cfg, err = parseConfig([]string{"-broker", "poll", "-poll", "2s", "-update", "3s", "-db", ":memory:", "-addr", ":0",
		"-publish-timeout", "500ms", "-backlog", "7"}, noEnv, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, config{Addr: ":0", Broker: "poll", DB: ":memory:", Poll: 2 * time.Second, Update: 3 * time.Second,
		PublishTimeout: 500 * time.Millisecond, Backlog: 7}, cfg)

	cfg, err = parseConfig([]string{"-broker", "nats://127.0.0.1:4222"}, noEnv, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "nats://127.0.0.1:4222", cfg.Broker)
	cfg, err = parseConfig([]string{"-broker", "redis://127.0.0.1:6379"}, noEnv, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "redis://127.0.0.1:6379", cfg.Broker)

	bad := []struct {
		args []string
		err  string
	}{
		{[]string{"-poll", "0s"}, "weather: -poll 0s must be positive"},
		{[]string{"-update", "-1s"}, "weather: -update -1s must be positive"},
		{[]string{"-publish-timeout", "0s"}, "weather: -publish-timeout 0s must be positive"},
		{[]string{"-backlog", "0"}, "weather: -backlog 0 must be positive"},
		{[]string{"extra"}, `weather: unexpected arguments ["extra"]`},
		{[]string{"-poll", "soon"}, `invalid value "soon" for flag -poll`},
		{[]string{"-broker", "amqp://x"}, `weather: -broker "amqp://x" is not "poll", "memory", a nats:// or a redis:// URL`},
		{[]string{"-broker", strings.Repeat("x", 100_000)}, `weather: -broker "` + strings.Repeat("x", 64) + `"... is not`},
	}
	for _, tt := range bad {
		_, err := parseConfig(tt.args, noEnv, io.Discard)
		assert.ErrorContains(t, err, tt.err, tt.args)
	}
	_, err = parseConfig([]string{"-h"}, noEnv, io.Discard)
	assert.ErrorIs(t, err, flag.ErrHelp)
}

var urlLine = regexp.MustCompile(`^weather: serving (http://127\.0\.0\.1:\d+/) \(database (.+), poll 50ms, update 1h0m0s\); Ctrl-C to stop$`)

var brokerURLLine = regexp.MustCompile(`^weather: serving (http://127\.0\.0\.1:\d+/) \(database (.+), broker memory, update 1h0m0s\); Ctrl-C to stop$`)

// TestRunServesAndShutsDownAtOnce runs the program as `make run` does, on
// its default database, and stops it as Ctrl-C does while a stream is open.
func TestRunServesAndShutsDownAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// PORT=0 listens on every interface; the URL shown is loopback's.
	line, done := startRun(ctx, t, []string{"-broker", "poll", "-poll", "50ms", "-update", "1h"},
		map[string]string{"PORT": "0"}, io.Discard)
	m := urlLine.FindStringSubmatch(line)
	require.NotNil(t, m, "printed %q", line)
	url, dbPath := m[1], m[2]
	assert.FileExists(t, dbPath, "a database file in a temporary directory")

	status, contentType, body := get(t, http.MethodGet, url)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "text/html; charset=utf-8", contentType)
	assert.Contains(t, body, "<h1>Weather, live</h1>")
	assert.Contains(t, body, `data-lat="51.51" data-lng="-0.13"`)
	for _, asset := range []string{"static/app.js", "static/style.css"} {
		status, _, body := get(t, http.MethodGet, url+asset)
		assert.Equal(t, http.StatusOK, status, asset)
		assert.NotEmpty(t, body, asset)
	}

	s := open(t, url+"weather/51.51,-0.13/", nil)
	assert.Equal(t, "weather", nextEvent(t, s).Type, "the first stream of a point gets a reading at once")
	assert.Equal(t, "ping", nextEvent(t, s).Type)

	stopped := time.Now()
	cancel() // what SIGINT does through signal.NotifyContext
	var err error
	for err == nil {
		_, err = s.Next()
	}
	assert.ErrorIs(t, err, io.EOF, "the open stream ends cleanly")
	select {
	case r := <-done:
		require.NoError(t, r.err)
		// Streams end at once rather than at shutdownTimeout.
		assert.Less(t, r.at.Sub(stopped), shutdownTimeout/2)
	case <-time.After(wait):
		t.Fatal("run did not return after its context was cancelled")
	}
	_, err = os.Stat(dbPath)
	assert.True(t, errors.Is(err, os.ErrNotExist), "the temporary database is removed: %v", err)
}

// TestRunDefaultsToMemoryBroker runs the program with no -broker: streams
// subscribe to the in-process broker, and their readings carry ids.
func TestRunDefaultsToMemoryBroker(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	line, done := startRun(ctx, t, []string{"-addr", "127.0.0.1:0", "-update", "1h"}, nil, io.Discard)
	m := brokerURLLine.FindStringSubmatch(line)
	require.NotNil(t, m, "printed %q", line)

	s := open(t, m[1]+"weather/51.51,-0.13/", nil)
	ev := nextEvent(t, s)
	assert.Equal(t, "weather", ev.Type, "the first stream of a point gets a reading at once")
	assert.NotEmpty(t, ev.ID)
	cancel()
	var err error
	for err == nil {
		_, err = s.Next()
	}
	assert.ErrorIs(t, err, io.EOF, "the open stream ends cleanly")
	select {
	case r := <-done:
		require.NoError(t, r.err)
	case <-time.After(wait):
		t.Fatal("run did not return after its context was cancelled")
	}
}

func TestRunReportsBadSetup(t *testing.T) {
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{"address in use", nil, "address already in use"},
		{"NATS not listening", []string{"-broker", "nats://127.0.0.1:1"}, "weather: connect to NATS at nats://127.0.0.1:1"},
		{"NATS password not shown", []string{"-broker", "nats://me:secret@127.0.0.1:1"}, "weather: connect to NATS at nats://me:xxxxx@127.0.0.1:1"},
		{"database in a missing directory", []string{"-db", "/nonexistent/dir/w.db"}, "weather: create schema in \"/nonexistent/dir/w.db\""},
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	line, done := startRun(ctx, t, []string{"-addr", "127.0.0.1:0", "-poll", "50ms", "-update", "1h"}, nil, io.Discard)
	taken := regexp.MustCompile(`127\.0\.0\.1:\d+`).FindString(line)
	tests[0].args = []string{"-addr", taken}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(t.Context(), tt.args, func(string) string { return "" }, io.Discard, io.Discard)
			assert.ErrorContains(t, err, tt.err)
		})
	}
	cancel()
	require.NoError(t, (<-done).err)
}
