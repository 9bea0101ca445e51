// Package testutil holds test-only helpers for the sseview module.
//
// Its core is [Parser], an independent oracle of the WHATWG HTML algorithm
// "interpreting an event stream" (the server-sent events section of the HTML
// standard). The library's tests, including the encoder's fuzz round-trip,
// feed what the library writes through this parser to learn what a browser's
// EventSource would really deliver. An oracle is only worth something if it
// does not share the code under test, so this package must never import
// package sseview (or anything that does), and it follows the standard's
// wording rather than the library's design.
//
// The rest ([Serve], [Open], [Stream]) serves an http.Handler over loopback
// and reads its event stream in the background without leaking goroutines,
// so that tests run under go.uber.org/goleak stay clean.
package testutil
