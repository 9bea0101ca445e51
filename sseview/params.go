package sseview

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/sseview/sseview/internal/quote"
)

// MaxLastEventIDLen is the longest event id, in bytes, that the encoder
// writes and that [Handler] accepts back as a Last-Event-ID. Both hold ids
// to the same rule (see [Text.ID]): an event whose id breaks it is refused
// with [ErrInvalidEvent], and a request whose Last-Event-ID breaks it with
// 400 Bad Request, never cut or trimmed, since a changed id would resume
// from the wrong place.
const MaxLastEventIDLen = 256

// LastEventID returns the id of the last event the client received before
// it reconnected: the Last-Event-ID request header, or, when the request
// has none (or an empty one), the lastEventId query parameter, decoded. It
// returns "" on a first connection.
//
// The query parameter is for clients that cannot set the header: a page
// that renders state and then connects passes the id it rendered
// (new EventSource("/events?lastEventId=" + encodeURIComponent(id))), and
// EventSource polyfills send the parameter under that name. Only that
// name is read; the header wins when both are there. When the parameter
// appears more than once, the last one counts: polyfills append the
// current id to the URL, which may already hold the one the page started
// from.
//
// [Handler] has already refused, with 400, a request with more than one
// Last-Event-ID header, a lastEventId parameter that is not valid
// percent-encoding, and an id from either that breaks the rule of
// [Text.ID]. For such a request LastEventID returns "".
func LastEventID(r *http.Request) string {
	id, _, err := lastEventID(r)
	if err != nil || idProblem(id) != nil {
		return ""
	}
	return id
}

// lastEventIDParam is the query parameter LastEventID falls back to: the
// name of the EventSource attribute, which polyfills use for it.
const lastEventIDParam = "lastEventId"

// lastEventID returns the client's last event id and where it came from,
// or why the request cannot be resumed as it is.
func lastEventID(r *http.Request) (id, from string, err error) {
	ids := r.Header.Values("Last-Event-ID")
	if len(ids) > 1 {
		return "", "", errors.New("sseview: more than one Last-Event-ID header")
	}
	if len(ids) == 1 && ids[0] != "" {
		return ids[0], "Last-Event-ID header", nil
	}
	const param = lastEventIDParam + " query parameter"
	ids, err = queryValues(r.URL.RawQuery, lastEventIDParam)
	switch {
	case err != nil:
		return "", "", fmt.Errorf("sseview: %s %w", param, err)
	case len(ids) > 0:
		return ids[len(ids)-1], param, nil
	}
	return "", "", nil
}

// checkLastEventID refuses a request whose last event id no id the library
// writes could be: the client did not get it from an event stream, and
// resuming from it would be a guess.
func checkLastEventID(r *http.Request) error {
	id, from, err := lastEventID(r)
	if err != nil {
		return err
	}
	if why := idProblem(id); why != nil {
		return fmt.Errorf("sseview: %s %v", from, why)
	}
	return nil
}

// queryValues returns the decoded values of key in rawQuery. It reads the
// query itself because url.ParseQuery drops a pair it cannot decode, which
// would turn a client's position into a silent first connection.
func queryValues(rawQuery, key string) ([]string, error) {
	var values []string
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k != key {
			if k, err := url.QueryUnescape(k); err != nil || k != key {
				continue
			}
		}
		v, err := url.QueryUnescape(v)
		if err != nil {
			return nil, errors.New("is not valid percent-encoding")
		}
		values = append(values, v)
	}
	return values, nil
}

// ErrNoParam is recorded when a view asks a typed accessor of [Params] for
// a name its route does not have: a mistake in the program, answered with
// 500 Internal Server Error.
var ErrNoParam = errors.New("sseview: no such URL param")

// ParamError is recorded when a URL param does not parse as the type asked
// for; it is answered with 400 Bad Request and its message as the body.
// The message quotes at most 64 bytes of the value and then its length, so
// that a huge URL does not make a huge response.
type ParamError struct {
	Name  string // the param's name in the route pattern
	Value string // the value in the URL, whole
	Err   error  // why it does not parse
}

// Error quotes at most a short prefix of the value, with its length.
func (e *ParamError) Error() string {
	return fmt.Sprintf("sseview: URL param %s=%s: %v", e.Name, quote.Bounded(e.Value), e.Err)
}

// Unwrap returns why the value does not parse.
func (e *ParamError) Unwrap() error { return e.Err }

// Params holds the URL params of the matched route in pattern order, so a
// view can take them by position like the positional groups of a Django
// re_path, or by name.
//
// With chi, params of parent routers come first, as in the full pattern.
// The "*" entries that chi's Mount adds to join a sub-router are routing
// internals and are left out; a "*" at the end of the view's own pattern is
// kept. On a net/http ServeMux the params are the pattern's {name}
// wildcards.
//
// Values are decoded, once: /rooms/%41bc gives "Abc" as /rooms/Abc does,
// /rooms/a%2Fb gives "a/b", and /rooms/100%25 gives "100%". (chi hands its
// params over undecoded when the client escaped more than it had to, and
// decoded otherwise; Params makes them one.) A regexp in a chi pattern is
// matched before decoding, against the text as the client sent it. chi's
// StripSlashes and URLFormat middleware make chi route on the decoded
// path; behind them, a value with a '%' in it may be decoded a second
// time.
//
// The typed accessors (Int, Float, UUID) return the zero value when the
// param does not parse and record the failure. Called in [Acceptor.Accept]
// or in Stream before it returns the iterator, a failure refuses the request
// with 400 before the stream starts, even when Accept then refused the
// request in another way (most likely because of the zero value it read).
// Err reports what was recorded.
type Params struct {
	names  []string
	values []string
	errs   *[]error
}

// Len returns the number of params.
func (p Params) Len() int { return len(p.values) }

// At returns the i'th param's value in pattern order. It panics if i is out
// of range, like indexing a slice.
func (p Params) At(i int) string { return p.values[i] }

// Get returns the value of the param called name, or "" when there is none.
// When parent and child routes both use name, the child's value wins, as
// with chi.URLParam.
func (p Params) Get(name string) string {
	v, _ := p.lookup(name)
	return v
}

// All yields each param's name and value in pattern order.
func (p Params) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for i, name := range p.names {
			if !yield(name, p.values[i]) {
				return
			}
		}
	}
}

// Int returns the param called name as an int written in plain decimal:
// an optional '-', then digits with no leading zero ("0", "42", "-7").
// Anything else is a failure: a '+', "-0", leading zeros ("007"), spaces,
// '_', other bases, exponents, and values beyond the range of int. So each
// int has one spelling, and one resource does not answer under several
// URLs.
func (p Params) Int(name string) int {
	v, ok := p.typed(name)
	if !ok {
		return 0
	}
	if !plainDecimal(v, false) {
		p.record(&ParamError{Name: name, Value: v, Err: errors.New("not a plain decimal integer")})
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		p.record(&ParamError{Name: name, Value: v, Err: errors.New("out of the range of int")})
		return 0
	}
	return n
}

// Float returns the param called name as a float64 written in plain
// decimal: an optional '-', an integer part with no leading zero, then
// optionally '.' and one or more digits ("0", "0.5", "-74.01", "51.50").
// Anything else is a failure: a '+', a zero with a '-' ("-0", "-0.00"),
// leading zeros ("07.5"), ".5" or "5.", exponents, hex, '_', NaN,
// infinities, and values beyond the range of float64. Two spellings of one
// value can differ only in trailing zeros of the fraction, which a route
// with a fixed number of decimals (`{lat:-?\d{1,3}\.\d{2}}`) rules out. The
// value is the nearest float64, as strconv.ParseFloat gives it.
func (p Params) Float(name string) float64 {
	v, ok := p.typed(name)
	if !ok {
		return 0
	}
	if !plainDecimal(v, true) {
		p.record(&ParamError{Name: name, Value: v, Err: errors.New("not a plain decimal number")})
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) {
		p.record(&ParamError{Name: name, Value: v, Err: errors.New("out of the range of float64")})
		return 0
	}
	return f
}

// plainDecimal reports whether s is an optional '-', an integer part with
// no leading zero, and, if fraction allows it, optionally '.' and one or
// more digits. A '-' before a zero value is refused: "-0" would be a second
// spelling of "0".
func plainDecimal(s string, fraction bool) bool {
	negative := strings.HasPrefix(s, "-")
	if negative {
		s = s[1:]
	}
	whole, frac, dot := strings.Cut(s, ".")
	switch {
	case !digits(whole) || len(whole) > 1 && whole[0] == '0':
		return false
	case dot && (!fraction || !digits(frac)):
		return false
	case negative && strings.Trim(whole+frac, "0") == "":
		return false
	}
	return true
}

// digits reports whether s is one or more ASCII digits.
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// UUID returns the param called name when it is a UUID in the canonical
// 8-4-4-4-12 hexadecimal form (either case), unchanged.
func (p Params) UUID(name string) string {
	v, ok := p.typed(name)
	if !ok {
		return ""
	}
	if !isUUID(v) {
		p.record(&ParamError{Name: name, Value: v, Err: errors.New("not a UUID")})
		return ""
	}
	return v
}

// Err returns every failure the typed accessors recorded, joined, or nil.
func (p Params) Err() error {
	if p.errs == nil {
		return nil
	}
	return errors.Join(*p.errs...)
}

func (p Params) lookup(name string) (string, bool) {
	for i := len(p.names) - 1; i >= 0; i-- {
		if p.names[i] == name {
			return p.values[i], true
		}
	}
	return "", false
}

// typed looks name up for a typed accessor, which must not be asked for a
// param the route does not have.
func (p Params) typed(name string) (string, bool) {
	v, ok := p.lookup(name)
	if !ok {
		p.record(fmt.Errorf("%w: %q", ErrNoParam, name))
	}
	return v, ok
}

func (p Params) record(err error) {
	if p.errs != nil {
		*p.errs = append(*p.errs, err)
	}
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// paramsOf collects the URL params of r's matched route.
func paramsOf(r *http.Request) Params {
	p := Params{errs: new([]error)}
	if rctx := chi.RouteContext(r.Context()); rctx != nil {
		// chi routes on r.URL.RawPath when it is set, which it is when the
		// client escaped what it need not have (%41, a lowercase %2f), and
		// then hands its params over undecoded; otherwise decoded.
		escaped := r.URL.RawPath != ""
		keys, values := rctx.URLParams.Keys, rctx.URLParams.Values
		ownStar := -1
		if n := len(rctx.RoutePatterns); n > 0 && strings.HasSuffix(rctx.RoutePatterns[n-1], "*") {
			ownStar = lastIndex(keys, "*")
		}
		for i, k := range keys {
			if k == "*" && i != ownStar {
				continue
			}
			v := values[i]
			if escaped {
				decoded, err := url.PathUnescape(v)
				if err != nil {
					p.record(&ParamError{Name: k, Value: v, Err: errors.New("not valid percent-encoding")})
				} else {
					v = decoded
				}
			}
			p.names = append(p.names, k)
			p.values = append(p.values, v)
		}
		return p
	}
	for name := range muxWildcards(r.Pattern) {
		p.names = append(p.names, name)
		p.values = append(p.values, r.PathValue(name))
	}
	return p
}

func lastIndex(s []string, v string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == v {
			return i
		}
	}
	return -1
}

// muxWildcards yields the names of the {name} and {name...} wildcards of a
// net/http ServeMux pattern, in order.
func muxWildcards(pattern string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for {
			open := strings.IndexByte(pattern, '{')
			if open < 0 {
				return
			}
			end := strings.IndexByte(pattern[open:], '}')
			if end < 0 {
				return
			}
			name := strings.TrimSuffix(pattern[open+1:open+end], "...")
			pattern = pattern[open+end+1:]
			if name == "$" {
				continue
			}
			if !yield(name) {
				return
			}
		}
	}
}
