// Package sseview serves Server-Sent Events from class-based views on the
// chi router: the Go port of django-async-sse.
//
// A view implements [StreamView]: its Stream method returns an iterator
// that yields events, and [AsView] turns it into a route handler:
//
//	type WeatherStream struct{ DB *sql.DB }
//
//	func (v WeatherStream) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
//		lat, lng := p.Get("lat"), p.Get("lng")
//		return func(yield func(sseview.Event, error) bool) {
//			// query, yield sseview.JSON{Type: "weather", Data: ...}, wait for ctx or a timer
//		}
//	}
//
//	r.Handle(`/weather/{lat:-?\d{1,3}\.\d{2}},{lng:-?\d{1,3}\.\d{2}}/`, sseview.AsView(WeatherStream{DB: db}))
//
// The [Handler] behind AsView writes the text/event-stream response the
// WHATWG HTML standard specifies: events are validated before a byte is
// written (a line break in an event type or id is an error, never a new
// field), flushed one by one through http.ResponseController (so chi's
// middleware wrappers do not get in the way), kept alive with comments,
// bounded by a write deadline per write so a stalled client is dropped, and
// stopped as soon as the client leaves. [EndStreamsOnShutdown] lets
// http.Server.Shutdown end open streams at once.
package sseview
