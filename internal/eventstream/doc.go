// Package eventstream is an independent oracle of the WHATWG HTML algorithm
// "interpreting an event stream" (the server-sent events section of the HTML
// standard): [Parser] turns the bytes of a text/event-stream response into the
// events a browser's EventSource would dispatch.
//
// The library's tests, including the encoder's fuzz round trip, and the public
// test kit sseview/sseviewtest read what the library writes through this
// parser. An oracle is only worth something if it does not share the code
// under test, so this package must never import package sseview (or anything
// that does), and it follows the standard's wording rather than the library's
// design. It imports nothing but the standard library, so that both sseview's
// internal tests and packages that import sseview can use it without an
// import cycle.
package eventstream
