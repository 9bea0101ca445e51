package sseview

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// logRecorder collects a Handler's log output as text.
type logRecorder struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (l *logRecorder) logger() *slog.Logger {
	l.mu.Lock()
	if l.changed == nil {
		l.changed = make(chan struct{}, 1)
	}
	l.mu.Unlock()
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (l *logRecorder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return l.buf.Write(p)
}

func (l *logRecorder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor waits until the log holds want, failing the test after timeout.
func (l *logRecorder) waitFor(t *testing.T, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if s := l.String(); strings.Contains(s, want) {
			return s
		}
		select {
		case <-l.changed:
		case <-deadline.C:
			t.Fatalf("log never said %q; it holds:\n%s", want, l.String())
		}
	}
}
