package sseviewtest_test

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a test leaves a goroutine behind: the kit
// promises that Close leaves none.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// recordingTB is a testing.TB that records failures instead of failing the
// run, to test that the kit's helpers fail, and how. Its Fatalf ends the
// goroutine like the real one, so call helpers under it through runTB.
type recordingTB struct {
	testing.TB // nil: a method the kit should not call panics
	mu         sync.Mutex
	fatals     []string
	errors     []string
	cleanups   []func()
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *recordingTB) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

func (r *recordingTB) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// runTB runs fn with a recordingTB on a goroutine of its own, then its
// cleanups, last registered first, as the testing package does, and returns
// the one fatal failure it recorded, or "" when it passed, and the errors.
// fn must not wait on anything without a deadline.
func runTB(fn func(tb testing.TB)) (fatal string, errs []string) {
	tb := &recordingTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(tb)
	}()
	<-done
	for i := len(tb.cleanups) - 1; i >= 0; i-- {
		tb.cleanups[i]()
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.fatals) > 1 {
		panic("more than one Fatalf")
	}
	if len(tb.fatals) == 1 {
		fatal = tb.fatals[0]
	}
	return fatal, tb.errors
}
