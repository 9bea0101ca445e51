package sseview

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"log"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/testutil"
)

// viewFunc adapts a function to StreamView.
type viewFunc func(ctx context.Context, r *http.Request, p Params) iter.Seq2[Event, error]

func (f viewFunc) Stream(ctx context.Context, r *http.Request, p Params) iter.Seq2[Event, error] {
	return f(ctx, r, p)
}

// events yields evs in order.
func events(evs ...Event) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for _, ev := range evs {
			if !yield(ev, nil) {
				return
			}
		}
	}
}

type namedValue struct{ Name, Value string }

// paramsView records the params it was given.
func paramsView(got *[]namedValue) StreamView {
	return viewFunc(func(_ context.Context, _ *http.Request, p Params) iter.Seq2[Event, error] {
		*got = nil
		for name, value := range p.All() {
			*got = append(*got, namedValue{name, value})
		}
		return events()
	})
}

// userRouter routes pattern to h behind the middleware a chi application
// typically has.
func userRouter(pattern string, h http.Handler) *chi.Mux {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.ClientIPFromXFF("127.0.0.0/8"),
		middleware.RequestLogger(&middleware.DefaultLogFormatter{Logger: log.New(io.Discard, "", 0), NoColor: true}),
		middleware.Recoverer)
	r.Handle(pattern, h)
	return r
}

// get sends a GET with header over the network and returns the status and
// the body.
func get(t *testing.T, url string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, vs := range header {
		req.Header[k] = vs
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	defer transport.CloseIdleConnections()
	resp, err := (&http.Client{Transport: transport}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func serve(h http.Handler, method, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

func TestParamsInPatternOrder(t *testing.T) {
	var got []namedValue
	view := AsView(paramsView(&got))

	r := chi.NewRouter()
	r.Get(`/weather/{lat:-?\d{1,3}\.\d{2}},{lng:-?\d{1,3}\.\d{2}}/`, view)
	r.Get("/swap/{b}/{a}", view)
	r.Route("/api/{version}", func(r chi.Router) {
		rooms := chi.NewRouter()
		rooms.Get("/{room}/events", view)
		rooms.Get("/{room}/files/*", view)
		rooms.Get("/shadow/{version}", view)
		r.Mount("/rooms", rooms)
	})
	outer := chi.NewRouter()
	outer.Mount("/mounted", r)

	tests := []struct {
		target string
		want   []namedValue
	}{
		{"/weather/40.71,-74.01/", []namedValue{{"lat", "40.71"}, {"lng", "-74.01"}}},
		{"/swap/1/2", []namedValue{{"b", "1"}, {"a", "2"}}},
		{"/api/v2/rooms/lobby/events", []namedValue{{"version", "v2"}, {"room", "lobby"}}},
		{"/mounted/api/v2/rooms/lobby/events", []namedValue{{"version", "v2"}, {"room", "lobby"}}},
		{"/api/v2/rooms/lobby/files/a/b.txt", []namedValue{{"version", "v2"}, {"room", "lobby"}, {"*", "a/b.txt"}}},
		{"/api/v1/rooms/shadow/v9", []namedValue{{"version", "v1"}, {"version", "v9"}}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			h := http.Handler(r)
			if tt.target[:8] == "/mounted" {
				h = outer
			}
			rec := serve(h, http.MethodGet, tt.target)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Equal(t, tt.want, got)
		})
	}

	t.Run("regexp mismatch is chi's 404", func(t *testing.T) {
		assert.Equal(t, http.StatusNotFound, serve(r, http.MethodGet, "/weather/40.7,-74.01/").Code)
		assert.Equal(t, http.StatusNotFound, serve(r, http.MethodGet, "/weather/40x71,-74.01/").Code)
	})
}

func TestParamsOnServeMux(t *testing.T) {
	var got []namedValue
	mux := http.NewServeMux()
	mux.Handle("GET /files/{owner}/{path...}", AsView(paramsView(&got)))
	mux.Handle("GET /exact/{id}/{$}", AsView(paramsView(&got)))

	rec := serve(mux, http.MethodGet, "/files/ann/a/b.txt")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, []namedValue{{"owner", "ann"}, {"path", "a/b.txt"}}, got)

	rec = serve(mux, http.MethodGet, "/exact/7/")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, []namedValue{{"id", "7"}}, got)
}

func TestParamsAccess(t *testing.T) {
	var p Params
	view := viewFunc(func(_ context.Context, _ *http.Request, params Params) iter.Seq2[Event, error] {
		p = params
		return events()
	})
	r := chi.NewRouter()
	r.Get("/{a}/{b}", AsView(view))
	require.Equal(t, http.StatusOK, serve(r, http.MethodGet, "/x/y").Code)

	assert.Equal(t, 2, p.Len())
	assert.Equal(t, "x", p.At(0))
	assert.Equal(t, "y", p.At(1))
	assert.Equal(t, "y", p.Get("b"))
	assert.Equal(t, "", p.Get("missing"), "Get of an unknown name is empty, like chi.URLParam")
	assert.NoError(t, p.Err(), "Get records nothing")
	assert.Panics(t, func() { p.At(2) })
}

func TestChildParamShadowsParent(t *testing.T) {
	var got string
	view := viewFunc(func(_ context.Context, _ *http.Request, p Params) iter.Seq2[Event, error] {
		got = p.Get("id")
		return events()
	})
	r := chi.NewRouter()
	r.Route("/{id}", func(r chi.Router) {
		child := chi.NewRouter()
		child.Get("/{id}", AsView(view))
		r.Mount("/child", child)
	})
	require.Equal(t, http.StatusOK, serve(r, http.MethodGet, "/parent/child/inner").Code)
	assert.Equal(t, "inner", got, "as with chi.URLParam")
}

func TestTypedParams(t *testing.T) {
	type result struct {
		I int
		F float64
		U string
	}
	var got result
	view := viewFunc(func(_ context.Context, _ *http.Request, p Params) iter.Seq2[Event, error] {
		got = result{I: p.Int("i"), F: p.Float("f"), U: p.UUID("u")}
		return events()
	})
	r := chi.NewRouter()
	r.Get("/{i}/{f}/{u}", AsView(view))

	const uuid = "123e4567-E89B-12d3-a456-426614174000"
	tests := []struct {
		name   string
		target string
		status int
		errs   []string
	}{
		{"all valid", "/-3/40.71/" + uuid, http.StatusOK, nil},
		{"bad int", "/3.5/1/" + uuid, http.StatusBadRequest, []string{`sseview: URL param i="3.5": not a plain decimal integer`}},
		{"NaN is not a coordinate", "/1/NaN/" + uuid, http.StatusBadRequest, []string{`sseview: URL param f="NaN": not a plain decimal number`}},
		{"infinity", "/1/Inf/" + uuid, http.StatusBadRequest, []string{`f="Inf": not a plain decimal number`}},
		{"float overflow", "/1/1" + strings.Repeat("0", 309) + "/" + uuid, http.StatusBadRequest, []string{`: out of the range of float64`}},
		{"bad uuid", "/1/1/123e4567e89b12d3a456426614174000", http.StatusBadRequest, []string{`u="123e4567e89b12d3a456426614174000": not a UUID`}},
		{"every bad param is reported", "/x/y/z", http.StatusBadRequest, []string{`i="x"`, `f="y"`, `u="z"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(r, http.MethodGet, tt.target)
			assert.Equal(t, tt.status, rec.Code)
			if tt.status == http.StatusOK {
				assert.Equal(t, result{I: -3, F: 40.71, U: uuid}, got)
				assert.Equal(t, "text/event-stream", rec.Header().Get("Content-Type"))
				return
			}
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			var body struct{ Error string }
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			for _, msg := range tt.errs {
				assert.Contains(t, body.Error, msg)
			}
		})
	}
}

func TestTypedParamOfUnknownNameIsAProgramError(t *testing.T) {
	streamed := false
	view := viewFunc(func(_ context.Context, _ *http.Request, p Params) iter.Seq2[Event, error] {
		_ = p.Int("typo")
		return func(func(Event, error) bool) { streamed = true }
	})
	logs := &logRecorder{}
	r := chi.NewRouter()
	r.Get("/{id}", (&Handler{View: view, Logger: logs.logger()}).ServeHTTP)

	rec := serve(r, http.MethodGet, "/1")
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.NotContains(t, rec.Body.String(), "typo", "a program error is logged, not sent")
	assert.False(t, streamed)
	assert.Contains(t, logs.String(), `no such URL param: \"typo\"`)
}

func TestLastEventID(t *testing.T) {
	var seen string
	view := viewFunc(func(_ context.Context, r *http.Request, _ Params) iter.Seq2[Event, error] {
		seen = LastEventID(r)
		return events()
	})
	h := AsView(view)

	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Last-Event-ID", "k3x-42")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "k3x-42", seen)

	seen = "untouched"
	long := make([]byte, MaxLastEventIDLen+1)
	for i := range long {
		long[i] = 'a'
	}
	req.Header.Set("Last-Event-ID", string(long))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, rec.Body.String(), "sseview: Last-Event-ID header is 257 bytes, more than 256")
	assert.Equal(t, "untouched", seen, "the view never runs")

	req.Header.Set("Last-Event-ID", string(long[:MaxLastEventIDLen]))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Len(t, seen, MaxLastEventIDLen, "the longest accepted id arrives whole")
}

// An incoming Last-Event-ID is held to the rule the encoder applies to ids
// (see Text.ID): one the library could never have written is a 400 with a
// short message, and the view never sees it.
func TestLastEventIDBreakingTheIDRuleIsRefused(t *testing.T) {
	ran := false
	view := viewFunc(func(_ context.Context, r *http.Request, _ Params) iter.Seq2[Event, error] {
		ran = true
		return events(Text{Data: LastEventID(r)})
	})
	srv := testutil.Serve(t, userRouter("/events", AsView(view)))

	t.Run("over the network", func(t *testing.T) {
		tests := []struct{ name, id, msg string }{
			// net/http lets a tab inside a header value through.
			{"tab", "a\tb", `sseview: Last-Event-ID header contains '\t' at byte 1`},
			{"invalid UTF-8", "a\xff", "sseview: Last-Event-ID header is not valid UTF-8"},
			{"too long", strings.Repeat("a", MaxLastEventIDLen+1), "sseview: Last-Event-ID header is 257 bytes, more than 256"},
			{"far too long", strings.Repeat("a", 900<<10), "sseview: Last-Event-ID header is 921600 bytes, more than 256"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ran = false
				status, body := get(t, srv.URL+"/events", http.Header{"Last-Event-Id": {tt.id}})
				assert.Equal(t, http.StatusBadRequest, status)
				assert.JSONEq(t, `{"error":`+quoteJSON(t, tt.msg)+`}`, body)
				assert.False(t, ran, "the view never runs")
			})
		}
	})

	t.Run("set by a proxy or a test", func(t *testing.T) {
		// net/http trims spaces around a header it parses; a request made
		// in the program keeps them.
		for _, id := range []string{" 1", "1 ", "\x00"} {
			ran = false
			req := httptest.NewRequest(http.MethodGet, "/events", nil)
			req.Header.Set("Last-Event-ID", id)
			rec := httptest.NewRecorder()
			AsView(view).ServeHTTP(rec, req)
			assert.Equal(t, http.StatusBadRequest, rec.Code, "%q", id)
			assert.Contains(t, rec.Body.String(), "sseview: Last-Event-ID header ", "%q", id)
			assert.False(t, ran, "%q", id)
		}
	})

	t.Run("more than one", func(t *testing.T) {
		ran = false
		status, body := get(t, srv.URL+"/events", http.Header{"Last-Event-Id": {"1", "2"}})
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Contains(t, body, "sseview: more than one Last-Event-ID header")
		assert.False(t, ran)
	})

	t.Run("the edge of the rule comes through", func(t *testing.T) {
		status, body := get(t, srv.URL+"/events", http.Header{"Last-Event-Id": {edgeID}})
		require.Equal(t, http.StatusOK, status, body)
		assert.Equal(t, "data: "+edgeID+"\n\n", body)
	})
}

func quoteJSON(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	require.NoError(t, err)
	return string(b)
}

// A ParamError quotes at most a short prefix of the value and its length:
// a 900 KB URL must not become a 1.5 MB response.
func TestParamErrorEchoIsBounded(t *testing.T) {
	view := viewFunc(func(_ context.Context, _ *http.Request, p Params) iter.Seq2[Event, error] {
		p.Int("n")
		return events()
	})
	srv := testutil.Serve(t, userRouter("/rooms/{n}", AsView(view)))
	big := strings.Repeat("a", 900<<10)
	status, body := get(t, srv.URL+"/rooms/"+big, nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Less(t, len(body), 300, "the body is bounded")
	var msg struct{ Error string }
	require.NoError(t, json.Unmarshal([]byte(body), &msg))
	assert.Equal(t, `sseview: URL param n=`+strconv.Quote(big[:64])+`... (921600 bytes): not a plain decimal integer`, msg.Error)

	err := &ParamError{Name: "n", Value: big, Err: errors.New("why")}
	assert.Len(t, err.Value, 900<<10, "the error keeps the whole value for the program")
	assert.Less(t, len(err.Error()), 300)
}

// Int and Float take plain decimal only, so that each value has one
// spelling: one resource does not answer under several URLs, and a key
// built from the string is the one built from the number.
func TestTypedParamsTakeOnePlainDecimalSpelling(t *testing.T) {
	var gotInt int
	var gotFloat float64
	ints := viewFunc(func(_ context.Context, _ *http.Request, p Params) iter.Seq2[Event, error] {
		gotInt = p.Int("v")
		return events()
	})
	floats := viewFunc(func(_ context.Context, _ *http.Request, p Params) iter.Seq2[Event, error] {
		gotFloat = p.Float("v")
		return events()
	})
	r := userRouter("/int/{v}", AsView(ints))
	r.Get("/float/{v}", AsView(floats))
	srv := testutil.Serve(t, r)

	for _, tt := range []struct {
		value string
		want  int
	}{
		{"0", 0}, {"7", 7}, {"42", 42}, {"-7", -7}, {"10", 10},
		{"9223372036854775807", math.MaxInt64}, {"-9223372036854775808", math.MinInt64},
	} {
		status, body := get(t, srv.URL+"/int/"+tt.value, nil)
		if assert.Equal(t, http.StatusOK, status, "Int %q: %s", tt.value, body) {
			assert.Equal(t, tt.want, gotInt, "Int %q", tt.value)
		}
	}
	for _, tt := range []struct{ value, why string }{
		{"+5", "not a plain decimal integer"}, {"-0", "not a plain decimal integer"},
		{"007", "not a plain decimal integer"}, {"00", "not a plain decimal integer"},
		{"-", "not a plain decimal integer"}, {"--1", "not a plain decimal integer"},
		{"1e3", "not a plain decimal integer"}, {"1_000", "not a plain decimal integer"},
		{"0x10", "not a plain decimal integer"}, {"1.0", "not a plain decimal integer"},
		{"%201", "not a plain decimal integer"}, {"%D9%A3", "not a plain decimal integer"}, // " 1", Arabic-Indic three
		{"9223372036854775808", "out of the range of int"}, {"-9223372036854775809", "out of the range of int"},
	} {
		status, body := get(t, srv.URL+"/int/"+tt.value, nil)
		assert.Equal(t, http.StatusBadRequest, status, "Int %q: %s", tt.value, body)
		assert.Contains(t, body, tt.why, "Int %q", tt.value)
	}

	for _, tt := range []struct {
		value string
		want  float64
	}{
		{"0", 0}, {"0.5", 0.5}, {"-0.5", -0.5}, {"40.71", 40.71}, {"-74.01", -74.01}, {"180", 180},
		{"51.50", 51.5}, {"0.00", 0}, {"-0.01", -0.01}, {"10.0", 10},
	} {
		status, body := get(t, srv.URL+"/float/"+tt.value, nil)
		if assert.Equal(t, http.StatusOK, status, "Float %q: %s", tt.value, body) {
			assert.Equal(t, tt.want, gotFloat, "Float %q", tt.value)
			assert.False(t, math.Signbit(gotFloat) && gotFloat == 0, "Float %q is a negative zero", tt.value)
		}
	}
	for _, tt := range []struct{ value, why string }{
		{"-0", "not a plain decimal number"}, {"-0.00", "not a plain decimal number"},
		{"+1", "not a plain decimal number"}, {"01.5", "not a plain decimal number"},
		{"00.5", "not a plain decimal number"}, {".5", "not a plain decimal number"},
		{"5.", "not a plain decimal number"}, {"1e3", "not a plain decimal number"},
		{"1E3", "not a plain decimal number"}, {"0x1p-2", "not a plain decimal number"},
		{"1_000", "not a plain decimal number"}, {"1,5", "not a plain decimal number"},
		{"NaN", "not a plain decimal number"}, {"Inf", "not a plain decimal number"},
		{"-Infinity", "not a plain decimal number"}, {"1.2.3", "not a plain decimal number"},
		{"1" + strings.Repeat("0", 400), "out of the range of float64"},
	} {
		status, body := get(t, srv.URL+"/float/"+tt.value, nil)
		assert.Equal(t, http.StatusBadRequest, status, "Float %q: %s", tt.value, body)
		assert.Contains(t, body, tt.why, "Float %q", tt.value)
	}
}

// userDirectory refuses ids it does not know with 404, after reading the id
// as an Int: the 0 it gets for a bad id is not a user either.
type userDirectory struct{ known map[int]bool }

func (d userDirectory) Accept(_ *http.Request, p Params) error {
	if !d.known[p.Int("id")] {
		return Refuse(http.StatusNotFound, "no such user")
	}
	return nil
}

func (userDirectory) Stream(context.Context, *http.Request, Params) iter.Seq2[Event, error] {
	return events(Text{Data: "hello"})
}

// A failure a typed accessor recorded inside Accept wins over the refusal
// Accept returned because of it: /users/abc/ is a 400, not the 404 the view
// gave the 0 it read.
func TestParamFailureInAcceptWinsOverItsRefusal(t *testing.T) {
	srv := testutil.Serve(t, userRouter("/users/{id}/", AsView(userDirectory{known: map[int]bool{7: true}})))
	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{
		{"/users/7/", http.StatusOK, "data: hello\n\n"},
		{"/users/8/", http.StatusNotFound, `{"error":"no such user"}` + "\n"},
		{"/users/abc/", http.StatusBadRequest, `{"error":"sseview: URL param id=\"abc\": not a plain decimal integer"}` + "\n"},
		{"/users/007/", http.StatusBadRequest, `{"error":"sseview: URL param id=\"007\": not a plain decimal integer"}` + "\n"},
	} {
		status, body := get(t, srv.URL+tt.path, nil)
		assert.Equal(t, tt.status, status, tt.path)
		assert.Equal(t, tt.body, body, tt.path)
	}
}

// A page that renders state and then connects passes its position in the
// query string, as EventSource polyfills do: LastEventID falls back to the
// lastEventId query parameter when there is no Last-Event-ID header, under
// the same rule.
func TestLastEventIDFromTheQuery(t *testing.T) {
	ran := false
	view := viewFunc(func(_ context.Context, r *http.Request, _ Params) iter.Seq2[Event, error] {
		ran = true
		return events(Text{Data: "[" + LastEventID(r) + "]"})
	})
	srv := testutil.Serve(t, userRouter("/events", AsView(view)))

	for _, tt := range []struct {
		name, query, header, want string
	}{
		{"plain", "lastEventId=k3x-42", "", "k3x-42"},
		{"among others", "room=1&lastEventId=7&x=", "", "7"},
		{"percent-encoded, as encodeURIComponent writes it", "lastEventId=" + strings.ReplaceAll(url.QueryEscape(edgeID), "+", "%20"), "", edgeID},
		{"a space as URLSearchParams writes it", "lastEventId=a+b", "", "a b"},
		{"a plus sign", "lastEventId=a%2Bb", "", "a+b"},
		{"an escaped name", "last%45ventId=5", "", "5"},
		// A polyfill appends the current id to the URL the page gave it.
		{"the last one counts", "lastEventId=rendered&x=1&lastEventId=received", "", "received"},
		{"the header wins", "lastEventId=q", "h", "h"},
		{"the header wins over a bad query", "lastEventId=%zz", "h", "h"},
		{"an empty header is no header", "lastEventId=q", "", "q"},
		{"only one name", "last_event_id=5&since=5", "", ""},
		{"empty", "lastEventId=", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			header := http.Header{}
			if tt.header != "" || tt.name == "an empty header is no header" {
				header.Set("Last-Event-ID", tt.header)
			}
			status, body := get(t, srv.URL+"/events?"+tt.query, header)
			require.Equal(t, http.StatusOK, status, body)
			assert.Equal(t, "data: ["+tt.want+"]\n\n", body)
		})
	}

	for _, tt := range []struct{ name, query, msg string }{
		{"too long", "lastEventId=" + strings.Repeat("a", 257), "sseview: lastEventId query parameter is 257 bytes, more than 256"},
		{"a tab", "lastEventId=a%09b", `sseview: lastEventId query parameter contains '\t' at byte 1`},
		{"a NUL", "lastEventId=%00", `sseview: lastEventId query parameter contains '\x00' at byte 0`},
		{"a leading space", "lastEventId=%201", "sseview: lastEventId query parameter starts with a space"},
		{"a trailing space", "lastEventId=1+", "sseview: lastEventId query parameter ends with a space"},
		{"invalid UTF-8", "lastEventId=%FF", "sseview: lastEventId query parameter is not valid UTF-8"},
		{"a bad escape", "lastEventId=%zz", "sseview: lastEventId query parameter is not valid percent-encoding"},
		{"a bad escape in an earlier one", "lastEventId=%zz&lastEventId=2", "sseview: lastEventId query parameter is not valid percent-encoding"},
		{"far too long", "lastEventId=" + strings.Repeat("a", 900<<10), "sseview: lastEventId query parameter is 921600 bytes, more than 256"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ran = false
			status, body := get(t, srv.URL+"/events?"+tt.query, nil)
			assert.Equal(t, http.StatusBadRequest, status)
			assert.JSONEq(t, `{"error":`+quoteJSON(t, tt.msg)+`}`, body)
			assert.False(t, ran, "the view never runs")
		})
	}
}

// chi routes on r.URL.RawPath when it is set, which it is when the client
// escaped something it need not have (%41, a lowercase %2f): the params it
// hands over are then undecoded, and decoded otherwise. Params decodes
// them, once, so that both spellings of one URL give one value.
func TestParamsAreDecodedOnce(t *testing.T) {
	var got []namedValue
	view := AsView(paramsView(&got))
	r := userRouter("/rooms/{room}", view)
	r.Get("/rooms/{room}/files/*", view)
	r.Get(`/n/{n:[0-9]+}`, view)
	r.Get(`/split/{a}F{b}`, view)
	srv := testutil.Serve(t, r)
	mux := http.NewServeMux()
	mux.Handle("GET /files/{owner}/{path...}", view)
	muxSrv := testutil.Serve(t, mux)

	for _, tt := range []struct {
		spellings []string
		want      []namedValue
	}{
		{[]string{"/rooms/Abc", "/rooms/%41bc", "/rooms/%41%62%63"}, []namedValue{{"room", "Abc"}}},
		{[]string{"/rooms/a%2Fb", "/rooms/a%2fb"}, []namedValue{{"room", "a/b"}}},
		{[]string{"/rooms/a%20b", "/rooms/a%20%62"}, []namedValue{{"room", "a b"}}},
		// A '%' the client escaped stays a '%', whichever path chi routed on.
		{[]string{"/rooms/100%25"}, []namedValue{{"room", "100%"}}},
		{[]string{"/rooms/%2541", "/rooms/%25%34%31"}, []namedValue{{"room", "%41"}}},
		{[]string{"/rooms/x/files/a/b", "/rooms/x/files/a%2fb", "/rooms/%78/files/a/%62"},
			[]namedValue{{"room", "x"}, {"*", "a/b"}}},
		{[]string{"mux:/files/Ann/a/b", "mux:/files/%41nn/a%2Fb"}, []namedValue{{"owner", "Ann"}, {"path", "a/b"}}},
	} {
		for _, path := range tt.spellings {
			got = nil
			url := srv.URL + path
			if p, ok := strings.CutPrefix(path, "mux:"); ok {
				url = muxSrv.URL + p
			}
			status, body := get(t, url, nil)
			if assert.Equal(t, http.StatusOK, status, "%s: %s", path, body) {
				assert.Equal(t, tt.want, got, path)
			}
		}
	}
	// A param's regexp sees the text as the client wrote it.
	status, _ := get(t, srv.URL+"/n/%31", nil)
	assert.Equal(t, http.StatusNotFound, status)

	// A pattern can split an escape; the half that does not decode is a 400.
	status, body := get(t, srv.URL+"/split/x%2Fy", nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, `sseview: URL param a=\"x%2\": not valid percent-encoding`)
}

// Outside a Handler, LastEventID gives "" for a request the Handler would
// refuse, rather than a position the library could not have written.
func TestLastEventIDOfARequestTheHandlerRefuses(t *testing.T) {
	for _, tt := range []struct {
		target string
		header []string
	}{
		{"/", []string{"1", "2"}},
		{"/", []string{"1 "}},
		{"/", []string{strings.Repeat("a", MaxLastEventIDLen+1)}},
		{"/?lastEventId=%zz", nil},
		{"/?lastEventId=a%09b", nil},
	} {
		req := httptest.NewRequest(http.MethodGet, tt.target, nil)
		req.Header["Last-Event-Id"] = tt.header
		assert.Empty(t, LastEventID(req), "%s %q", tt.target, tt.header)
		rec := httptest.NewRecorder()
		AsView(paramsView(new([]namedValue))).ServeHTTP(rec, req)
		assert.Equal(t, http.StatusBadRequest, rec.Code, "%s %q", tt.target, tt.header)
	}
}
