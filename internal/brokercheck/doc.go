// Package brokercheck holds tests and benchmarks both broker modules,
// natsbroker and redisbroker, run against their own broker: what is the
// same of the two past the shared sseview/brokertest suite (the observer
// calls, the fan-out and catch-up benchmarks). Each entry point takes a
// constructor of the module's broker.
package brokercheck
