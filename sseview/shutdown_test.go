package sseview_test

import (
	"context"
	"errors"
	"io"
	"iter"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/testutil"
	"github.com/sseview/sseview/sseview"
)

// openRaw starts n streams and returns their responses once every handler
// is streaming.
func openRaw(t *testing.T, url string, n int, started <-chan struct{}) []*http.Response {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: n}}
	t.Cleanup(client.CloseIdleConnections)
	resps := make([]*http.Response, n)
	for i := range resps {
		resp, err := client.Get(url)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		t.Cleanup(func() { resp.Body.Close() })
		resps[i] = resp
		recv(t, started, "a stream to start")
	}
	return resps
}

func TestShutdownEndsOpenStreamsAtOnce(t *testing.T) {
	const streams, retry = 100, 2 * time.Second
	started := make(chan struct{}, streams)
	causes := make(chan error, streams)
	view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			if !yield(sseview.Text{Data: "hello"}, nil) {
				return
			}
			started <- struct{}{}
			<-ctx.Done()
			causes <- context.Cause(ctx)
		}
	})
	ts := httptest.NewUnstartedServer(sseview.AsView(view))
	sseview.EndStreamsOnShutdown(ts.Config, retry)
	ts.Start()
	t.Cleanup(ts.Close)
	resps := openRaw(t, ts.URL, streams, started)

	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	require.NoError(t, ts.Config.Shutdown(ctx), "Shutdown returns within a second")

	retries := map[time.Duration]bool{}
	for _, resp := range resps {
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err, "each stream ends cleanly")
		events, hint, ok := testutil.ParseString(string(body))
		require.Len(t, events, 1)
		require.True(t, ok, "each client gets a last retry hint: %q", body)
		assert.GreaterOrEqual(t, hint, retry/2)
		assert.Less(t, hint, 3*retry/2)
		retries[hint] = true
		assert.ErrorIs(t, recv(t, causes, "the view's ctx"), sseview.ErrShutdown)
	}
	assert.Greater(t, len(retries), streams/2, "the hints are spread out")
}

func TestShutdownWithoutTheHelperWaitsForStreams(t *testing.T) {
	// The problem EndStreamsOnShutdown solves (golang/go#41344).
	started := make(chan struct{}, 1)
	view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			started <- struct{}{}
			<-ctx.Done()
		}
	})
	ts := httptest.NewServer(sseview.AsView(view))
	t.Cleanup(ts.Close)
	resps := openRaw(t, ts.URL, 1, started)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, ts.Config.Shutdown(ctx), context.DeadlineExceeded)
	resps[0].Body.Close()
	ts.CloseClientConnections()
}

func TestShutdownKeepsTheServersBaseContext(t *testing.T) {
	type key struct{}
	seen := make(chan any, 1)
	view := viewFunc(func(ctx context.Context, _ *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		seen <- ctx.Value(key{})
		return func(func(sseview.Event, error) bool) {}
	})
	ts := httptest.NewUnstartedServer(sseview.AsView(view))
	ts.Config.BaseContext = func(net.Listener) context.Context {
		return context.WithValue(context.Background(), key{}, "base")
	}
	sseview.EndStreamsOnShutdown(ts.Config, 0)
	ts.Start()
	t.Cleanup(ts.Close)
	resp, err := http.Get(ts.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "base", recv(t, seen, "the view"))
}

func TestErrShutdownMatches(t *testing.T) {
	assert.True(t, errors.Is(sseview.ErrShutdown, sseview.ErrShutdown))
	assert.Equal(t, "sseview: server shutting down", sseview.ErrShutdown.Error())
}
