package main

import (
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStoreDSN(t *testing.T) {
	tests := []struct {
		path, dsn, err string
	}{
		{path: "/tmp/w.db", dsn: "/tmp/w.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"},
		{path: ":memory:", dsn: ":memory:"},
		{path: "file:w.db?mode=ro", dsn: "file:w.db?mode=ro"},
		{path: "", err: "weather: empty database path"},
		{path: "what?.db", err: `weather: database path "what?.db" contains '?'; use a file: URI`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			dsn, err := storeDSN(tt.path)
			if tt.err != "" {
				assert.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.dsn, dsn)
		})
	}
}

func TestStoreLatest(t *testing.T) {
	store := openStore(t)
	_, ok, err := store.Latest(t.Context(), "1.00,2.00")
	require.NoError(t, err)
	assert.False(t, ok, "no reading yet")

	newest := WeatherPoint{Point: "1.00,2.00", Created: at.Add(time.Microsecond), WeatherData: json.RawMessage(`{"current":{"n":2}}`)}
	older := WeatherPoint{Point: "1.00,2.00", Created: at, WeatherData: json.RawMessage(`{"current":{"n":1}}`)}
	other := WeatherPoint{Point: "1.00,2.01", Created: at.Add(time.Hour), WeatherData: json.RawMessage(`{"current":{"n":3}}`)}
	for _, wp := range []WeatherPoint{newest, older, other} {
		require.NoError(t, store.Add(t.Context(), wp))
	}
	got, ok, err := store.Latest(t.Context(), "1.00,2.00")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, newest, got, "newest by created, a microsecond apart, whatever the insert order")
}

func TestStoreRejectsBadData(t *testing.T) {
	store := openStore(t)
	err := store.Add(t.Context(), WeatherPoint{Point: "1.00,2.00", Created: at, WeatherData: json.RawMessage(`{"current":`)})
	assert.EqualError(t, err, "weather: reading of 1.00,2.00: weather data is not valid JSON")
	// The schema enforces it too, for rows written by other programs.
	_, err = store.db.ExecContext(t.Context(),
		`INSERT INTO weather_point (point, created, weather_data) VALUES ('x', 0, '{oops')`)
	assert.ErrorContains(t, err, "CHECK constraint failed")
}

func TestCurrent(t *testing.T) {
	_, err := WeatherPoint{Point: "p", WeatherData: json.RawMessage(`[1]`)}.Current()
	assert.ErrorContains(t, err, "weather: reading of p:")
	_, err = WeatherPoint{Point: "p", WeatherData: json.RawMessage(`{"hourly":1}`)}.Current()
	assert.EqualError(t, err, `weather: reading of p has no "current" object`)
	c, err := WeatherPoint{Point: "p", WeatherData: json.RawMessage(`{"current": {"a": 1}}`)}.Current()
	require.NoError(t, err)
	assert.JSONEq(t, `{"a":1}`, string(c))
}

// TestMemoryStoreIsOneDatabase holds the pool to its word: with ":memory:"
// every connection would otherwise be a new, empty database without the
// table, and concurrent queries open more connections.
func TestMemoryStoreIsOneDatabase(t *testing.T) {
	store, err := OpenStore(t.Context(), memoryDB)
	require.NoError(t, err)
	defer store.Close()
	require.NoError(t, store.Add(t.Context(), WeatherPoint{Point: "p", Created: at, WeatherData: json.RawMessage(`{"current":{}}`)}))

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			_, ok, err := store.Latest(t.Context(), "p")
			if err == nil && !ok {
				err = assert.AnError
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

func TestFileStoreIsShared(t *testing.T) {
	// The e2e test and `sqlite3` users write to the file the app reads.
	path := filepath.Join(t.TempDir(), "shared.db")
	a, err := OpenStore(t.Context(), path)
	require.NoError(t, err)
	defer a.Close()
	b, err := OpenStore(t.Context(), path)
	require.NoError(t, err)
	defer b.Close()
	wp := WeatherPoint{Point: "p", Created: at, WeatherData: json.RawMessage(`{"current":{}}`)}
	require.NoError(t, a.Add(t.Context(), wp))
	got, ok, err := b.Latest(t.Context(), "p")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, wp, got)
	var mode string
	require.NoError(t, b.db.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode))
	assert.Equal(t, "wal", mode)
}
