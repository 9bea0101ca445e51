package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Second:        "30s",
		2 * time.Minute:         "2m",
		90 * time.Second:        "1m30s",
		time.Hour:               "1h",
		time.Hour + time.Minute: "1h1m",
		time.Hour + time.Second: "1h0m1s",
		500 * time.Millisecond:  "500ms",
	} {
		assert.Equal(t, want, shortDuration(d), "%v", d)
	}
}
