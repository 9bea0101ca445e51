// Package datastarcompat holds only tests: they check that sseview's
// Datastar events are byte for byte what github.com/starfederation/datastar-go
// v1.2.2 writes for every valid input, and show where the SDK writes a
// value raw and lets it inject fields while sseview refuses it or encodes
// it safely. It is a module of its own so that the core module never
// depends on datastar-go.
package datastarcompat
