package fanout

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"testing/synctest"
)

// drained runs Drain on q until it returns and gives what it handed on.
func drained(t *testing.T, q *Queue[int]) ([]int, error) {
	t.Helper()
	var got []int
	err := q.Drain(t.Context(), func(v int, _ error) bool {
		got = append(got, v)
		return true
	})
	return got, err
}

func TestOverflowEndsAfterTheWaitingItems(t *testing.T) {
	var g Group[int]
	slow, fast := &Queue[int]{}, &Queue[int]{}
	g.Add(slow)
	g.Add(fast)
	for v := range 4 {
		g.Send(v, 3)
		if v < 3 {
			// The fast subscriber takes each item at once.
			if items, _, _ := fast.take(nil); len(items) != 1 {
				t.Fatalf("fast queue holds %v", items)
			}
			fast.waiting.Add(-1)
		}
	}
	if g.Len() != 1 {
		t.Fatalf("the group has %d queues after the overflow, want 1", g.Len())
	}
	got, err := drained(t, slow)
	if !slices.Equal(got, []int{0, 1, 2}) || !errors.Is(err, ErrOverflow) {
		t.Fatalf("the slow queue yielded %v, %v; want [0 1 2], ErrOverflow", got, err)
	}
}

func TestNoLimit(t *testing.T) {
	var g Group[int]
	q := &Queue[int]{}
	g.Add(q)
	for v := range 1000 {
		g.Send(v, Limit(-1))
	}
	q.End(errors.New("end"))
	got, err := drained(t, q)
	if len(got) != 1000 || err == nil || err.Error() != "end" {
		t.Fatalf("got %d items and %v, want 1000 and the end", len(got), err)
	}
}

func TestLimit(t *testing.T) {
	for in, want := range map[int]int{0: DefaultQueueLen, -5: -1, 7: 7} {
		if got := Limit(in); got != want {
			t.Errorf("Limit(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestCatchUpDiscardsInsteadOfEnding(t *testing.T) {
	var g Group[int]
	q := &Queue[int]{}
	q.StartCatchUp()
	g.Add(q)
	for v := range 5 {
		g.Send(v, 2)
	}
	// 0 and 1 were queued, 2 overflowed and discarded them, 3 and 4 fill
	// the queue again.
	var lost int
	if q.FinishCatchUp(func(l int, has bool) bool { lost = l; return !has }) {
		t.Fatalf("catch-up finished although items were lost")
	}
	if lost != 2 {
		t.Fatalf("the newest item lost is %d, want 2", lost)
	}
	if !q.FinishCatchUp(func(int, bool) bool { return true }) {
		t.Fatalf("catch-up did not finish")
	}
	g.Send(5, 2) // the queue is full again, now live: an overflow ends it
	got, err := drained(t, q)
	if !slices.Equal(got, []int{3, 4}) || !errors.Is(err, ErrOverflow) {
		t.Fatalf("got %v, %v; want [3 4], ErrOverflow", got, err)
	}
}

func TestRemoveKeepsTheOthers(t *testing.T) {
	var g Group[int]
	qs := []*Queue[int]{{}, {}, {}}
	for _, q := range qs {
		g.Add(q)
	}
	g.Remove(qs[0])
	g.Remove(qs[0]) // not in g any more: nothing happens
	g.Send(1, 10)
	g.End(errors.New("end"))
	qs[0].End(errors.New("end"))
	for i, q := range qs {
		got, _ := drained(t, q)
		if want := i > 0; (len(got) == 1) != want {
			t.Errorf("queue %d got %v", i, got)
		}
	}
}

func TestDrainStopsWithItsContext(t *testing.T) {
	var g Group[int]
	q := &Queue[int]{}
	g.Add(q)
	ctx, cancel := context.WithCancel(t.Context())
	g.Send(1, 10)
	err := q.Drain(ctx, func(int, error) bool { cancel(); return true })
	if err != nil {
		t.Fatalf("Drain returned %v after its context was done, want nil", err)
	}
}

// coalescerLog records Hold and Release between the items it sees.
type coalescerLog struct{ log []string }

func (c *coalescerLog) Hold()    { c.log = append(c.log, "hold") }
func (c *coalescerLog) Release() { c.log = append(c.log, "release") }

func TestDrainHoldsBatchesForItsCoalescer(t *testing.T) {
	co := &coalescerLog{}
	ctx := context.WithValue(t.Context(), CoalescerKey{}, Coalescer(co))
	var g Group[int]
	q := &Queue[int]{}
	g.Add(q)
	// One item alone is not held; three taken together are, and so are two
	// that yield refuses after the first of.
	g.Send(0, -1)
	step := 0
	err := q.Drain(ctx, func(v int, _ error) bool {
		co.log = append(co.log, strconv.Itoa(v))
		switch step++; step {
		case 1:
			for v := 1; v <= 3; v++ {
				g.Send(v, -1)
			}
		case 4:
			g.Send(4, -1)
			g.Send(5, -1)
		case 5:
			return false
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0", "hold", "1", "2", "3", "release", "hold", "4", "release"}
	if !slices.Equal(co.log, want) {
		t.Fatalf("got %v, want %v", co.log, want)
	}
}

// The queues of a Group share one wake-up: every Drain already waiting
// hears of a Send and of the Group's end, a queue the Group dropped still
// yields what it had, and a queue outside any Group waits on a wake-up of
// its own, which its End fires.
func TestWaitingDrainsWake(t *testing.T) {
	type result struct {
		got []int
		err error
	}
	drain := func(ctx context.Context, q *Queue[int], out chan<- result) {
		var got []int
		err := q.Drain(ctx, func(v int, _ error) bool {
			got = append(got, v)
			return true
		})
		out <- result{got, err}
	}
	synctest.Test(t, func(t *testing.T) {
		var g Group[int]
		fast := []*Queue[int]{{}, {}, {}}
		slow, alone := &Queue[int]{}, &Queue[int]{}
		out := make(chan result, len(fast))
		slowOut, aloneOut := make(chan result, 1), make(chan result, 1)
		for _, q := range fast {
			g.Add(q)
			go drain(t.Context(), q, out)
		}
		g.Add(slow)
		go drain(t.Context(), alone, aloneOut)
		synctest.Wait() // every Drain waits

		g.Send(1, 1)
		synctest.Wait() // the fast ones took it; slow has it waiting
		g.Send(2, 1)    // overflows slow, which leaves the Group
		if g.Len() != len(fast) {
			t.Fatalf("the group has %d queues, want %d", g.Len(), len(fast))
		}
		go drain(t.Context(), slow, slowOut)
		if r := <-slowOut; !slices.Equal(r.got, []int{1}) || !errors.Is(r.err, ErrOverflow) {
			t.Fatalf("the slow queue yielded %v, %v; want [1], ErrOverflow", r.got, r.err)
		}
		synctest.Wait()
		end := errors.New("end")
		g.End(end)
		for range fast {
			if r := <-out; !slices.Equal(r.got, []int{1, 2}) || r.err != end {
				t.Fatalf("a fast queue yielded %v, %v; want [1 2], end", r.got, r.err)
			}
		}
		alone.End(end)
		if r := <-aloneOut; len(r.got) != 0 || r.err != end {
			t.Fatalf("the queue outside the group yielded %v, %v; want nothing, end", r.got, r.err)
		}
	})
}
