package main

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

// The page is plain HTML, CSS and JavaScript embedded in the binary: no
// build step, nothing fetched from a CDN.
//
//go:embed web/index.html
var indexHTML string

//go:embed web/static
var webStatic embed.FS

// staticFS serves the page's stylesheet and script under /static/. (Sub
// fails only on a malformed directory name, and this one is constant.)
var staticFS, _ = fs.Sub(webStatic, "web/static")

// preset is a city the page offers with one click.
type preset struct {
	Name, Lat, Lng string
}

var presets = []preset{
	{"London", "51.51", "-0.13"},
	{"New York", "40.71", "-74.01"},
	{"Tokyo", "35.68", "139.69"},
	{"Sydney", "-33.87", "151.21"},
	{"Nairobi", "-1.29", "36.82"},
	{"Reykjavík", "64.15", "-21.94"},
	{"São Paulo", "-23.55", "-46.63"},
	{"Cairo", "30.04", "31.24"},
}

// page renders the web page at /. The page is the same for every request,
// so it is rendered once.
type page struct {
	html []byte
}

func newPage(cfg config) (*page, error) {
	tmpl, err := template.New("index").Funcs(template.FuncMap{"duration": shortDuration}).Parse(indexHTML)
	if err != nil {
		return nil, fmt.Errorf("weather: page template: %w", err)
	}
	var buf bytes.Buffer
	err = tmpl.Execute(&buf, struct {
		Presets      []preset
		Poll, Update time.Duration
	}{presets, cfg.Poll, cfg.Update})
	if err != nil {
		return nil, fmt.Errorf("weather: page template: %w", err)
	}
	return &page{html: buf.Bytes()}, nil
}

// shortDuration writes d as people do: "1h" and "2m", not "1h0m0s" and
// "2m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(p.html)
}
