package main

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fmtBuffer collects what report prints.
type fmtBuffer struct{ strings.Builder }
