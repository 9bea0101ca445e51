package main

import (
	"context"
	"encoding/json"
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
// than at the clock's exact time; Run wakes at each slot of the grid, and
// stores the slots a late wake-up passed too (at most Backlog of them), so
// every slot has its reading. Several processes sharing a NATS broker each
// publish for the points their own clients watch, so one point may be
// published by several of them: because [Simulate] is a function of point
// and time alone, processes with the same -update compute identical
// readings for a slot, and each is published as an [sseview.Keyed] whose key
// ([readingKey]) they agree on. A broker that honours Keyed stores it once,
// whichever process published it first, and gives the others its id.
//
// Publishing never holds up the updater: each point's readings are
// published in order on a goroutine of their own (while Run runs), each
// Publish bounded by PublishTimeout. A reading that could not be published
// is retried with the same key until it is, so a broker outage loses none of
// the readings produced during it as long as no point has more than Backlog
// of them waiting; past that the oldest waiting reading is dropped, logged at
// Error and counted by [Updater.Dropped].
type Updater struct {
	Store          *Store
	Broker         sseview.Broker   // nil: readings are only stored (poll mode)
	Interval       time.Duration    // between rounds of readings; must be positive
	PublishTimeout time.Duration    // bounds each Publish; 0 means 2 s
	Backlog        int              // readings per point waiting to be published; 0 means 100
	Now            func() time.Time // the clock; nil means time.Now
	Logger         *slog.Logger     // nil means slog.Default()

	// mu guards what follows. Lock order: mu is released before the
	// publisher's lock is taken (see publisher.mu).
	mu        sync.Mutex
	watched   map[string]*watch    // point → its streams
	changed   chan struct{}        // closed and replaced whenever watched changes
	published map[string]Published // point → the newest reading this updater published
	recorded  chan struct{}        // closed and replaced whenever published changes
	pub       *publisher           // made on first use, in broker mode
}

// Published is a reading as published to the broker.
type Published struct {
	Current Reading // the event's data
	ID      string  // the event's id, given by the broker
}

// Watch records a stream of point until unwatch is called. The first stream
// of a point gets a reading stored before Watch returns, and published too
// unless that takes longer than PublishTimeout; streams that join meanwhile
// wait for it (errors are logged: the streams still work and pick up the
// next round).
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
		// Not cut short when this stream leaves: the streams that joined
		// meanwhile wait for the same reading.
		if attempted := u.update(context.WithoutCancel(ctx), point, u.now()); attempted != nil {
			t := time.NewTimer(u.publishTimeout())
			select {
			case <-attempted:
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
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
				// every point ever watched. Readings still waiting to be
				// published are published all the same: clients of other
				// processes may be watching.
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

// Run stores a round of readings at every slot of the Interval grid, and in
// broker mode publishes them, until ctx is done. It returns once its
// publishing goroutines have stopped; readings still waiting then are
// logged. Call it once.
func (u *Updater) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	if u.Broker != nil {
		p := u.publisher()
		wg.Go(func() { p.run(ctx) })
	}
	last := u.now().Truncate(u.Interval) // the slot a first stream's Watch covers
	timer := time.NewTimer(u.untilNextSlot())
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		now := u.now()
		if u.Broker == nil {
			u.Round(ctx)
		} else if slot := now.Truncate(u.Interval); slot.After(last) {
			from := last.Add(u.Interval)
			if limit := time.Duration(u.backlog()) * u.Interval; slot.Sub(from) >= limit {
				u.logger().WarnContext(ctx, "weather: woke too late to store every slot's reading",
					"skipped_from", from, "skipped_to", slot.Add(-limit))
				from = slot.Add(-limit + u.Interval)
			}
			for s := from; !s.After(slot); s = s.Add(u.Interval) {
				u.roundAt(ctx, s)
			}
			last = slot
		}
		timer.Reset(u.untilNextSlot())
	}
}

// untilNextSlot is how long until the next multiple of Interval.
func (u *Updater) untilNextSlot() time.Duration {
	now := u.now()
	return u.Interval - now.Sub(now.Truncate(u.Interval))
}

// Round stores one reading for every watched point, all with the same time,
// and hands them to the publisher in broker mode; it does not wait for them
// to be published.
func (u *Updater) Round(ctx context.Context) { u.roundAt(ctx, u.now()) }

func (u *Updater) roundAt(ctx context.Context, now time.Time) {
	points, _ := u.Watched()
	for _, p := range points {
		u.update(ctx, p, now)
	}
}

// update stores point's reading at now and, in broker mode, hands it to the
// publisher, returning a channel closed once its publish was tried; nil when
// there is nothing to publish.
func (u *Updater) update(ctx context.Context, point string, now time.Time) <-chan struct{} {
	if u.Broker != nil && u.Interval > 0 {
		now = now.Truncate(u.Interval)
	}
	wp, err := Simulate(point, now)
	if err == nil {
		err = u.Store.Add(ctx, wp)
	}
	var attempted <-chan struct{}
	if err == nil && u.Broker != nil {
		attempted, err = u.enqueue(wp)
	}
	if err != nil && ctx.Err() == nil {
		u.logger().ErrorContext(ctx, "weather: update failed", "point", point, "err", err)
	}
	return attempted
}

// enqueue hands wp to the publisher as a keyed weather event.
func (u *Updater) enqueue(wp WeatherPoint) (<-chan struct{}, error) {
	current, err := wp.Current()
	if err != nil {
		return nil, err
	}
	at, err := readingTime(current)
	if err != nil {
		return nil, err
	}
	ev := sseview.Keyed{Key: readingKey(wp.Point, at), Event: sseview.JSON{Type: "weather", Data: current}}
	return u.publisher().enqueue(wp.Point, Reading{Time: at, Data: current}, ev), nil
}

// recordPublished records r, published with id, as point's newest published
// reading, unless a newer one was recorded meanwhile or the point has no
// stream left.
func (u *Updater) recordPublished(point string, r Reading, id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.watched[point] == nil {
		return // the last stream left while it was published
	}
	if u.published == nil {
		u.published = make(map[string]Published)
	}
	if old, ok := u.published[point]; !ok || r.Time.After(old.Current.Time) {
		u.published[point] = Published{Current: r, ID: id}
		if u.recorded != nil {
			close(u.recorded)
			u.recorded = nil
		}
	}
}

// publishedChanged returns a channel closed the next time a reading is
// recorded as published, so that a caller can wait for one.
func (u *Updater) publishedChanged() <-chan struct{} {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.recorded == nil {
		u.recorded = make(chan struct{})
	}
	return u.recorded
}

// Published returns the newest reading this updater published for point,
// with its event id; ok is false when it published none.
func (u *Updater) Published(point string) (p Published, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	p, ok = u.published[point]
	return p, ok
}

// Dropped is how many readings the updater gave up publishing: dropped from
// a full backlog, or refused by the broker as invalid.
func (u *Updater) Dropped() int {
	if u.Broker == nil {
		return 0
	}
	return u.publisher().droppedCount()
}

func (u *Updater) publisher() *publisher {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.pub == nil {
		u.pub = newPublisher(u.Broker, u.PublishTimeout, u.Backlog, u.logger(), u.recordPublished)
	}
	return u.pub
}

func (u *Updater) publishTimeout() time.Duration {
	if u.PublishTimeout > 0 {
		return u.PublishTimeout
	}
	return defaultPublishTimeout
}

func (u *Updater) backlog() int {
	if u.Backlog > 0 {
		return u.Backlog
	}
	return defaultBacklog
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

// readingKey is the identity of point's reading at t, published as the
// [sseview.Keyed] key: processes that compute the same reading agree on it,
// so the broker stores it once. It is the topic and the reading's Unix
// second: plain characters, unique across topics, since NATS's duplicate
// window spans its whole stream.
func readingKey(point string, t time.Time) string {
	return Topic(point) + ":" + strconv.FormatInt(t.Unix(), 10)
}
