package drive

import (
	"strings"
	"testing"
)

// The verification compares, between repetitions, exactly the figures the
// targets are judged on: raw's medians and the medians of per-round ratios.
func TestRepeatabilityComparesTheJudgedFigures(t *testing.T) {
	run := func(rawCPU, ratio float64) []Result {
		return []Result{
			{Scenario: "throughput-1x64B", Contestant: "raw",
				Medians: map[string]float64{"cpu_us_per_event": rawCPU, "events_per_s": 6e5},
				Ratios:  map[string]float64{"cpu_us_per_event": 1, "events_per_s": 1}},
			{Scenario: "throughput-1x64B", Contestant: "sseview-bytes",
				Medians: map[string]float64{"cpu_us_per_event": 99, "events_per_s": 1},
				Ratios:  map[string]float64{"cpu_us_per_event": ratio, "events_per_s": 0.9}},
			{Scenario: "idle-chi", Contestant: "raw", Medians: map[string]float64{"rss_kib_per_conn": 27}},
		}
	}
	rs := repeatability([][]Result{run(1.40, 1.10), run(1.33, 1.14), run(1.36, 1.16)})
	byFigure := map[string]Repeat{}
	for _, r := range rs {
		if r.Scenario != "throughput-1x64B" {
			t.Errorf("figure of %s compared", r.Scenario)
		}
		byFigure[r.Figure] = r
	}
	raw, ok := byFigure["raw cpu_us_per_event"]
	if !ok || !near(raw.Spread, (1.40-1.33)/1.36) {
		t.Errorf("raw CPU: %+v, want spread %v", raw, (1.40-1.33)/1.36)
	}
	ratio, ok := byFigure["sseview-bytes cpu_us_per_event × raw"]
	if !ok || !near(ratio.Spread, (1.16-1.10)/1.14) {
		t.Errorf("ratio: %+v, want spread %v", ratio, (1.16-1.10)/1.14)
	}
	if eps := byFigure["sseview-bytes events_per_s × raw"]; eps.Spread != 0 || len(eps.Values) != 3 {
		t.Errorf("events/s ratio: %+v, want three equal values", eps)
	}
	if _, ok := byFigure["sseview cpu_us_per_event × raw"]; ok {
		t.Error("a contestant that did not run is compared")
	}
	md := repeatabilityMarkdown(rs)
	if !strings.Contains(md, "| throughput-1x64B | raw cpu_us_per_event | 1.4, 1.33, 1.36 | 5.1 |") {
		t.Errorf("markdown lacks raw's row:\n%s", md)
	}
	if repeatability([][]Result{run(1, 1)}) != nil {
		t.Error("one repetition compared with itself")
	}
}
