package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/sseview/sseview/sseviewotel"
)

// telemetry is the program's metrics: sseview's streams and broker on
// OpenTelemetry, exported for Prometheus to scrape at /metrics.
type telemetry struct {
	*sseviewotel.Metrics
	provider *sdkmetric.MeterProvider
	scrape   http.Handler
}

// newTelemetry makes the meter provider, with a Prometheus registry of its
// own so that nothing else in the process (or a second app in a test)
// shares it.
func newTelemetry() (*telemetry, error) {
	registry := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry))
	if err != nil {
		return nil, fmt.Errorf("weather: metrics: %w", err)
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	m, err := sseviewotel.New(sseviewotel.Config{MeterProvider: provider})
	if err != nil {
		_ = provider.Shutdown(context.Background())
		return nil, fmt.Errorf("weather: metrics: %w", err)
	}
	return &telemetry{
		Metrics:  m,
		provider: provider,
		scrape:   promhttp.HandlerFor(registry, promhttp.HandlerOpts{}),
	}, nil
}

// Close stops the meter provider.
func (t *telemetry) Close() error {
	return t.provider.Shutdown(context.Background())
}
