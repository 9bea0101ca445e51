package sseviewotel_test

import (
	"context"
	"fmt"
	"io"
	"iter"
	"log"
	"net/http"
	"net/http/httptest"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sseview/sseview/sseview"
	"github.com/sseview/sseview/sseviewotel"
)

// ticks yields three events and ends.
type ticks struct{}

func (ticks) Stream(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		for i := range 3 {
			if !yield(sseview.Text{Type: "tick", Data: fmt.Sprint(i)}, nil) {
				return
			}
		}
	}
}

// Metrics observes a Handler, and a broker through Broker. Here a manual
// reader collects them; a program gives New the MeterProvider of its
// exporter (the weather example's serves Prometheus).
func Example() {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() {
		if err := provider.Shutdown(context.Background()); err != nil {
			log.Fatal(err)
		}
	}()
	m, err := sseviewotel.New(sseviewotel.Config{MeterProvider: provider})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ticks", &sseview.Handler{View: ticks{}, Observer: m})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/ticks")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		log.Fatal(err)
	}
	// The response ends once its handler has returned, and so once the
	// stream's end is recorded.
	resp.Body.Close()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	for _, md := range rm.ScopeMetrics[0].Metrics {
		switch data := md.Data.(type) {
		case metricdata.Sum[int64]:
			for _, dp := range data.DataPoints {
				route, _ := dp.Attributes.Value("http.route")
				fmt.Printf("%s{%s} %d\n", md.Name, route.AsString(), dp.Value)
			}
		case metricdata.Histogram[float64]:
			for _, dp := range data.DataPoints {
				reason, _ := dp.Attributes.Value("sseview.stream.close_reason")
				fmt.Printf("%s{%s} count %d\n", md.Name, reason.AsString(), dp.Count)
			}
		}
	}
	// Unordered output:
	// sseview.stream.active{GET /ticks} 0
	// sseview.stream.duration{completed} count 1
	// sseview.stream.events{GET /ticks} 3
	// sseview.stream.keepalives{GET /ticks} 0
	// sseview.stream.written{GET /ticks} 63
}
