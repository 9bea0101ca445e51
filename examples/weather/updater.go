package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sseview/sseview/sseview"
)

// Updater stands in for the weather service the seed's app fetched from:
// every Interval it stores a new simulated reading for every point that has
// an open stream, and one at once when a point gets its first stream, so a
// new page has something to show without waiting an interval.
//
// It is the view's [Watcher]. Store must be set, and Interval too for Run.
//
// With a Broker (broker mode) it also publishes each reading it stores as a
// "weather" event on the point's topic ([Topic]), and times its readings on
// the Interval grid (the time truncated to a multiple of Interval) rather
// than at the clock's exact time. Several processes sharing a NATS broker
// each publish for the points their own clients watch, so one point may be
// published by several of them; because [Simulate] is a function of point
// and time alone, processes with the same -update publish identical
// readings for the same grid slot, and [BrokerStream] drops a reading that
// is not newer than the last one it sent. Clients therefore see each slot's
// reading once, whichever process published it first.
type Updater struct {
	Store    *Store
	Broker   sseview.Broker   // nil: readings are only stored (poll mode)
	Interval time.Duration    // between rounds of readings; must be positive
	Now      func() time.Time // the clock; nil means time.Now
	Logger   *slog.Logger     // nil means slog.Default()

	mu        sync.Mutex
	watched   map[string]*watch    // point → its streams
	changed   chan struct{}        // closed and replaced whenever watched changes
	published map[string]Published // point → the newest reading this updater published
}

// Published is a reading as published to the broker.
type Published struct {
	Current Reading // the event's data
	ID      string  // the event's id, given by the broker
}

// Watch records a stream of point until unwatch is called. The first stream
// of a point gets a reading stored before Watch returns, and streams that
// join meanwhile wait for it (errors are logged: the streams still work and
// pick up the next round).
func (u *Updater) Watch(ctx context.Context, point string) (unwatch func()) {
	u.mu.Lock()
	if u.watched == nil {
		u.watched = make(map[string]*watch)
	}
	w := u.watched[point]
	first := w == nil
	if first {
		w = &watch{stored: make(chan struct{})}
		u.watched[point] = w
	}
	w.streams++
	u.notifyLocked()
	u.mu.Unlock()

	if first {
		u.update(ctx, point, u.now())
		close(w.stored)
	} else {
		select {
		case <-w.stored:
		case <-ctx.Done():
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			u.mu.Lock()
			defer u.mu.Unlock()
			if w.streams--; w.streams == 0 {
				delete(u.watched, point)
				// A point's next first stream publishes a fresh reading:
				// keeping this one would only make the map grow with
				// every point ever watched.
				delete(u.published, point)
			}
			u.notifyLocked()
		})
	}
}

// watch is a watched point.
type watch struct {
	streams int
	stored  chan struct{} // closed when the first stream's reading is stored
}

// Watched returns the points with open streams, sorted, and a channel that
// is closed the next time the set of streams changes.
func (u *Updater) Watched() (points []string, changed <-chan struct{}) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.changed == nil {
		u.changed = make(chan struct{})
	}
	for p := range u.watched {
		points = append(points, p)
	}
	slices.Sort(points)
	return points, u.changed
}

func (u *Updater) notifyLocked() {
	if u.changed != nil {
		close(u.changed)
		u.changed = nil
	}
}

// Run stores a round of readings every Interval until ctx is done.
func (u *Updater) Run(ctx context.Context) {
	ticker := time.NewTicker(u.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			u.Round(ctx)
		}
	}
}

// Round stores one reading for every watched point, all with the same time.
func (u *Updater) Round(ctx context.Context) {
	points, _ := u.Watched()
	now := u.now()
	for _, p := range points {
		u.update(ctx, p, now)
	}
}

func (u *Updater) update(ctx context.Context, point string, now time.Time) {
	if u.Broker != nil && u.Interval > 0 {
		now = now.Truncate(u.Interval)
	}
	wp, err := Simulate(point, now)
	if err == nil {
		err = u.Store.Add(ctx, wp)
	}
	if err == nil && u.Broker != nil {
		err = u.publish(ctx, wp)
	}
	if err != nil && ctx.Err() == nil {
		u.logger().ErrorContext(ctx, "weather: update failed", "point", point, "err", err)
	}
}

// publish publishes wp on its point's topic and records it as the point's
// newest published reading, unless a newer one was recorded meanwhile.
func (u *Updater) publish(ctx context.Context, wp WeatherPoint) error {
	current, err := wp.Current()
	if err != nil {
		return err
	}
	at, err := readingTime(current)
	if err != nil {
		return err
	}
	id, err := u.Broker.Publish(ctx, Topic(wp.Point), sseview.JSON{Type: "weather", Data: current})
	if err != nil {
		return fmt.Errorf("weather: publish reading of %s: %w", wp.Point, err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.watched[wp.Point] == nil {
		return nil // the last stream left while the round ran
	}
	if u.published == nil {
		u.published = make(map[string]Published)
	}
	if old, ok := u.published[wp.Point]; !ok || at.After(old.Current.Time) {
		u.published[wp.Point] = Published{Current: Reading{Time: at, Data: current}, ID: id}
	}
	return nil
}

// Published returns the newest reading this updater published for point,
// with its event id; ok is false when it published none.
func (u *Updater) Published(point string) (p Published, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	p, ok = u.published[point]
	return p, ok
}

func (u *Updater) now() time.Time {
	if u.Now != nil {
		return u.Now()
	}
	return time.Now()
}

func (u *Updater) logger() *slog.Logger {
	if u.Logger != nil {
		return u.Logger
	}
	return slog.Default()
}

// Current is the "current" object of a reading, in the shape of a weather
// service's answer.
type Current struct {
	Time          time.Time `json:"time"`
	TemperatureC  float64   `json:"temperature_c"`
	HumidityPct   int       `json:"humidity_pct"`
	WindKmh       float64   `json:"wind_kmh"`
	WindDirection int       `json:"wind_direction_deg"` // where the wind comes from, clockwise from north
	Condition     string    `json:"condition"`
}

// Simulate returns a plausible reading of point ("lat,lng") at time t: a
// function of the two alone, so a test can predict it. Temperature follows
// latitude, season and local solar time; the rest is noise seeded by the
// point and the second.
func Simulate(point string, t time.Time) (WeatherPoint, error) {
	lat, lng, err := parsePoint(point)
	if err != nil {
		return WeatherPoint{}, err
	}
	t = t.UTC()
	h := fnv.New64a()
	h.Write([]byte(point))
	seed := h.Sum64()
	rng := rand.New(rand.NewPCG(seed, uint64(t.Unix())))
	// Phases fixed per point make humidity and wind drift slowly over hours
	// rather than jump from one reading to the next.
	phase := float64(seed%3600) / 3600 * 2 * math.Pi
	hours := float64(t.Unix()) / 3600

	// Warmest in July in the north, in January in the south, more so
	// towards the poles.
	season := math.Cos(2 * math.Pi * float64(t.YearDay()-196) / 365.25)
	seasonal := math.Copysign(1, lat) * math.Abs(lat) / 90 * 14 * season
	// Warmest at 15:00 local solar time.
	solarHour := math.Mod(float64(t.Hour())+float64(t.Minute())/60+lng/15+48, 24)
	diurnal := 4 * math.Cos(2*math.Pi*(solarHour-15)/24)
	temp := 28 - 0.45*math.Abs(lat) + seasonal + diurnal + 0.3*rng.NormFloat64()

	humidity := min(max(int(math.Round(66+22*math.Sin(2*math.Pi*hours/7+phase)-diurnal+2*rng.NormFloat64())), 8), 100)
	wind := math.Abs(14 + 9*math.Sin(2*math.Pi*hours/5+2*phase) + 1.5*rng.NormFloat64())
	cur := Current{
		Time:          t.Truncate(time.Second),
		TemperatureC:  math.Round(temp*10) / 10,
		HumidityPct:   humidity,
		WindKmh:       math.Round(wind*10) / 10,
		WindDirection: rng.IntN(360),
		Condition:     condition(temp, humidity, wind),
	}
	data, err := json.Marshal(struct {
		Current Current `json:"current"`
	}{cur})
	if err != nil {
		return WeatherPoint{}, err
	}
	return WeatherPoint{Point: point, Created: t, WeatherData: data}, nil
}

func condition(temp float64, humidity int, wind float64) string {
	switch {
	case humidity >= 90 && temp < 0:
		return "Snow"
	case humidity >= 90:
		return "Rain"
	case humidity >= 82:
		return "Drizzle"
	case humidity >= 72:
		return "Overcast"
	case humidity >= 58:
		return "Partly cloudy"
	case wind >= 30:
		return "Windy"
	}
	return "Clear"
}

// parsePoint splits "lat,lng" into numbers.
func parsePoint(point string) (lat, lng float64, err error) {
	latS, lngS, ok := strings.Cut(point, ",")
	if !ok {
		return 0, 0, &pointError{point}
	}
	if lat, err = strconv.ParseFloat(latS, 64); err != nil {
		return 0, 0, &pointError{point}
	}
	if lng, err = strconv.ParseFloat(lngS, 64); err != nil {
		return 0, 0, &pointError{point}
	}
	return lat, lng, nil
}

type pointError struct{ point string }

func (e *pointError) Error() string {
	return "weather: point " + strconv.Quote(e.point) + " is not \"lat,lng\""
}
