package sseview_test

import (
	"context"
	"html/template"
	"iter"
	"net/http"

	"github.com/sseview/sseview/sseview"
)

var cardTmpl = template.Must(template.New("card").Parse(`<div class="card" id="card-{{.ID}}">{{.Text}}</div>`))

type card struct {
	ID   int
	Text string
}

// Cards streams board cards as HTML fragments for htmx's SSE extension.
type Cards struct{ Cards []card }

func (v Cards) Stream(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		for _, c := range v.Cards {
			if !yield(sseview.HTML{Type: "card", Fragment: sseview.Template(cardTmpl, "", c)}, nil) {
				return
			}
		}
	}
}

// HTML fragments from an html/template: the text is escaped by the
// template, and the CR in it, which the template leaves alone, starts a new
// data line instead of a field of its own. A page swaps them in with
// <div hx-ext="sse" sse-connect="/cards" sse-swap="card">.
func ExampleHTML() {
	get(sseview.AsView(Cards{Cards: []card{
		{ID: 1, Text: "</div><script>alert(1)</script>"},
		{ID: 2, Text: "a\revent: injected"},
	}}), "/cards")
	// Output:
	// 200 text/event-stream
	// event: card
	// data: <div class="card" id="card-1">&lt;/div&gt;&lt;script&gt;alert(1)&lt;/script&gt;</div>
	//
	// event: card
	// data: <div class="card" id="card-2">a
	// data: event: injected</div>
}
