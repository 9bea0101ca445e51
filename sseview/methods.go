package sseview

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// MaxBodyLen is the largest request body, in bytes, that a stream opened by
// a method other than GET and HEAD reads (see [Handler.Methods]). A larger
// one is refused with 413 Content Too Large rather than cut, since a cut
// body would be read as another value.
const MaxBodyLen = 1 << 20

// allows reports whether method opens h's stream, or answers its headers.
func (h *Handler) allows(method string) bool {
	if h.Methods == nil {
		return method == http.MethodGet || method == http.MethodHead
	}
	if method == http.MethodHead {
		method = http.MethodGet
	}
	return slices.Contains(h.Methods, method)
}

// allowHeader is the Allow header of a 405: the declared methods, with
// HEAD after GET.
func (h *Handler) allowHeader() string {
	if h.Methods == nil {
		return "GET, HEAD"
	}
	var allow []string
	for _, m := range h.Methods {
		allow = append(allow, m)
		if m == http.MethodGet {
			allow = append(allow, http.MethodHead)
		}
	}
	return strings.Join(allow, ", ")
}

// readBody reads the request body of a method other than GET and HEAD and
// puts what it read in its place. Once a stream's headers are flushed,
// net/http may no longer let an HTTP/1 handler read the body, and a view
// reads it (Datastar's signals, for one) from its iterator as well as from
// Accept.
func readBody(r *http.Request) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyLen+1))
	if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
		return Refuse(http.StatusRequestEntityTooLarge,
			fmt.Sprintf("sseview: the request body is more than %d bytes", tooLarge.Limit))
	}
	if err != nil {
		return Refuse(http.StatusBadRequest, fmt.Sprintf("sseview: reading the request body: %v", err))
	}
	if len(body) > MaxBodyLen {
		return Refuse(http.StatusRequestEntityTooLarge,
			fmt.Sprintf("sseview: the request body is more than %d bytes", MaxBodyLen))
	}
	_ = r.Body.Close()
	r.Body = &aheadBody{Reader: bytes.NewReader(body), all: body}
	return nil
}

// aheadBody is a request body read in advance. [ReadSignals] takes all of
// it however much was read already, so a view can read its signals both in
// Accept and in Stream.
type aheadBody struct {
	*bytes.Reader
	all []byte
}

func (*aheadBody) Close() error { return nil }
