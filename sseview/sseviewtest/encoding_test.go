package sseviewtest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

// compressed puts routes behind chi's Compress, configured to compress
// event streams too, as an application that wants them compressed does.
func compressed(route func(chi.Router)) *chi.Mux {
	return router(func(r chi.Router) {
		r.Use(middleware.Compress(5, "text/event-stream", "text/plain", "application/json"))
		route(r)
	})
}

// TestGzipEncodedStream: a client that accepts gzip gets a compressed
// stream from Compress; the kit decodes it as a browser does, each event as
// it is flushed (the view then waits, so nothing arrives at the end of the
// stream), on every connection.
func TestGzipEncodedStream(t *testing.T) {
	long := strings.Repeat("a long line, to be compressed. ", 50)
	r := compressed(func(r chi.Router) {
		r.Get("/feed", sseview.AsView(events(
			sseview.Text{Type: "a", Data: "1", ID: "x"},
			sseview.Text{Data: long},
		)))
	})
	want := []sseviewtest.Event{{Type: "a", Data: "1", ID: "x"}, msg(long, "x")}
	srv := httptest.NewServer(r)
	defer srv.Close()

	for _, tt := range []struct {
		name         string
		open         func(req *http.Request) (*sseviewtest.Stream, error)
		target       string
		acceptGzip   bool
		wantEncoding string
	}{
		{"Open, asking for gzip", func(req *http.Request) (*sseviewtest.Stream, error) {
			return sseviewtest.Open(r, req)
		}, "/feed", true, "gzip"},
		// net/http's client leaves a body it did not ask to be compressed
		// as it came.
		{"Dial, asking for gzip", func(req *http.Request) (*sseviewtest.Stream, error) {
			return sseviewtest.Dial(nil, req)
		}, srv.URL + "/feed", true, "gzip"},
		// Otherwise its transport asks for gzip itself and decodes it.
		{"Dial, the transport asking", func(req *http.Request) (*sseviewtest.Stream, error) {
			return sseviewtest.Dial(nil, req)
		}, srv.URL + "/feed", false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tt.target, nil)
			if tt.acceptGzip {
				req.Header.Set("Accept-Encoding", "gzip")
			}
			s, err := tt.open(req)
			require.NoError(t, err)
			defer func() { assert.NoError(t, s.Close()) }()
			assert.Equal(t, tt.wantEncoding, s.Response().Header.Get("Content-Encoding"))
			s.Expect(t, want...)
			require.NoError(t, s.Reconnect())
			s.Expect(t, want...)
		})
	}
}

// TestARefusalIsQuotedDecoded: the body of a compressed refusal is quoted
// as text in Open's error, not as gzip bytes.
func TestARefusalIsQuotedDecoded(t *testing.T) {
	r := compressed(func(r chi.Router) {
		r.Get("/x", (&sseview.Handler{View: refusing(http.StatusForbidden), Logger: quiet}).ServeHTTP)
	})
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	_, err := sseviewtest.Open(r, req)
	assert.ErrorContains(t, err,
		`sseviewtest: GET "/x": status "403 Forbidden", want "200 OK", body "{\"error\":\"sseview: go away\"}\n"`)
}

// TestAnEncodingTheKitDoesNotRead: any other Content-Encoding fails Open
// and Dial at once with an error naming it, not with a timeout quoting
// bytes that make no event.
func TestAnEncodingTheKitDoesNotRead(t *testing.T) {
	for _, encoding := range []string{"br", "deflate", "gzip, gzip", strings.Repeat("x", 1000)} {
		t.Run(encoding[:min(len(encoding), 10)], func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.Header().Set("Content-Encoding", encoding)
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			})
			srv := httptest.NewServer(h)
			defer srv.Close()
			for mode, open := range map[string]func() (*sseviewtest.Stream, error){
				"Open": func() (*sseviewtest.Stream, error) {
					return sseviewtest.Open(h, httptest.NewRequest(http.MethodGet, "/x", nil))
				},
				"Dial": func() (*sseviewtest.Stream, error) {
					return sseviewtest.Dial(nil, httptest.NewRequest(http.MethodGet, srv.URL+"/x", nil))
				},
			} {
				s, err := open()
				if s != nil {
					s.Close()
					t.Errorf("%s: a stream, want an error", mode)
				}
				require.Error(t, err, mode)
				assert.Contains(t, err.Error(), `sseviewtest: GET "/x": Content-Encoding "`+encoding[:min(len(encoding), 200)], mode)
				assert.Contains(t, err.Error(), `, want none or "gzip", the encoding net/http's client decodes`, mode)
				assert.Less(t, len(err.Error()), 600, "%s: the error quotes a bounded part of the header", mode)
			}
		})
	}
}

// TestABrokenGzipBody: a body that says gzip and is not ends the stream
// with an error that says so.
func TestABrokenGzipBody(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = io.WriteString(w, "data: not compressed\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	s := sseviewtest.OpenT(t, h, httptest.NewRequest(http.MethodGet, "/", nil))
	_, err := s.Next()
	assert.EqualError(t, err, "sseviewtest: the connection broke: the gzip-encoded body: gzip: invalid header")
}
