package main

import (
	"io"
	"log"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/testutil"
)

// TestStreamRouteMethods checks what the README promises of a stream
// route, on the app's own router and behind the middleware a deployment
// typically puts in front of it (chi's ClientIPFromRemoteAddr, which
// replaces the deprecated RealIP): HEAD answers the stream's headers with
// no body, other methods get 405 with the methods that work.
func TestStreamRouteMethods(t *testing.T) {
	for _, broker := range []string{brokerPoll, brokerMemory} {
		a, err := newApp(t.Context(), config{
			Broker: broker, DB: filepath.Join(t.TempDir(), "weather.db"),
			Poll: testPoll, Update: time.Hour, Logger: slog.New(slog.DiscardHandler),
		})
		require.NoError(t, err)
		t.Cleanup(func() { a.Close() })
		logger := middleware.RequestLogger(&middleware.DefaultLogFormatter{Logger: log.New(io.Discard, "", 0), NoColor: true})
		handlers := map[string]http.Handler{
			"app":               a.handler,
			"behind middleware": chi.Chain(middleware.RequestID, middleware.ClientIPFromRemoteAddr, logger, middleware.Recoverer).Handler(a.handler),
		}
		for name, h := range handlers {
			t.Run(broker+"/"+name, func(t *testing.T) {
				url := testutil.Serve(t, h).URL + "/weather/51.51,-0.13/"
				resp := request(t, http.MethodHead, url)
				assert.Equal(t, http.StatusOK, resp.StatusCode)
				assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
				assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
				assert.Empty(t, readAll(t, resp), "HEAD has no body")

				for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
					resp := request(t, method, url)
					assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, method)
					assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"), method)
					assert.JSONEq(t, `{"error":"Method Not Allowed"}`, readAll(t, resp), method)
				}
			})
		}
	}
}

// request sends one request on a connection of its own.
func request(t *testing.T, method, url string) *http.Response {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: wait}
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	return resp
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}
