// Package drive is the bench driver and load client: it starts one server
// process per contestant and scenario, loads it over 127.0.0.1, checks
// every event, and writes the report.
package drive

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/sseview/sseview/bench/internal/contestants"
	"github.com/sseview/sseview/bench/internal/serve"
)

// Report is bench/results/latest.json.
type Report struct {
	Date             string  `json:"date"`
	GoVersion        string  `json:"go_version"`
	CPU              string  `json:"cpu"`
	CPUs             int     `json:"cpus"`
	Mode             string  `json:"mode"`
	Rounds           int     `json:"rounds"`
	ThroughputRounds int     `json:"throughput_rounds"`
	UnpinnedRounds   int     `json:"unpinned_rounds"`
	ThroughputEvents int     `json:"throughput_events"`
	ThroughputWarmup int     `json:"throughput_warmup"`
	Seconds          float64 `json:"seconds"`
	// LoadBefore and LoadAfter are /proc/loadavg's 1, 5 and 15 minute
	// load averages at the start and the end of the run: how busy the
	// machine was with other work.
	LoadBefore string   `json:"load_before"`
	LoadAfter  string   `json:"load_after"`
	Results    []Result `json:"results"`
	Targets    []Target `json:"targets"`
	// Repeats, with -repeat, is how much each throughput figure's median
	// varied between the repetitions of the whole measurement.
	Repeats []Repeat `json:"repeats,omitempty"`
}

// Main runs the driver with the command-line arguments after "run".
func Main(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	smoke := fs.Bool("smoke", false, "one round with small counts (CI)")
	rounds := fs.Int("rounds", 0, "rounds of every scenario (default 3, 7 for throughput and 2 for the high-rate fan-out, or 1 with -smoke)")
	only := fs.String("only", "", "run only the scenarios whose name contains this")
	who := fs.String("contestants", "", "run only these contestants (comma-separated names)")
	jsonOut := fs.String("json", "", "write the results as JSON to this file")
	mdOut := fs.String("md", "", "write BENCHMARKS.md to this file")
	strict := fs.Bool("strict", false, "fail when a baseline or sseview contestant fails (CI)")
	events := fs.Int("events", 0, "events per measured throughput run at 64 B, half of it at 1 KiB (default 600,000, or 10,000 with -smoke)")
	warmup := fs.Int("warmup", -1, "events of the unmeasured pass before each throughput run, half of it at 1 KiB (default 50,000, or 1,000 with -smoke; 0: none)")
	unpinned := fs.Int("unpinned", -1, "how many of the throughput rounds (the first) also run unpinned (default 3, or 0 with -smoke)")
	repeat := fs.Int("repeat", 1, "run the whole measurement this many times and report how much each medians-based figure of the throughput scenarios varies between the runs (the method's verification); the tables and files are the first run's")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := Full
	mode := "full"
	if *smoke {
		cfg, mode = Smoke, "smoke"
	}
	if *rounds > 0 {
		cfg.Rounds, cfg.ThroughputRounds, cfg.LadderRounds = *rounds, *rounds, *rounds
	}
	if *events > 0 {
		cfg.ThroughputEvents = *events
	}
	if *warmup >= 0 {
		cfg.ThroughputWarmup = *warmup
	}
	if *unpinned >= 0 {
		cfg.UnpinnedRounds = *unpinned
	}
	*repeat = max(*repeat, 1)
	// The client holds one descriptor per stream, plus slack.
	if err := serve.RaiseFileLimit(uint64(cfg.IdleConns) + 1000); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	start := time.Now()
	rep := Report{
		Date: start.UTC().Format("2006-01-02 15:04 UTC"), GoVersion: runtime.Version(),
		CPU: cpuModel(), CPUs: runtime.NumCPU(), Mode: mode, Rounds: cfg.Rounds, ThroughputRounds: cfg.ThroughputRounds,
		UnpinnedRounds: min(cfg.UnpinnedRounds, cfg.ThroughputRounds), ThroughputEvents: cfg.ThroughputEvents,
		ThroughputWarmup: cfg.ThroughputWarmup, LoadBefore: loadAverage(),
	}
	fmt.Printf("# sseview bench (%s: %d round(s), %d for throughput, %d of them also unpinned; %d events per throughput run after %d unmeasured), %s, %s, %d × %s\n\n",
		mode, cfg.Rounds, cfg.ThroughputRounds, rep.UnpinnedRounds, cfg.ThroughputEvents, cfg.ThroughputWarmup,
		rep.Date, rep.GoVersion, rep.CPUs, rep.CPU)
	var tables []string
	var runs [][]Result
	for r := range *repeat {
		if *repeat > 1 {
			fmt.Printf("## Repetition %d of %d (load average %s)\n\n", r+1, *repeat, loadAverage())
		}
		d := &driver{self: self, cfg: cfg, fanoutP99: map[string]float64{}, cpus: allCPUs()}
		var results []Result
		for _, sc := range d.scenarios() {
			if *only != "" && !strings.Contains(sc.Name, *only) {
				continue
			}
			rs := d.measure(sc, *who)
			results = append(results, rs...)
			t := markdown(sc, rs)
			if r == 0 {
				tables = append(tables, t)
			}
			fmt.Println(t)
		}
		runs = append(runs, results)
		if *repeat > 1 {
			fmt.Println(spreadMarkdown(results))
		}
	}
	rep.Results = runs[0]
	if *repeat > 1 {
		rep.Repeats = repeatability(runs)
		fmt.Println(repeatabilityMarkdown(rep.Repeats))
	}
	rep.Targets = targets(rep.Results)
	tt := targetsMarkdown(rep.Targets)
	if st := spreadMarkdown(rep.Results); strings.Count(st, "\n") > 5 {
		tt = st + "\n" + tt
	}
	fmt.Println(tt)
	rep.Seconds = time.Since(start).Seconds()
	rep.LoadAfter = loadAverage()
	fmt.Printf("Total: %.0f s\n", rep.Seconds)
	if *jsonOut != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(*jsonOut), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if *mdOut != "" {
		if err := os.WriteFile(*mdOut, []byte(benchmarksMD(rep, tables, tt)), 0o644); err != nil {
			return err
		}
	}
	if *strict {
		var failed []string
		for _, r := range rep.Results {
			c := contestants.ByName(r.Contestant)
			if !r.OK && c.Unavailable == "" && (c.Baseline || strings.HasPrefix(c.Name, "sseview")) {
				failed = append(failed, r.Scenario+"/"+r.Contestant+": "+r.Status)
			}
		}
		if len(failed) > 0 {
			return fmt.Errorf("failed:\n%s", strings.Join(failed, "\n"))
		}
	}
	return nil
}

// measure runs every round of sc, the contestants interleaved, and
// summarizes them; who, when not "", lists the contestants to run.
func (d *driver) measure(sc *scenario, who string) []Result {
	t0 := time.Now()
	samples := map[string][]sample{}
	rounds := d.cfg.Rounds
	if sc.Rounds > 0 {
		rounds = sc.Rounds
	}
	first := 0
	if sc.WarmupRound {
		first = -1
	}
	for round := first; round < rounds; round++ {
		for _, c := range sc.Contestants {
			if c.Unavailable != "" || (who != "" && !slices.Contains(strings.Split(who, ","), c.Name)) {
				continue
			}
			if round < 0 {
				s := sc.run(c, rounds) // past the unpinned rounds: pinned only
				fmt.Fprintf(os.Stderr, "%s warm-up round %s: %v %v\n", sc.Name, c.Name, s.Metrics, s.Problems)
				continue
			}
			s := sc.run(c, round)
			samples[c.Name] = append(samples[c.Name], s)
			fmt.Fprintf(os.Stderr, "%s round %d %s: %v %v\n", sc.Name, round+1, c.Name, s.Metrics, s.Problems)
		}
	}
	rs := summarize(sc, samples)
	if sc.Name == "fanout" {
		for _, r := range rs {
			if v, ok := r.Medians["p99_ms"]; ok {
				d.fanoutP99[r.Contestant] = v
			}
		}
	}
	fmt.Fprintf(os.Stderr, "%s took %v (load average %s)\n", sc.Name, time.Since(t0).Round(time.Second), loadAverage())
	return rs
}

// loadAverage returns the first three fields of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for l := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func contestantsMarkdown() string {
	var b strings.Builder
	b.WriteString("| contestant | mode | keep-alive | shutdown path |\n|---|---|---|---|\n")
	for _, c := range contestants.All() {
		name := c.Name
		if c.Baseline {
			name += " (baseline)"
		}
		ka := c.KeepAlive
		if c.Unavailable != "" {
			ka += "; not available: " + c.Unavailable
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, c.Mode, ka, c.Shutdown)
	}
	return b.String()
}
