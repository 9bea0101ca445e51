// Package sseviewotel records the metrics of sseview's streams and brokers
// on OpenTelemetry: an [sseview.Observer] for a [sseview.Handler] and an
// [sseview.BrokerObserver] for each broker.
//
//	m, err := sseviewotel.New(sseviewotel.Config{MeterProvider: provider})
//	if err != nil {
//		return err
//	}
//	broker := &sseview.MemoryBroker{Observer: m.Broker("memory")}
//	h := &sseview.Handler{View: view, Observer: m}
//
// It lives in its own module, so that users of sseview who do not use
// OpenTelemetry never download it.
//
// # Stream metrics
//
// Every stream instrument has the attributes http.route, the route's
// pattern ("/rooms/{room}", from chi or from net/http's ServeMux; left out
// when there is none), never the raw path, whose cardinality a client
// chooses; and sseview.transport, always "server_sent_events", as
// OpenTelemetry's SignalR conventions name the transport.
//
//	sseview.stream.active      UpDownCounter  {stream}   streams open now
//	sseview.stream.duration    Histogram      s          how long each stream lasted, once it ended;
//	                                                     also sseview.stream.close_reason
//	sseview.stream.events      Counter        {event}    events written (comments a view yields included)
//	sseview.stream.keepalives  Counter        {comment}  keep-alive comments written
//	sseview.stream.written     Counter        By         bytes of events and keep-alives written
//
// sseview.stream.close_reason is the [sseview.CloseReason]: completed,
// client_left, write_timeout, slow_subscriber, invalid_event, view_error,
// shutdown or max_lifetime. The duration's buckets suit streams that last
// from under a second to a day: 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600,
// 1800, 3600, 7200, 14400, 28800, 43200 and 86400 s (a View in the SDK can
// change them).
//
// The three counters are asynchronous: each stream counts in its own
// memory, at the cost of an atomic add per event, and the counts of every
// open and ended stream are summed when the metrics are collected, so they
// are exact at each collection without a call into the SDK per event. The
// active streams and the duration are recorded once per stream.
//
// # Broker metrics
//
// Every broker instrument has the attribute sseview.broker.kind, the kind
// given to [Metrics.Broker] ("memory", "nats", "redis"). Topics are not
// attributes: there may be one per user. The counters are asynchronous, as
// the streams' are; the lag is recorded on each live delivery, to every
// subscriber, which makes it the observer's one call into the SDK per event
// (see the cost below).
//
//	sseview.broker.published   Counter    {event}         successful publishes; also
//	                                                      sseview.broker.duplicate (true for a
//	                                                      sseview.Keyed event the broker already held)
//	sseview.broker.lag         Histogram  s               from an event's publish to its delivery to a
//	                                                      live subscriber: for a stream, written and flushed
//	sseview.broker.resets      Counter    {subscription}  subscriptions that started with a reset
//	sseview.broker.catchups    Counter    {subscription}  subscriptions that resumed from a
//	                                                      Last-Event-ID and caught up
//	sseview.broker.replayed    Counter    {event}         events those catch-ups replayed
//	sseview.broker.dropped     Counter    {subscription}  subscribers dropped with sseview.ErrSlowSubscriber
//
// The lag is measured by this process's clock from the publish time the
// broker keeps: this process's own for the memory broker, but the NATS or
// Redis server's for theirs (Redis's in whole milliseconds), so a clock
// skew between the hosts shows in it; a negative lag is recorded as 0. Its
// buckets run from half a millisecond to a minute: 0.0005, 0.001, 0.0025,
// 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 and 60 s.
// Events replayed by a catch-up are not delivered live and have no lag.
// A View with [go.opentelemetry.io/otel/sdk/metric.AggregationDrop] on
// sseview.broker.lag turns it off, clock reading included.
//
// # Cost
//
// A stream pays one atomic add per event and keep-alive; its start and end
// record the active streams and the duration. A broker's counters are an
// atomic add each. The lag is a Record on the SDK's histogram, with a
// reading of the clock, per live event and subscriber: measured on a writer
// that costs nothing, it adds about a quarter to a MemoryBroker stream's
// CPU per event, where the counts add 2 to 3% to a per-request stream's
// (BenchmarkStream, BenchmarkBrokerStream; the figures are in the
// repository's README, section Metrics).
//
// # Traces
//
// No span is made per stream: a span that lasts a stream's lifetime, hours
// perhaps, wrecks every latency view built on spans. When the request
// already has a recording span (one an HTTP middleware such as otelhttp
// started), the stream adds two events to it: sseview.stream.start when
// its headers are sent, and sseview.stream.end with the close reason, and
// the events and bytes written. Nothing else is traced.
package sseviewotel
