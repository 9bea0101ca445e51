package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview/sseviewtest"
)

// TestMetricsWhileAStreamIsOpen runs the program and scrapes /metrics, as
// Prometheus would, while a stream is open.
func TestMetricsWhileAStreamIsOpen(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	line, done := startRun(ctx, t, []string{"-addr", "127.0.0.1:0", "-update", "50ms"}, nil, io.Discard)
	m := regexp.MustCompile(`serving (http://\S+/) `).FindStringSubmatch(line)
	require.NotNil(t, m, "printed %q", line)
	url := m[1]

	req, err := http.NewRequest(http.MethodGet, url+"weather/51.51,-0.13/", nil)
	require.NoError(t, err)
	s, err := sseviewtest.Dial(nil, req)
	require.NoError(t, err)
	defer s.Close()
	// The first reading comes from the updater, the next ones through the
	// broker. Each event read means the one before it was counted, and its
	// delivery measured: the stream does both before it writes the next.
	for range 3 {
		ev, err := s.Next()
		require.NoError(t, err)
		require.Equal(t, "weather", ev.Type)
	}

	status, contentType, body := get(t, http.MethodGet, url+"metrics")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, contentType, "text/plain")
	t.Logf("scraped:\n%s", body)
	// chi's route pattern, without its trailing slash.
	route := `http_route="/weather/{lat:-?\\d{1,3}\\.\\d{2}},{lng:-?\\d{1,3}\\.\\d{2}}"`
	sse := `sseview_transport="server_sent_events"`
	memory := `sseview_broker_kind="memory"`
	for _, want := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"sseview_stream_active", []string{route, sse}, 1},
		{"sseview_stream_events_total", []string{route, sse}, 2},
		{"sseview_stream_written_bytes_total", []string{route, sse}, float64(2 * len("event: weather\ndata: {}\n\n"))},
		{"sseview_broker_published_total", []string{memory, `sseview_broker_duplicate="false"`}, 3},
		{"sseview_broker_catchups_total", []string{memory}, 1},
		{"sseview_broker_lag_seconds_count", []string{memory}, 1},
		{"sseview_broker_lag_seconds_bucket", []string{memory, `le="+Inf"`}, 1},
	} {
		v, ok := sample(body, want.name, want.labels...)
		if assert.True(t, ok, "%s%v is scraped", want.name, want.labels) {
			assert.GreaterOrEqual(t, v, want.min, "%s%v", want.name, want.labels)
		}
	}
	assert.NotContains(t, body, "51.51", "no raw path, no topic, in any label")

	require.NoError(t, s.Close())
	cancel()
	select {
	case r := <-done:
		require.NoError(t, r.err)
	case <-time.After(wait):
		t.Fatal("run did not return after its context was cancelled")
	}
}

// sample returns the value of the first sample of metric name in a
// Prometheus text exposition whose labels include every one of labels.
func sample(body, name string, labels ...string) (float64, bool) {
	for line := range strings.Lines(body) {
		rest, ok := strings.CutPrefix(line, name+"{")
		if !ok {
			continue
		}
		set, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && strings.Contains(set, l)
		}
		if all {
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			return v, err == nil
		}
	}
	return 0, false
}
