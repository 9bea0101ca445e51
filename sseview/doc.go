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
// field), flushed as they are written through http.ResponseController (so chi's
// middleware wrappers do not get in the way), kept alive with comments,
// bounded by a write deadline per write so a stalled client is dropped, and
// stopped as soon as the client leaves. [EndStreamsOnShutdown] lets
// http.Server.Shutdown end open streams at once.
//
// # Events
//
// A view yields [Text] (the port of django-async-sse's Event), [JSON],
// [Comment], [HTML] fragments, Datastar's [PatchElements], [PatchSignals]
// and [ExecuteScript], [*Encoded] events made once by [Encode] to write to
// many streams, and kinds of its own (see [Event]).
// An HTML fragment, like Datastar's elements, comes from a [Renderer]: an
// html/template with its data ([Template]), trusted markup ([Markup]), or
// any type with the Render method of a templ component. A line break
// anywhere in the HTML starts a new data line, so no markup can inject a
// field. A [Broker], such as [MemoryBroker], fans published events out to
// many streams and resumes each from its Last-Event-ID.
//
// # Datastar
//
// Datastar (https://data-star.dev) opens its streams with fetch: @get, or
// @post, @put, @patch and @delete with the page's signals as a JSON body
// (serve those with [Handler.Methods]; [ReadSignals] reads the signals).
// The wire form of [PatchElements], [PatchSignals] and [ExecuteScript] is
// byte for byte what the Go SDK github.com/starfederation/datastar-go
// v1.2.2 writes for the same valid input, without depending on it: in a
// stream, through [Encode] or published to a [Broker] alike, each event
// ends, as the SDK's do, with an empty line after the blank line that
// dispatches it, which a client ignores. Retry is sent, as the SDK sends
// it, only when it is not Datastar's default of one second.
//
// Valid input has no CR. A CR in HTML or JSON, which the SDK writes raw
// and a client reads as the end of a line, so that the rest of the value
// injects fields, starts a new data line in sseview, as an LF does (HTML
// and JSON read it the same); a CRLF, one line end to a client in the
// SDK's bytes too, is written as LF, as sseview ends every line. A line
// break in an id, selector or view transition selector, an unknown mode or
// namespace, and invalid UTF-8 are errors wrapping [ErrInvalidEvent],
// never written. So are the values the SDK writes but that change or
// vanish on the way: an id that would not come back as Last-Event-ID (see
// [Text]), a retry that is not a whole number of milliseconds (the SDK
// truncates it), a view transition selector without view transitions (the
// SDK drops it), and a PatchElements with nothing to patch (the SDK writes
// an event with no data, which dispatches nothing).
package sseview
