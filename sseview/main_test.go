package sseview_test

import (
	"log"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when any test leaves a goroutine behind: a stream
// that outlives its client is the bug this package exists to prevent.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// discardLog swallows chi's and net/http's own logging in tests that
// provoke it on purpose.
type discardLog struct{}

func (discardLog) Print(...any) {}

func (discardLog) Write(p []byte) (int, error) { return len(p), nil }

func (d discardLog) logger() *log.Logger { return log.New(d, "", 0) }
