package sseviewtest_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"

	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

// TestOpenTAndDialT: each opens as Open and Dial do, fails the test with
// their error, and closes the stream when the test ends, failing it if the
// handler does not return then.
func TestOpenTAndDialT(t *testing.T) {
	r := router(func(r chi.Router) {
		r.Get("/feed", sseview.AsView(events(sseview.Text{Data: "x"})))
		r.Get("/refused", (&sseview.Handler{View: refusing(http.StatusForbidden), Logger: quiet}).ServeHTTP)
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	openers := map[string]func(tb testing.TB, path string) *sseviewtest.Stream{
		"OpenT": func(tb testing.TB, path string) *sseviewtest.Stream {
			return sseviewtest.OpenT(tb, r, httptest.NewRequest(http.MethodGet, path, nil))
		},
		"DialT": func(tb testing.TB, path string) *sseviewtest.Stream {
			return sseviewtest.DialT(tb, nil, httptest.NewRequest(http.MethodGet, srv.URL+path, nil))
		},
	}
	for name, openT := range openers {
		t.Run(name, func(t *testing.T) {
			var s *sseviewtest.Stream
			fatal, errs := runTB(func(tb testing.TB) {
				s = openT(tb, "/feed")
				s.Expect(tb, msg("x", ""))
			})
			assert.Empty(t, fatal)
			assert.Empty(t, errs)
			_, err := s.Next()
			assert.ErrorContains(t, err, "sseviewtest: the stream is closed", "closed when the test ended")

			fatal, errs = runTB(func(tb testing.TB) {
				openT(tb, "/refused")
				tb.Errorf("went on after a failed open")
			})
			assert.Equal(t, `sseviewtest: GET "/refused": status "403 Forbidden", want "200 OK", `+
				`body "{\"error\":\"sseview: go away\"}\n"`, fatal)
			assert.Empty(t, errs)
		})
	}
}

// TestOpenTReportsAHandlerThatDoesNotReturn: the Close at the test's end
// fails the test when the handler ignores its context.
func TestOpenTReportsAHandlerThatDoesNotReturn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release) // lets the bubble end
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.(http.Flusher).Flush()
			<-release // not r.Context().Done()
		})
		fatal, errs := runTB(func(tb testing.TB) {
			sseviewtest.OpenT(tb, h, httptest.NewRequest(http.MethodGet, "/", nil))
		})
		assert.Empty(t, fatal)
		assert.Equal(t, []string{
			"sseviewtest: the handler did not return within 10s of its request's context being cancelled",
		}, errs)
	})
}
