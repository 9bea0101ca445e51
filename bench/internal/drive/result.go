package drive

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/sseview/sseview/bench/internal/contestants"
)

// column is one measured figure of a scenario.
type column struct {
	Key    string
	Header string
	Format string // fmt verb for the median
	Ratio  bool   // also shown as a ratio to the mode's baseline
}

// scenario is one table of the report.
type scenario struct {
	Name        string
	Title       string
	Description string
	Columns     []column
	Contestants []*contestants.Contestant
	// Rounds, when set, replaces Config.Rounds for the scenario.
	Rounds int
	// WarmupRound runs every contestant once before the rounds, unmeasured,
	// so that the first measured round does not also warm up the machine
	// and the client (the server warms up in its own pass; see the method).
	WarmupRound bool
	// Spread shows every figure as its median with the lowest and highest
	// round in parentheses.
	Spread bool
	// run measures one contestant once, in round (from 0).
	run func(c *contestants.Contestant, round int) sample
}

// sample is one round of one contestant: its figures, what went wrong
// (which fails the round) and notes on the figures (which do not).
type sample struct {
	Metrics  map[string]float64
	Problems []string
	Notes    []string
}

func (s *sample) set(k string, v float64) {
	if s.Metrics == nil {
		s.Metrics = map[string]float64{}
	}
	s.Metrics[k] = v
}

func (s *sample) problem(format string, args ...any) {
	s.Problems = append(s.Problems, fmt.Sprintf(format, args...))
}

// Result is one scenario × contestant in bench/results/latest.json.
type Result struct {
	Scenario   string             `json:"scenario"`
	Contestant string             `json:"contestant"`
	Mode       string             `json:"mode"`
	Baseline   string             `json:"baseline"`
	Rounds     int                `json:"rounds"`
	OK         bool               `json:"ok"`
	Status     string             `json:"status"`
	Medians    map[string]float64 `json:"medians"`
	// Ratios is the median, over the rounds, of each round's figure over
	// the baseline's in the same round: rounds interleave the contestants,
	// so a round's ratio compares runs made under the same load.
	Ratios map[string]float64 `json:"ratios_to_baseline"`
	// RoundRatios are those ratios round by round.
	RoundRatios map[string][]float64 `json:"round_ratios,omitempty"`
	Samples     []map[string]float64 `json:"samples"`
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func baselineOf(m contestants.Mode) string {
	for _, c := range contestants.All() {
		if c.Mode == m && c.Baseline {
			return c.Name
		}
	}
	return ""
}

// summarize turns the rounds of every contestant into results.
func summarize(sc *scenario, samples map[string][]sample) []Result {
	var out []Result
	for _, c := range sc.Contestants {
		r := Result{Scenario: sc.Name, Contestant: c.Name, Mode: string(c.Mode), Baseline: baselineOf(c.Mode),
			Medians: map[string]float64{}, Ratios: map[string]float64{}}
		ss := samples[c.Name]
		r.Rounds = len(ss)
		var problems, notes []string
		bad := 0
		for _, s := range ss {
			r.Samples = append(r.Samples, s.Metrics)
			for _, n := range s.Notes {
				if !slices.Contains(notes, n) {
					notes = append(notes, n)
				}
			}
			if len(s.Problems) > 0 {
				bad++
				for _, p := range s.Problems {
					if !slices.Contains(problems, p) {
						problems = append(problems, p)
					}
				}
			}
		}
		for _, col := range sc.Columns {
			var xs []float64
			for _, s := range ss {
				if v, ok := s.Metrics[col.Key]; ok && !math.IsNaN(v) {
					xs = append(xs, v)
				}
			}
			if len(xs) > 0 {
				r.Medians[col.Key] = median(xs)
			}
		}
		switch {
		case c.Unavailable != "":
			r.Status = "not available: " + c.Unavailable
		case bad > 0:
			if len(problems) > 3 {
				problems = append(problems[:3], fmt.Sprintf("and %d more", len(problems)-3))
			}
			r.Status = fmt.Sprintf("FAILED %d/%d rounds: %s", bad, len(ss), strings.Join(problems, "; "))
		default:
			r.OK = true
			r.Status = "ok"
			if len(notes) > 0 {
				if len(notes) > 3 {
					notes = append(notes[:3], fmt.Sprintf("and %d more", len(notes)-3))
				}
				r.Status += "; " + strings.Join(notes, "; ")
			}
		}
		out = append(out, r)
	}
	for i := range out {
		var base *Result
		for j := range out {
			if out[j].Contestant == out[i].Baseline {
				base = &out[j]
			}
		}
		if base == nil {
			continue
		}
		for _, col := range sc.Columns {
			if !col.Ratio {
				continue
			}
			var rr []float64
			for round := range min(len(out[i].Samples), len(base.Samples)) {
				v, ok1 := out[i].Samples[round][col.Key]
				b, ok2 := base.Samples[round][col.Key]
				if ok1 && ok2 && b != 0 && !math.IsNaN(v) && !math.IsNaN(b) {
					rr = append(rr, v/b)
				}
			}
			if len(rr) > 0 {
				out[i].Ratios[col.Key] = median(rr)
				if out[i].RoundRatios == nil {
					out[i].RoundRatios = map[string][]float64{}
				}
				out[i].RoundRatios[col.Key] = rr
			}
		}
	}
	return out
}

// spread returns the lowest and highest of figure key over samples, and how
// many samples have it.
func spread(samples []map[string]float64, key string) (lo, hi float64, n int) {
	for _, s := range samples {
		v, ok := s[key]
		if !ok || math.IsNaN(v) {
			continue
		}
		if n == 0 || v < lo {
			lo = v
		}
		if n == 0 || v > hi {
			hi = v
		}
		n++
	}
	return lo, hi, n
}

// markdown renders one scenario's results as a table.
func markdown(sc *scenario, rs []Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n%s\n\n", sc.Title, sc.Description)
	b.WriteString("| contestant | mode |")
	sep := "|---|---|"
	for _, col := range sc.Columns {
		fmt.Fprintf(&b, " %s |", col.Header)
		sep += "---:|"
		if col.Ratio {
			b.WriteString(" × base |")
			sep += "---:|"
		}
	}
	b.WriteString(" status |\n" + sep + "---|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %s |", r.Contestant, r.Mode)
		for _, col := range sc.Columns {
			if v, ok := r.Medians[col.Key]; ok {
				fmt.Fprintf(&b, " "+col.Format, v)
				if lo, hi, n := spread(r.Samples, col.Key); sc.Spread && n > 1 {
					fmt.Fprintf(&b, " ("+col.Format+"–"+col.Format+")", lo, hi)
				}
				b.WriteString(" |")
			} else {
				b.WriteString(" – |")
			}
			if col.Ratio {
				if v, ok := r.Ratios[col.Key]; ok {
					fmt.Fprintf(&b, " %.2f", v)
					if rr := r.RoundRatios[col.Key]; sc.Spread && len(rr) > 1 {
						fmt.Fprintf(&b, " (%.2f–%.2f)", slices.Min(rr), slices.Max(rr))
					}
					b.WriteString(" |")
				} else {
					b.WriteString(" – |")
				}
			}
		}
		fmt.Fprintf(&b, " %s |\n", strings.ReplaceAll(r.Status, "|", "/"))
	}
	return b.String()
}

// quartiles returns the first and third quartiles of xs, interpolated
// between the sorted values (NaN for an empty xs).
func quartiles(xs []float64) (q1, q3 float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	at := func(q float64) float64 {
		pos := q * float64(len(s)-1)
		i := int(pos)
		if i+1 >= len(s) {
			return s[len(s)-1]
		}
		return s[i] + (pos-float64(i))*(s[i+1]-s[i])
	}
	return at(0.25), at(0.75)
}

// spreads returns two measures of how much xs vary, each relative to their
// median: the range, (highest − lowest), which one disturbed value sets,
// and the interquartile range, which the middle half of the values set, as
// the median does. Both are NaN with fewer than two values.
func spreads(xs []float64) (rangeRel, iqrRel float64) {
	if len(xs) < 2 {
		return math.NaN(), math.NaN()
	}
	m := median(xs)
	q1, q3 := quartiles(xs)
	return (slices.Max(xs) - slices.Min(xs)) / m, (q3 - q1) / m
}

// values returns figure key of every sample that has it.
func values(samples []map[string]float64, key string) []float64 {
	var xs []float64
	for _, s := range samples {
		if v, ok := s[key]; ok && !math.IsNaN(v) {
			xs = append(xs, v)
		}
	}
	return xs
}

// spreadMarkdown is the table of how much the per-request baseline and the
// per-round ratios of the sseview contestants varied between rounds: the
// noise the method has to be robust to.
func spreadMarkdown(rs []Result) string {
	var b strings.Builder
	b.WriteString("### Round-to-round spread of the throughput figures\n\n" +
		"Each cell is two spreads over the rounds, in % of the median: the range (highest − lowest), which a " +
		"single disturbed round sets, then the interquartile range, which the middle half of the rounds set, " +
		"as they set the median. Figures: `raw`'s own, and the per-round ratios of `sseview-bytes` and " +
		"`sseview` to `raw` (the × base column). How much the medians themselves move between whole runs " +
		"is what `ssebench run -repeat` measures (see the method).\n\n" +
		"| scenario | raw CPU/event pinned | raw events/s pinned | sseview-bytes CPU ratio pinned " +
		"| sseview CPU ratio pinned | sseview-bytes events/s ratio pinned | raw CPU/event unpinned |\n" +
		"|---|---:|---:|---:|---:|---:|---:|\n")
	cell := func(xs []float64) string {
		r, q := spreads(xs)
		if math.IsNaN(r) {
			return "–"
		}
		return fmt.Sprintf("%.1f / %.1f", r*100, q*100)
	}
	ratios := func(r *Result, key string) []float64 {
		if r == nil {
			return nil
		}
		return r.RoundRatios[key]
	}
	for _, r := range rs {
		if r.Contestant != "raw" || !strings.HasPrefix(r.Scenario, "throughput-") {
			continue
		}
		by, sv := find(rs, r.Scenario, "sseview-bytes"), find(rs, r.Scenario, "sseview")
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", r.Scenario,
			cell(values(r.Samples, "cpu_us_per_event")), cell(values(r.Samples, "events_per_s")),
			cell(ratios(by, "cpu_us_per_event")), cell(ratios(sv, "cpu_us_per_event")),
			cell(ratios(by, "events_per_s")), cell(values(r.Samples, "cpu_us_per_event_unpinned")))
	}
	return b.String()
}
