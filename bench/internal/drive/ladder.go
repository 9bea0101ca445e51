package drive

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/sseview/sseview/bench/internal/contestants"
	"github.com/sseview/sseview/bench/internal/serve"
)

// The high-rate fan-out: one fleet of subscribers, and publish rates that
// double from step to step until a step misses its mark. A step is
// sustained when every subscriber gets every event of the step, in order
// and intact, with a p99 publish-to-parse latency under ladderP99.
const ladderP99 = 100.0 // ms

// ladderSub is what one subscriber of the ladder saw. Its goroutine
// appends; the driver reads between steps, so it is locked.
type ladderSub struct {
	mu      sync.Mutex
	next    int64
	lat     []float64 // ms, every event so far, in order
	problem string
}

// ladderStep is the outcome of one rate.
type ladderStep struct {
	rate                       int
	delivered                  float64 // %
	p50, p99, max, cpuPerDeliv float64
	why                        string // why the step is not sustained, or ""
}

func (d *driver) fanoutLadder(c *contestants.Contestant) sample {
	return d.withServer(c, serve.RouterChi, false, func(s *server, smp *sample) {
		subs, size := d.cfg.FanoutSubs, d.cfg.FanoutSize
		logs := make([]ladderSub, subs)
		f := openFleet(s, c, subs, func(i int, seq, ts int64, data []byte) {
			if seq < 0 {
				return
			}
			now := time.Now().UnixNano()
			l := &logs[i]
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.problem == "" {
				if seq != l.next {
					l.problem = fmt.Sprintf("event %d arrived where %d was due", seq, l.next)
				} else if len(data) != size {
					l.problem = fmt.Sprintf("event %d is %d bytes, sent %d", seq, len(data), size)
				}
			}
			l.next = seq + 1
			l.lat = append(l.lat, float64(now-ts)/1e6)
		})
		defer f.close()
		if !f.waitFirst(s, c, d.cfg.FirstEventTimeout, nil) {
			smp.Problems = append(smp.Problems, f.problems()...)
			return
		}
		// Streams that end from here on (a subscriber dropped for being
		// slow) are a result of the rate, not an error of the harness.
		f.expectEnd()
		var steps []ladderStep
		from := 0
		for _, rate := range d.cfg.LadderRates {
			st, err := d.ladderStep(s, logs, from, rate, size)
			if err != nil {
				smp.problem("%v", err)
				return
			}
			steps = append(steps, st)
			from += rate * d.cfg.LadderSeconds
			if st.why != "" {
				break
			}
		}
		for i := range logs {
			if logs[i].problem != "" {
				// Order and integrity are never traded for speed.
				smp.problem("a subscriber saw events out of order or damaged: %s", logs[i].problem)
				break
			}
		}
		best := -1
		for i, st := range steps {
			if st.why == "" {
				best = i
			}
		}
		smp.set("tried_per_s", float64(steps[len(steps)-1].rate))
		if best < 0 {
			smp.set("sustained_per_s", 0)
			smp.Notes = append(smp.Notes, fmt.Sprintf("not even %d/s: %s", steps[0].rate, steps[0].why))
			return
		}
		b := steps[best]
		smp.set("sustained_per_s", float64(b.rate))
		smp.set("deliveries_per_s", float64(b.rate*subs))
		smp.set("p50_ms", b.p50)
		smp.set("p99_ms", b.p99)
		smp.set("max_ms", b.max)
		smp.set("cpu_us_per_delivery", b.cpuPerDeliv)
		if last := steps[len(steps)-1]; last.why != "" {
			smp.set("next_p99_ms", last.p99)
			smp.set("next_delivered_pct", last.delivered)
			smp.Notes = append(smp.Notes, fmt.Sprintf("at %d/s: %s", last.rate, last.why))
		}
	})
}

// ladderStep publishes events from..from+n-1 at rate and measures their
// delivery to every subscriber.
func (d *driver) ladderStep(s *server, logs []ladderSub, from, rate, size int) (ladderStep, error) {
	st := ladderStep{rate: rate}
	n := rate * d.cfg.LadderSeconds
	marks := make([]int, len(logs))
	for i := range logs {
		logs[i].mu.Lock()
		marks[i] = len(logs[i].lat)
		logs[i].mu.Unlock()
	}
	cpu0, err := s.cpuSeconds()
	if err != nil {
		return st, err
	}
	if err := s.runFrom(from, n, rate, size); err != nil {
		return st, err
	}
	want := int64(from + n)
	deadline := time.Now().Add(time.Duration(d.cfg.LadderSeconds)*time.Second + d.cfg.LadderGrace)
	for time.Now().Before(deadline) {
		behind := false
		for i := range logs {
			logs[i].mu.Lock()
			behind = logs[i].next < want
			logs[i].mu.Unlock()
			if behind {
				break
			}
		}
		if !behind {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cpu1, err := s.cpuSeconds()
	if err != nil {
		return st, err
	}
	rs, err := s.runStatus()
	if err != nil {
		return st, err
	}
	var lat []float64
	for i := range logs {
		logs[i].mu.Lock()
		lat = append(lat, logs[i].lat[marks[i]:]...)
		logs[i].mu.Unlock()
	}
	total := len(logs) * n
	st.delivered = float64(len(lat)) / float64(total) * 100
	if len(lat) > 0 {
		st.cpuPerDeliv = (cpu1 - cpu0) / float64(len(lat)) * 1e6
		slices.Sort(lat)
		q := func(p float64) float64 { return lat[min(len(lat)-1, int(math.Ceil(p*float64(len(lat))))-1)] }
		st.p50, st.p99, st.max = q(0.50), q(0.99), lat[len(lat)-1]
	}
	switch {
	case rs.Err != "":
		st.why = "Publish failed: " + rs.Err
	case rs.Published < int64(n):
		st.why = fmt.Sprintf("Publish blocked: %d of %d events published in time", rs.Published, n)
	case len(lat) < total:
		st.why = fmt.Sprintf("%.2f%% delivered", st.delivered)
	case st.p99 >= ladderP99:
		st.why = fmt.Sprintf("p99 %.0f ms", st.p99)
	}
	debugf("ladder %d/s: %+v", rate, st)
	return st, nil
}
