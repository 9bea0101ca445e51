package sseview

import (
	"bytes"
	"html/template"
	"slices"
	"strings"
	"testing"
	"time"
)

// fragmentTmpl renders a board card of about 1 KiB.
var fragmentTmpl = template.Must(template.New("card").Parse(`<article class="card" id="card-{{.ID}}">
<header><b>{{.Author}}</b> <time>{{.At}}</time></header>
{{range .Lines}}<p>{{.}}</p>
{{end}}<footer>{{len .Lines}} lines</footer>
</article>`))

var fragmentData = struct {
	ID     int
	Author string
	At     string
	Lines  []string
}{ID: 42, Author: "ann <ann@example.com>", At: "2026-12-01T09:20:00Z",
	Lines: strings.Split(strings.Repeat("a line of the card's text & more\n", 18), "\n")}

// BenchmarkHTMLFragment compares an HTML event from a template, rendered
// and framed as data lines in the stream's pooled buffer, with executing
// the template alone into a reused buffer. The budget: the event
// costs at most the template's own execution plus 10%.
func BenchmarkHTMLFragment(b *testing.B) {
	var probe bytes.Buffer
	if err := fragmentTmpl.Execute(&probe, fragmentData); err != nil {
		b.Fatal(err)
	}
	b.Run("template-alone", func(b *testing.B) {
		var buf bytes.Buffer
		b.ReportAllocs()
		b.SetBytes(int64(probe.Len()))
		for b.Loop() {
			buf.Reset()
			if err := fragmentTmpl.Execute(&buf, fragmentData); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("html-event", func(b *testing.B) {
		ev := &HTML{Type: "card", ID: "e-42", Fragment: Template(fragmentTmpl, "", fragmentData)}
		out := make([]byte, 0, 4096)
		b.ReportAllocs()
		b.SetBytes(int64(probe.Len()))
		for b.Loop() {
			var err error
			if out, err = ev.appendRendered(b.Context(), out[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHTMLFragmentOverhead reports the HTML event's cost over the
// template's own as a percentage: the median, over alternating batches, of
// each event batch's time over the template batch's just before it, so that
// other load on the machine weighs on both alike.
func BenchmarkHTMLFragmentOverhead(b *testing.B) {
	const batch = 20
	ev := &HTML{Type: "card", ID: "e-42", Fragment: Template(fragmentTmpl, "", fragmentData)}
	out := make([]byte, 0, 4096)
	var buf bytes.Buffer
	var ratios []float64
	for b.Loop() {
		start := time.Now()
		for range batch {
			buf.Reset()
			if err := fragmentTmpl.Execute(&buf, fragmentData); err != nil {
				b.Fatal(err)
			}
		}
		mid := time.Now()
		for range batch {
			var err error
			if out, err = ev.appendRendered(b.Context(), out[:0]); err != nil {
				b.Fatal(err)
			}
		}
		ratios = append(ratios, float64(time.Since(mid))/float64(mid.Sub(start)))
	}
	slices.Sort(ratios)
	b.ReportMetric(100*(ratios[len(ratios)/2]-1), "median-overhead-%")
}

// BenchmarkHTMLFraming is the part of an HTML event that is not the
// template: framing a rendered 1 KiB fragment as data lines.
func BenchmarkHTMLFraming(b *testing.B) {
	var html bytes.Buffer
	if err := fragmentTmpl.Execute(&html, fragmentData); err != nil {
		b.Fatal(err)
	}
	ev := &HTML{Type: "card", ID: "e-42", Fragment: Markup(html.String())}
	out := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(html.Len()))
	for b.Loop() {
		var err error
		if out, err = ev.appendRendered(b.Context(), out[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
