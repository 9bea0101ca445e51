package main

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sseview/sseview/sseview"
)

// Topic is the broker topic of point ("lat,lng" as in the URL): "weather."
// then the latitude and the longitude as two tokens, each with its decimal
// point written "_", so that the topic is a valid NATS subject whose tokens
// are the coordinates: "40.71,-74.01" is "weather.40_71.-74_01" ("-" is
// allowed in a NATS token). The route admits only -?\d{1,3}\.\d{2} for
// each, so the mapping is one to one.
func Topic(point string) string {
	lat, lng, _ := strings.Cut(point, ",")
	return "weather." + strings.ReplaceAll(lat, ".", "_") + "." + strings.ReplaceAll(lng, ".", "_")
}

// Reading is the "current" object of a reading, as a weather event carries
// it, with its time decoded.
type Reading struct {
	Time time.Time       // the "time" field of Data
	Data json.RawMessage // the event's data: weather_data['current']
}

// readingTime decodes the "time" field of a weather event's data.
func readingTime(data []byte) (time.Time, error) {
	var r struct {
		Time *time.Time `json:"time"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return time.Time{}, fmt.Errorf("weather: weather event: %w", err)
	}
	if r.Time == nil {
		return time.Time{}, fmt.Errorf("weather: weather event %s has no \"time\"", data)
	}
	return *r.Time, nil
}

// PublishedReadings is what [BrokerStream] asks for a point's newest
// reading: the [Updater] that published it.
type PublishedReadings interface {
	// Published returns the newest reading published for point and its
	// event id; ok is false when there is none.
	Published(point string) (p Published, ok bool)
}

// BrokerStream is the weather stream in broker mode: instead of polling the
// database, it subscribes to the point's topic ([Topic]), where the
// [Updater] publishes every reading it stores. It sends no ping events: the
// Handler's keep-alive comments (every 15 s by default) keep proxies from
// closing the connection, which is what the seed's pings were for.
//
// A client without a Last-Event-ID gets the newest reading at once, then
// the live ones: the view sends the newest reading this process published
// with the id the broker gave it, and subscribes from that id, so a reading
// published in between is neither lost nor sent twice. A client that
// reconnects with its Last-Event-ID gets the readings it missed; when the
// broker no longer has them, the broker's reset event (which the page
// ignores, but whose id the browser keeps) is followed by the newest
// reading.
//
// The view does not filter duplicates: the updaters publish each reading as
// an [sseview.Keyed], so a broker that honours Keyed holds one copy of it
// however many processes published it, and every stream, new or resumed,
// gets it once. The one reading the view sends itself after a reset is the
// exception: the broker may deliver the same reading later on the
// subscription, so readings not newer than that one are skipped.
type BrokerStream struct {
	Broker    sseview.Broker
	Published PublishedReadings
	Watcher   Watcher      // nil: nobody is told
	Logger    *slog.Logger // nil means slog.Default()
}

// Accept refuses coordinates that are not on Earth, as [WeatherStream.Accept].
func (v BrokerStream) Accept(r *http.Request, p sseview.Params) error {
	return WeatherStream{}.Accept(r, p)
}

// Stream subscribes to the point's topic.
func (v BrokerStream) Stream(ctx context.Context, r *http.Request, p sseview.Params) iter.Seq2[sseview.Event, error] {
	point := p.Get("lat") + "," + p.Get("lng")
	return func(yield func(sseview.Event, error) bool) {
		if v.Watcher != nil {
			// Watch returns after the first stream's reading is published,
			// so Published has it below.
			defer v.Watcher.Watch(ctx, point)()
		}
		// refreshed is the time of the reading sent after a reset, outside
		// the broker's sequence; zero when there was none.
		var refreshed time.Time
		lastEventID := sseview.LastEventID(r)
		if lastEventID == "" {
			if pub, ok := v.Published.Published(point); ok {
				if !yield(sseview.JSON{Type: "weather", ID: pub.ID, Data: pub.Current.Data}, nil) {
					return
				}
				lastEventID = pub.ID
			}
		}
		for e, err := range v.Broker.Subscribe(ctx, Topic(point), lastEventID) {
			if err != nil {
				yield(nil, err)
				return
			}
			enc, err := sseview.Encode(e)
			if err != nil {
				yield(nil, err)
				return
			}
			t, _ := enc.MarshalEvent()
			switch t.Type {
			case sseview.ResetEventType:
				if !yield(enc, nil) {
					return
				}
				// The reset sets the client's id; the newest reading, sent
				// without one, refreshes what it shows.
				if pub, ok := v.Published.Published(point); ok {
					refreshed = pub.Current.Time
					if !yield(sseview.JSON{Type: "weather", Data: pub.Current.Data}, nil) {
						return
					}
				}
			case "weather":
				at, err := readingTime([]byte(t.Data))
				if err != nil {
					// Anyone can publish on a NATS subject. Ending the stream
					// would make the client resume before this event and meet
					// it again, forever: skip it, and say so.
					v.logger().WarnContext(ctx, "weather: skipped a malformed weather event", "topic", Topic(point), "id", t.ID, "err", err)
					continue
				}
				if !at.After(refreshed) {
					continue // already sent after the reset
				}
				if !yield(enc, nil) {
					return
				}
			default:
				if !yield(enc, nil) {
					return
				}
			}
		}
	}
}

func (v BrokerStream) logger() *slog.Logger {
	if v.Logger != nil {
		return v.Logger
	}
	return slog.Default()
}
