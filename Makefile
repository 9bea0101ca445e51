# Every target is what CI runs (see .ci/run). Each Go module of the repo is
# listed in MODULES; the core module is ".".
GO ?= go
MODULES := . bench
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run test lint fuzz bench bench-go bench-harness bench-smoke

## run: the weather example on its embedded defaults (http://127.0.0.1:8000)
run:
	cd examples/weather && $(GO) run .

## test: vet and race-enabled tests of every module (fast, no browser)
test:
	@set -e; for m in $(MODULES); do echo "== $$m"; (cd $$m && $(GO) vet ./... && $(GO) test -race ./...); done

## lint: gofmt, vet and staticcheck over every module
lint:
	@set -e; out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@set -e; for m in $(MODULES); do echo "== $$m"; (cd $$m && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...); done

## fuzz: a short run of the encoder round-trip fuzzer
fuzz:
	$(GO) test ./sseview -run '^$$' -fuzz '^FuzzRoundTrip$$' -fuzztime 30s

## bench: the library's Go benchmarks, then the harness against the other
## SSE libraries (writes bench/results/latest.json and BENCHMARKS.md)
bench: bench-go bench-harness

## bench-go: the library's Go micro-benchmarks
bench-go:
	$(GO) test ./sseview -run '^$$' -bench . -benchmem

SSEBENCH := bench/bin/ssebench

.PHONY: $(SSEBENCH)
$(SSEBENCH):
	cd bench && $(GO) build -o bin/ssebench ./cmd/ssebench

## bench-harness: the full harness, 3 rounds (7-9 minutes on 2 cores)
bench-harness: $(SSEBENCH)
	$(SSEBENCH) run -json bench/results/latest.json -md BENCHMARKS.md

## bench-smoke: one round of the harness with small counts (CI, under a minute)
bench-smoke: $(SSEBENCH)
	$(SSEBENCH) run -smoke -strict -json bench/results/smoke.json
