// Package sseviewtest drives server-sent event streams in tests: an sseview
// view, or any http.Handler or URL that serves text/event-stream.
//
// Tests of streaming handlers tend to hang or race: httptest.ResponseRecorder
// buffers and never ends, tests sleep and hope, and hand-written parsers get
// the format wrong. A [Stream] instead reads the response as a browser's
// EventSource does, by the WHATWG algorithm (types, data, ids carried
// forward, retry, a BOM, CR line ends), every read bounded by a deadline:
//
//	s := sseviewtest.OpenT(t, router, httptest.NewRequest("GET", "/rooms/lobby", nil))
//	s.Expect(t, sseviewtest.Event{Type: "chat", Data: "hi", ID: id})
//
// [Open] serves the request in process, with no network: the handler runs on
// a goroutine of its own and writes to a pipe that flushes like net/http's
// ResponseWriter. [Dial] sends it to a URL instead, such as an
// httptest.Server's. Both fail, with an error saying what was expected,
// unless the response is a 200 text/event-stream. [OpenT] and [DialT] are
// the same for a test: they fail it with that error, and close the stream
// when it ends, failing it if the handler does not return; Open and Dial
// return their errors, for Examples and other code without a testing.TB.
// A read that waits too long
// reports what arrived so far, including the start of an event that never
// got its blank line; the end of the stream is io.EOF. [Stream.Reconnect]
// sends the request again with the Last-Event-ID that EventSource would send,
// so a test can check resume end to end. [Stream.Expect] and
// [Stream.ExpectEnd] fail a testing.TB with a line-by-line diff.
//
// # Time without waiting
//
// Everything Open starts runs on goroutines it starts, with no network, so
// inside a testing/synctest bubble a handler's timers run on the bubble's fake
// clock: a test checks sseview's 15 s keep-alive in no time at all.
//
//	synctest.Test(t, func(t *testing.T) {
//		s := sseviewtest.OpenT(t, sseview.AsView(view), httptest.NewRequest("GET", "/", nil))
//		s.Comments = true
//		start := time.Now()
//		s.Expect(t, sseviewtest.Event{Comment: ": keep-alive"})
//		if d := time.Since(start); d != 15*time.Second { ... }
//	})
//
// # No goroutine left behind
//
// Close cancels the request's context and waits for the handler to return,
// so a test under go.uber.org/goleak stays clean; a handler that ignores its
// context makes Close return an error instead of hanging, which fails the
// test of a stream that OpenT or DialT opened.
//
// The parser is an independent oracle: it follows the standard's wording and
// shares no code with sseview's encoder, whose fuzz test checks the encoder
// against it. This package imports only the standard library and that parser,
// not package sseview, so it serves any SSE handler.
package sseviewtest
