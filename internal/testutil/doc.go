// Package testutil holds test-only helpers for the sseview module.
//
// [Parser] is the independent oracle of the WHATWG HTML algorithm
// "interpreting an event stream", kept in internal/eventstream and reached
// from here under its old names. The encoder's fuzz round trip, an internal
// test of package sseview, imports this package, so it must never import
// package sseview (or anything that does, such as sseview/sseviewtest).
//
// The rest ([Serve], [Open], [Stream]) serves an http.Handler over loopback
// and reads its event stream in the background without leaking goroutines,
// so that tests run under go.uber.org/goleak stay clean.
package testutil
