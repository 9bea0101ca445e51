package drive

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Repeat is how much one figure that the throughput targets are judged on
// varied between repetitions of the whole measurement (ssebench run
// -repeat): the verification that the method settles a target, where the
// spread between rounds only says how noisy single rounds are.
type Repeat struct {
	Scenario string    `json:"scenario"`
	Figure   string    `json:"figure"`
	Values   []float64 `json:"values"` // one per repetition, in order
	// Spread is (highest − lowest) / median of Values.
	Spread float64 `json:"spread"`
}

// repeatedFigures are the figures checked between repetitions: raw's
// medians, and the ratios (medians of per-round ratios) the targets use.
var repeatedFigures = []struct {
	contestant, key string
	ratio           bool
}{
	{"raw", "cpu_us_per_event", false},
	{"raw", "events_per_s", false},
	{"sseview-bytes", "cpu_us_per_event", true},
	{"sseview-bytes", "events_per_s", true},
	{"sseview", "cpu_us_per_event", true},
	{"sseview", "events_per_s", true},
}

// repeatability compares the throughput results of every repetition in
// runs. A figure missing from any repetition is left out.
func repeatability(runs [][]Result) []Repeat {
	var out []Repeat
	if len(runs) < 2 {
		return nil
	}
	for _, r := range runs[0] {
		if r.Contestant != "raw" || !strings.HasPrefix(r.Scenario, "throughput-") {
			continue
		}
		for _, f := range repeatedFigures {
			rp := Repeat{Scenario: r.Scenario, Figure: f.contestant + " " + f.key}
			if f.ratio {
				rp.Figure += " × raw"
			}
			for _, run := range runs {
				res := find(run, r.Scenario, f.contestant)
				if res == nil {
					break
				}
				figs := res.Medians
				if f.ratio {
					figs = res.Ratios
				}
				v, ok := figs[f.key]
				if !ok || math.IsNaN(v) {
					break
				}
				rp.Values = append(rp.Values, v)
			}
			if len(rp.Values) != len(runs) {
				continue
			}
			rp.Spread = (slices.Max(rp.Values) - slices.Min(rp.Values)) / median(rp.Values)
			out = append(out, rp)
		}
	}
	return out
}

func repeatabilityMarkdown(rs []Repeat) string {
	var b strings.Builder
	b.WriteString("### Repeatability: the medians of whole repetitions of the measurement\n\n" +
		"Each figure as the targets use it (a median of rounds, or the median of per-round ratios to raw), " +
		"once per repetition, and its spread between repetitions, (highest − lowest) / median.\n\n" +
		"| scenario | figure | per repetition | spread % |\n|---|---|---|---:|\n")
	worst := map[string]float64{}
	var order []string
	for _, r := range rs {
		var vs []string
		for _, v := range r.Values {
			vs = append(vs, fmt.Sprintf("%.4g", v))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f |\n", r.Scenario, r.Figure, strings.Join(vs, ", "), r.Spread*100)
		if _, ok := worst[r.Figure]; !ok {
			order = append(order, r.Figure)
		}
		worst[r.Figure] = max(worst[r.Figure], r.Spread)
	}
	b.WriteString("\nWidest spread over the scenarios:")
	for i, f := range order {
		sep := ";"
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(&b, "%s %s %.1f%%", sep, f, worst[f]*100)
	}
	b.WriteString("\n")
	return b.String()
}
