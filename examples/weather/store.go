package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	// modernc.org/sqlite is SQLite translated to Go: no cgo, so `go run .`
	// works on a machine with nothing but Go, and cross-compiles, which the
	// cgo drivers (mattn/go-sqlite3) do not without a C toolchain.
	_ "modernc.org/sqlite"
)

// schema is the seed's WeatherPoint model. created is kept as Unix
// microseconds (Django's DateTimeField resolution) so that the latest row is
// an integer comparison; weather_data is the JSON document the weather
// service returned, whose "current" object the view sends.
const schema = `
CREATE TABLE IF NOT EXISTS weather_point (
	id           INTEGER PRIMARY KEY,
	point        TEXT    NOT NULL,
	created      INTEGER NOT NULL,
	weather_data TEXT    NOT NULL CHECK (json_valid(weather_data))
);
CREATE INDEX IF NOT EXISTS weather_point_latest ON weather_point (point, created DESC);
`

// WeatherPoint is one reading of the weather at a point: a row of the seed's
// model of the same name.
type WeatherPoint struct {
	Point       string          // "lat,lng" as in the URL, e.g. "51.51,-0.13"
	Created     time.Time       // when the reading was stored
	WeatherData json.RawMessage // {"current": {...}} as a weather service returns it
}

// Current returns the "current" object of the reading's weather data: what
// the seed sends as wp.weather_data['current'].
func (wp WeatherPoint) Current() (json.RawMessage, error) {
	var doc struct {
		Current json.RawMessage `json:"current"`
	}
	if err := json.Unmarshal(wp.WeatherData, &doc); err != nil {
		return nil, fmt.Errorf("weather: reading of %s: %w", wp.Point, err)
	}
	if doc.Current == nil {
		return nil, fmt.Errorf("weather: reading of %s has no \"current\" object", wp.Point)
	}
	return doc.Current, nil
}

// Store keeps weather readings in SQLite.
type Store struct {
	db *sql.DB
}

// memoryDB is the -db value for a database that lives in this process only.
const memoryDB = ":memory:"

// OpenStore opens (creating when missing) the database at path and creates
// the schema. path is a file name, ":memory:", or a SQLite "file:" URI
// passed to the driver as it is.
func OpenStore(ctx context.Context, path string) (*Store, error) {
	dsn, err := storeDSN(path)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("weather: open database %q: %w", path, err)
	}
	if path == memoryDB {
		// Every connection to ":memory:" is a database of its own, empty: one
		// connection, kept forever, makes the pool see one database.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("weather: create schema in %q: %w", path, err)
	}
	return &Store{db: db}, nil
}

// storeDSN turns a -db value into the driver's data source name. Files get
// WAL, so the streams' reads do not wait for the updater's writes, and a
// busy timeout, so a write waits for another one instead of failing.
func storeDSN(path string) (string, error) {
	switch {
	case path == "":
		return "", errors.New("weather: empty database path")
	case path == memoryDB, strings.HasPrefix(path, "file:"):
		return path, nil
	case strings.Contains(path, "?"):
		// The driver would take the rest as its parameters and open a
		// different file than the one named.
		return "", fmt.Errorf("weather: database path %q contains '?'; use a file: URI", path)
	}
	return path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)", nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Latest returns the newest reading of point; ok is false when there is none.
// The seed's afirst() relies on the model's ordering; the order is explicit
// here.
func (s *Store) Latest(ctx context.Context, point string) (wp WeatherPoint, ok bool, err error) {
	var created int64
	var data string
	err = s.db.QueryRowContext(ctx,
		`SELECT created, weather_data FROM weather_point
		 WHERE point = ? ORDER BY created DESC, id DESC LIMIT 1`, point).Scan(&created, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return WeatherPoint{}, false, nil
	}
	if err != nil {
		return WeatherPoint{}, false, fmt.Errorf("weather: latest reading of %s: %w", point, err)
	}
	return WeatherPoint{Point: point, Created: time.UnixMicro(created).UTC(), WeatherData: json.RawMessage(data)}, true, nil
}

// Add stores a reading. Its time is kept to the microsecond.
func (s *Store) Add(ctx context.Context, wp WeatherPoint) error {
	if !json.Valid(wp.WeatherData) {
		return fmt.Errorf("weather: reading of %s: weather data is not valid JSON", wp.Point)
	}
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO weather_point (point, created, weather_data) VALUES (?, ?, ?)`,
		wp.Point, wp.Created.UnixMicro(), string(wp.WeatherData))
	if err != nil {
		return fmt.Errorf("weather: add reading of %s: %w", wp.Point, err)
	}
	return nil
}
