package main

import (
	"context"
	"fmt"
	"iter"
	"math"
	"net/http"
	"time"

	"github.com/sseview/sseview/sseview"
)

// weatherRoute is the seed's URL pattern,
//
//	r"weather/(-?\d{1,3}.\d{2}),(-?\d{1,3}.\d{2})/"
//
// with its groups named and its "." escaped: unescaped, "." matches any
// character, so the seed also routed /weather/51x51,0y13/ to the view.
const weatherRoute = `/weather/{lat:-?\d{1,3}\.\d{2}},{lng:-?\d{1,3}\.\d{2}}/`

// Readings is what the view reads: the seed's WeatherPoint.objects.
type Readings interface {
	// Latest returns the newest reading of point; ok is false when there is
	// none yet.
	Latest(ctx context.Context, point string) (wp WeatherPoint, ok bool, err error)
}

// Watcher is told which points have an open stream, so the weather updater
// knows which points to fetch.
type Watcher interface {
	// Watch records a stream of point until the returned func is called.
	Watch(ctx context.Context, point string) (unwatch func())
}

// WeatherStream is the seed's only view, ported line by line: it polls the
// latest reading of a point, sends it as a "weather" event whenever it
// changed, and sends a "ping" event every poll.
type WeatherStream struct {
	Points  Readings
	Watcher Watcher       // nil: nobody is told
	Poll    time.Duration // how long to sleep between polls; the seed's 30 s when zero
}

// Accept refuses coordinates that match the route but are not on Earth
// (|lat| > 90 or |lng| > 180) with 400 before the stream starts, so a client
// is not kept waiting for readings that can never exist.
func (v WeatherStream) Accept(r *http.Request, p sseview.Params) error {
	lat, lng := p.Float("lat"), p.Float("lng")
	if err := p.Err(); err != nil {
		return err // a *sseview.ParamError: 400
	}
	if math.Abs(lat) > 90 {
		return sseview.Refuse(http.StatusBadRequest, map[string]string{
			"error": fmt.Sprintf("weather: latitude %s is outside [-90, 90]", p.Get("lat"))})
	}
	if math.Abs(lng) > 180 {
		return sseview.Refuse(http.StatusBadRequest, map[string]string{
			"error": fmt.Sprintf("weather: longitude %s is outside [-180, 180]", p.Get("lng"))})
	}
	return nil
}

// Stream is the seed's stream method. The point is "lat,lng" exactly as in
// the URL, like the seed's f"{lat},{lng}".
func (v WeatherStream) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
	point := p.Get("lat") + "," + p.Get("lng")
	poll := v.Poll
	if poll <= 0 {
		poll = 30 * time.Second
	}
	return func(yield func(sseview.Event, error) bool) {
		if v.Watcher != nil {
			defer v.Watcher.Watch(ctx, point)()
		}
		var lastUpdate time.Time

		for {
			wp, ok, err := v.Points.Latest(ctx, point)
			if err != nil {
				// Handler drops an error that comes after ctx is done: a
				// query cut short by the client leaving is no failure.
				yield(nil, err)
				return
			}

			if ok && !wp.Created.Equal(lastUpdate) {
				current, err := wp.Current()
				if err != nil {
					yield(nil, err)
					return
				}
				lastUpdate = wp.Created
				if !yield(sseview.JSON{Type: "weather", Data: current}, nil) {
					return
				}
			}

			// The seed pings every poll to keep proxies from closing the
			// connection; Handler's keep-alive comments would do, but a
			// ping event is what the seed's clients see.
			if !yield(sseview.JSON{Type: "ping", Data: nil}, nil) {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(poll):
			}
		}
	}
}
