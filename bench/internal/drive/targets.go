package drive

import (
	"fmt"
	"strings"
)

// Target is one of the targets for sseview, judged on the medians.
type Target struct {
	Scenario string `json:"scenario"`
	Target   string `json:"target"`
	Status   string `json:"status"` // met, missed, or n/a
	Figure   string `json:"figure"`
}

func find(rs []Result, scenario, contestant string) *Result {
	for i := range rs {
		if rs[i].Scenario == scenario && rs[i].Contestant == contestant {
			return &rs[i]
		}
	}
	return nil
}

func targets(rs []Result) []Target {
	var out []Target
	add := func(sc, target string, ok bool, figure string, args ...any) {
		st := "missed"
		if ok {
			st = "met"
		}
		out = append(out, Target{sc, target, st, fmt.Sprintf(figure, args...)})
	}
	na := func(sc, target, why string) { out = append(out, Target{sc, target, "n/a", why}) }
	// usable returns the result of c if it ran, or records why not.
	usable := func(sc, target, c string) *Result {
		r := find(rs, sc, c)
		switch {
		case r == nil:
			na(sc, target, "not run")
			return nil
		case strings.HasPrefix(r.Status, "not available"):
			na(sc, target, r.Status)
			return nil
		}
		return r
	}
	// peers compares sseview's figure with each peer's: better says which
	// way is better.
	peers := func(sc, target, self, key string, better func(a, b float64) bool, names ...string) {
		s := usable(sc, target, self)
		if s == nil {
			return
		}
		v, ok := s.Medians[key]
		if !ok {
			na(sc, target, "no figure: "+s.Status)
			return
		}
		met := s.OK
		var figs []string
		compared := 0
		for _, n := range names {
			p := find(rs, sc, n)
			if p == nil {
				figs = append(figs, n+" not run")
				continue
			}
			pv, ok := p.Medians[key]
			if !ok {
				figs = append(figs, n+" has no figure")
				continue
			}
			compared++
			if !better(v, pv) {
				met = false
			}
			figs = append(figs, fmt.Sprintf("%s %.4g", n, pv))
		}
		if compared == 0 {
			// Ahead of nobody proves nothing.
			na(sc, target, fmt.Sprintf("%s %.4g vs %s", self, v, strings.Join(figs, ", ")))
			return
		}
		add(sc, target, met, "%s %.4g vs %s", self, v, strings.Join(figs, ", "))
	}
	ratio := func(sc, target, self, key string, limit float64, atLeast bool) {
		s := usable(sc, target, self)
		if s == nil {
			return
		}
		r, ok := s.Ratios[key]
		if !ok {
			na(sc, target, "no ratio: "+s.Status)
			return
		}
		met := s.OK && ((atLeast && r >= limit) || (!atLeast && r <= limit))
		add(sc, target, met, "%.2f× %s (%s: %s)", r, s.Baseline, self, s.Status)
	}
	higher := func(a, b float64) bool { return a >= b }
	lower := func(a, b float64) bool { return a <= b }
	for _, prefix := range []string{"throughput-", "throughput-mw-"} {
		for _, cell := range []string{"1x64B", "1x1024B", "64x64B", "64x1024B"} {
			sc := prefix + cell
			if find(rs, sc, "raw") == nil {
				continue
			}
			for _, self := range []string{"sseview-bytes", "sseview"} {
				ratio(sc, "CPU per event ≤ 1.10× raw, pinned ("+self+")", self, "cpu_us_per_event", 1.1, false)
				ratio(sc, "events/s ≥ 0.95× raw, pinned ("+self+")", self, "events_per_s", 0.95, true)
				if prefix == "throughput-" {
					peers(sc, "events/s ≥ every peer, pinned ("+self+")", self, "events_per_s", higher, "go-sse", "render")
					peers(sc, "CPU per event ≤ every peer's, pinned ("+self+")", self, "cpu_us_per_event", lower, "go-sse", "render")
				}
			}
		}
	}
	for _, sc := range []string{"idle-chi", "idle-chi-middleware"} {
		if find(rs, sc, "raw") == nil {
			continue
		}
		ratio(sc, "RSS/conn ≤ 1.00× raw", "sseview", "rss_kib_per_conn", 1.0, false)
		ratio(sc, "RSS/conn ≤ 1.00× raw, without EndStreamsOnShutdown", "sseview-plain", "rss_kib_per_conn", 1.0, false)
		peers(sc, "RSS/conn ≤ every per-request peer", "sseview", "rss_kib_per_conn", lower, "go-sse", "render")
		peers(sc, "RSS/conn ≤ go-sse's broadcast server", "sseview-broker", "rss_kib_per_conn", lower, "go-sse-server")
		peers(sc, "RSS/conn ≤ every broadcast peer", "sseview-broker", "rss_kib_per_conn", lower, "go-sse-server", "r3labs")
	}
	if find(rs, "fanout", "hub") != nil {
		ratio("fanout", "p99 ≤ 1.1× hub, 100% delivered", "sseview-broker", "p99_ms", 1.1, false)
		peers("fanout", "p99 ≤ every peer's", "sseview-broker", "p99_ms", lower, "go-sse-server", "r3labs")
	}
	if find(rs, "fanout-rate", "hub") != nil {
		ratio("fanout-rate", "sustained rate ≥ 1.5× hub's, in order, p99 < 100 ms", "sseview-broker", "sustained_per_s", 1.5, true)
		peers("fanout-rate", "sustained rate ≥ every peer's", "sseview-broker", "sustained_per_s", higher, "go-sse-server", "r3labs")
	}
	if s := find(rs, "slow-consumer", "sseview-broker"); s != nil {
		if strings.HasPrefix(s.Status, "not available") {
			na("slow-consumer", "others' p99 ≤ 1.5× fan-out p99, 100% delivered", s.Status)
		} else if v, ok := s.Medians["p99_vs_fanout"]; ok {
			add("slow-consumer", "others' p99 ≤ 1.5× fan-out p99, 100% delivered", s.OK && v <= 1.5,
				"%.2f× its fan-out p99, %.2f%% delivered (%s)", v, s.Medians["delivered_pct"], s.Status)
		} else {
			na("slow-consumer", "others' p99 ≤ 1.5× fan-out p99, 100% delivered", "no figure: "+s.Status)
		}
	}
	for _, c := range []string{"sseview", "sseview-broker"} {
		if s := usable("churn", "no growth ("+c+")", c); s != nil {
			add("churn", "no growth ("+c+")", s.OK, "goroutines %.0f → %.0f, heap %.0f → %.0f KiB (%s)",
				s.Medians["goroutines_before"], s.Medians["goroutines_after"],
				s.Medians["heap_before_kib"], s.Medians["heap_after_kib"], s.Status)
		}
		if s := usable("shutdown", "Shutdown < 1 s ("+c+")", c); s != nil {
			v, ok := s.Medians["shutdown_s"]
			add("shutdown", "Shutdown < 1 s ("+c+")", ok && s.OK && v < 1, "%.3f s (%s)", v, s.Status)
		}
	}
	return out
}

func targetsMarkdown(ts []Target) string {
	var b strings.Builder
	b.WriteString("### Targets for sseview\n\n| scenario | target | | figure |\n|---|---|---|---|\n")
	for _, t := range ts {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Scenario, t.Target, t.Status, strings.ReplaceAll(t.Figure, "|", "/"))
	}
	return b.String()
}
