package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSimulateIsDeterministic(t *testing.T) {
	a, err := Simulate("51.51,-0.13", at)
	require.NoError(t, err)
	b, err := Simulate("51.51,-0.13", at)
	require.NoError(t, err)
	assert.Equal(t, a, b, "same point and time")

	later, err := Simulate("51.51,-0.13", at.Add(time.Second))
	require.NoError(t, err)
	assert.NotEqual(t, string(a.WeatherData), string(later.WeatherData), "another second")
	elsewhere, err := Simulate("51.51,-0.14", at)
	require.NoError(t, err)
	assert.NotEqual(t, string(a.WeatherData), string(elsewhere.WeatherData), "another point")
}

func TestSimulateIsPlausible(t *testing.T) {
	conditions := map[string]bool{"Snow": true, "Rain": true, "Drizzle": true, "Overcast": true,
		"Partly cloudy": true, "Windy": true, "Clear": true}
	for _, point := range []string{"90.00,180.00", "-90.00,-180.00", "0.00,0.00", "51.51,-0.13", "-33.87,151.21"} {
		for h := range 24 * 14 { // every hour of two weeks, across the seasons
			when := at.Add(time.Duration(h) * 13 * time.Hour)
			wp, err := Simulate(point, when)
			require.NoError(t, err)
			assert.Equal(t, point, wp.Point)
			assert.Equal(t, when, wp.Created)
			var doc struct{ Current Current }
			require.NoError(t, json.Unmarshal(wp.WeatherData, &doc))
			c := doc.Current
			where := fmt.Sprintf("%s at %v: %+v", point, when, c)
			assert.True(t, c.Time.Equal(when.Truncate(time.Second)), where)
			assert.InDelta(t, 0, c.TemperatureC, 60, where)
			assert.True(t, c.HumidityPct >= 8 && c.HumidityPct <= 100, where)
			assert.True(t, c.WindKmh >= 0 && c.WindKmh < 80, where)
			assert.True(t, c.WindDirection >= 0 && c.WindDirection < 360, where)
			assert.True(t, conditions[c.Condition], where)
		}
	}
}

func TestSimulateWarmerAtTheEquator(t *testing.T) {
	temp := func(point string) float64 {
		wp, err := Simulate(point, at)
		require.NoError(t, err)
		var doc struct{ Current Current }
		require.NoError(t, json.Unmarshal(wp.WeatherData, &doc))
		return doc.Current.TemperatureC
	}
	assert.Greater(t, temp("0.00,0.00"), temp("64.15,0.00"))
	assert.Greater(t, temp("64.15,0.00"), temp("-89.00,0.00"), "July: southern winter")
}

func TestSimulateBadPoint(t *testing.T) {
	for _, p := range []string{"", "1.00", "x,1.00", "1.00,y"} {
		_, err := Simulate(p, at)
		assert.ErrorContains(t, err, "is not \"lat,lng\"", p)
	}
}

func TestRoundWritesEveryWatchedPoint(t *testing.T) {
	store := openStore(t)
	now := at
	updater := &Updater{Store: store, Interval: time.Hour, Now: func() time.Time { return now }}
	stopA := updater.Watch(t.Context(), "1.00,1.00")
	stopB := updater.Watch(t.Context(), "2.00,2.00")
	stopA2 := updater.Watch(t.Context(), "1.00,1.00")
	stopA()
	stopA() // idempotent: the second stream of 1.00,1.00 still counts
	defer stopA2()
	defer stopB()

	now = at.Add(time.Minute)
	updater.Round(t.Context())
	for _, p := range []string{"1.00,1.00", "2.00,2.00"} {
		wp, ok, err := store.Latest(t.Context(), p)
		require.NoError(t, err)
		require.True(t, ok)
		want, err := Simulate(p, now)
		require.NoError(t, err)
		assert.Equal(t, want, wp)
	}
}

func TestUpdaterRunStopsWithContext(t *testing.T) {
	store := openStore(t)
	updater := &Updater{Store: store, Interval: time.Millisecond}
	defer updater.Watch(t.Context(), "3.00,3.00")()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		updater.Run(ctx)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Run did not return")
	}
}
