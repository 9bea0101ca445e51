package sseview_test

import (
	"context"
	"io"
	"iter"
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/testutil"
	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

// echoBody streams the request body back as one event, read from inside
// the iterator: after the response headers went out, when net/http no
// longer lets an HTTP/1 handler read the body itself.
func echoBody() viewFunc {
	return func(_ context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
		return func(yield func(sseview.Event, error) bool) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				yield(nil, err)
				return
			}
			yield(sseview.Text{Type: r.Method, Data: string(body)}, nil)
		}
	}
}

// realisticRouter mounts h on /stream behind the middleware a real chi
// application has.
func realisticRouter(h http.Handler) chi.Router {
	r := chi.NewRouter()
	r.Use(middleware.RequestID,
		middleware.RequestLogger(&middleware.DefaultLogFormatter{Logger: discardLog{}.logger(), NoColor: true}),
		middleware.Recoverer)
	r.Handle("/stream", h)
	return r
}

func sendBody(t *testing.T, method, url, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// streamed opens a stream with a JSON body over the network and reads it
// to its end.
func streamed(t *testing.T, method, url, body string) []sseviewtest.Event {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	s := sseviewtest.DialT(t, nil, req)
	require.Equal(t, "text/event-stream", s.Response().Header.Get("Content-Type"))
	var evs []sseviewtest.Event
	for ev, err := range s.Events() {
		require.NoError(t, err)
		evs = append(evs, ev)
	}
	return evs
}

func TestStreamsOpenedByTheMethodsTheHandlerDeclares(t *testing.T) {
	h := &sseview.Handler{View: echoBody(), Methods: []string{http.MethodGet, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete}}
	srv := testutil.Serve(t, realisticRouter(h))

	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		t.Run(method, func(t *testing.T) {
			// Large enough that the body is not all in the server's first
			// read, so it really is read before the stream starts.
			body := `{"message":"` + strings.Repeat("x", 200<<10) + `"}`
			evs := streamed(t, method, srv.URL+"/stream", body)
			require.Len(t, evs, 1)
			assert.Equal(t, method, evs[0].Type)
			assert.Equal(t, body, evs[0].Data, "the view reads the whole body after the stream started")
		})
	}
	t.Run("GET still streams", func(t *testing.T) {
		evs := streamed(t, http.MethodGet, srv.URL+"/stream", "")
		assert.Equal(t, []sseviewtest.Event{{Type: "GET"}}, evs)
	})
	t.Run("HEAD answers the headers", func(t *testing.T) {
		resp := sendBody(t, http.MethodHead, srv.URL+"/stream", "")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	})
	t.Run("an undeclared method is 405", func(t *testing.T) {
		resp := sendBody(t, http.MethodOptions, srv.URL+"/stream", "")
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
		assert.Equal(t, "GET, HEAD, POST, PUT, PATCH, DELETE", resp.Header.Get("Allow"))
	})
}

func TestMethodsWithoutGET(t *testing.T) {
	h := &sseview.Handler{View: echoBody(), Methods: []string{http.MethodPost}}
	srv := testutil.Serve(t, realisticRouter(h))
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPut} {
		resp := sendBody(t, method, srv.URL+"/stream", "")
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, method)
		assert.Equal(t, "POST", resp.Header.Get("Allow"), method)
	}
	evs := streamed(t, http.MethodPost, srv.URL+"/stream", `{}`)
	assert.Equal(t, []sseviewtest.Event{{Type: "POST", Data: "{}"}}, evs)
}

func TestRequestBodyOverTheLimitIs413(t *testing.T) {
	h := &sseview.Handler{View: echoBody(), Methods: []string{http.MethodPost}}
	srv := testutil.Serve(t, realisticRouter(h))

	evs := streamed(t, http.MethodPost, srv.URL+"/stream", strings.Repeat("x", sseview.MaxBodyLen))
	assert.Len(t, evs, 1, "a body of exactly MaxBodyLen bytes is read")

	resp := sendBody(t, http.MethodPost, srv.URL+"/stream", strings.Repeat("x", sseview.MaxBodyLen+1))
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.JSONEq(t, `{"error":"sseview: the request body is more than 1048576 bytes"}`, string(raw))
}

func TestRequestBodyLimitOfAMiddlewareIs413(t *testing.T) {
	h := &sseview.Handler{View: echoBody(), Methods: []string{http.MethodPost}}
	r := chi.NewRouter()
	r.Use(middleware.RequestSize(10))
	r.Handle("/stream", h)
	srv := testutil.Serve(t, r)
	resp := sendBody(t, http.MethodPost, srv.URL+"/stream", strings.Repeat("x", 11))
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.JSONEq(t, `{"error":"sseview: the request body is more than 10 bytes"}`, string(raw))
}
