# Every target is what CI runs (see .ci/run). Each Go module of the repo is
# listed in MODULES; the core module is ".".
GO ?= go
MODULES := . natsbroker
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run test lint fuzz bench loadtest

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

## bench: the library's Go benchmarks
bench:
	$(GO) test ./sseview -run '^$$' -bench . -benchmem
	cd natsbroker && $(GO) test . -run '^$$' -bench .

## loadtest: loopback fan-out load test: 1,000 real SSE clients, 100 events/s for 10 s, per broker
loadtest:
	cd natsbroker && $(GO) run ./cmd/fanoutload -broker nats -clients 1000 -rate 100 -duration 10s
