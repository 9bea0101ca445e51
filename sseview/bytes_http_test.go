package sseview_test

import (
	"context"
	"iter"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseview/sseviewtest"
)

// scribbler sends n events from one buffer, which it overwrites as soon as
// yield returns: the stream must have written each event by then.
type scribbler int

func (n scribbler) Stream(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		ev := &sseview.Bytes{Type: "reading"}
		var buf []byte
		for i := range int(n) {
			buf = strconv.AppendInt(append(buf[:0], "seq "...), int64(i), 10)
			buf = append(buf, "\r\nsecond line"...)
			ev.ID, ev.Data = strconv.Itoa(i), buf
			if !yield(ev, nil) {
				return
			}
			for j := range buf {
				buf[j] = '\n'
			}
		}
	}
}

// A view that appends its payload into a buffer of its own sends it as
// Bytes, behind chi and its usual middleware, and may reuse the buffer the
// moment yield returns.
func TestBytesEventsBehindMiddleware(t *testing.T) {
	r := appRouter()
	r.Handle("/readings", sseview.AsView(scribbler(50)))
	srv := httptest.NewServer(r)
	defer srv.Close()
	s, err := sseviewtest.Dial(srv.Client(), httptest.NewRequest(http.MethodGet, srv.URL+"/readings", nil))
	require.NoError(t, err)
	defer s.Close()
	for i := range 50 {
		s.Expect(t, sseviewtest.Event{Type: "reading", ID: strconv.Itoa(i),
			Data: "seq " + strconv.Itoa(i) + "\nsecond line"})
	}
	s.ExpectEnd(t)
	require.Equal(t, "49", s.LastEventID())
}
