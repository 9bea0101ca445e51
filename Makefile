# Every target is what CI runs (see .ci/run). Each Go module of the repo is
# listed in MODULES; the core module is ".".
GO ?= go
MODULES := . natsbroker redisbroker sseviewotel examples/weather examples/board bench internal/datastarcompat faults loadtest
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run run-board test lint fuzz bench bench-go bench-harness bench-smoke loadtest e2e faults

## run: the weather example on its embedded defaults (http://127.0.0.1:8000),
## with a new reading every 3 s so the page moves. Built, then exec'd rather
## than `go run`, which exits 1 when interrupted: Ctrl-C reaches the server
## itself, which shuts down gracefully and exits 0. (make, which gets the
## SIGINT too, still ends with the signal's status, 130, as GNU make does for
## any interrupted recipe, but prints no error.)
run:
	cd examples/weather && $(GO) build -o weather . && exec ./weather -update 3s

## run-board: the hypermedia board (htmx + HTML fragments) on http://127.0.0.1:8001
run-board:
	cd examples/board && $(GO) run .

## test: vet and race-enabled tests of every module (fast, no browser)
test:
	@set -e; for m in $(MODULES); do echo "== $$m"; (cd $$m && $(GO) vet ./... && $(GO) test -race ./...); done

## lint: gofmt, vet and staticcheck over every module
lint:
	@set -e; out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@set -e; for m in $(MODULES); do echo "== $$m"; (cd $$m && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...); done
	@echo "== examples/weather (-tags e2e)"; cd examples/weather && $(GO) vet -tags e2e ./... && $(GO) run $(STATICCHECK) -tags e2e ./...
	@echo "== examples/board (-tags e2e)"; cd examples/board && $(GO) vet -tags e2e ./... && $(GO) run $(STATICCHECK) -tags e2e ./...

## fuzz: a short run of the encoder round-trip fuzzer
fuzz:
	$(GO) test ./sseview -run '^$$' -fuzz '^FuzzRoundTrip$$' -fuzztime 30s

## bench: the library's Go benchmarks, then the harness against the other
## SSE libraries (writes bench/results/latest.json and BENCHMARKS.md)
bench: bench-go bench-harness

## bench-go: the library's Go micro-benchmarks
bench-go:
	$(GO) test ./sseview -run '^$$' -bench . -benchmem
	cd natsbroker && $(GO) test . -run '^$$' -bench .
	cd redisbroker && $(GO) test . -run '^$$' -bench .

## loadtest: loopback fan-out load test: 1,000 real SSE clients, 100 events/s
## for 10 s, every event checked, per broker (memory, NATS, Redis: needs
## redis-server, which .ci/run installs)
loadtest:
	cd loadtest && $(GO) build -o bin/fanoutload .
	@set -e; for b in memory nats redis; do echo "== loadtest -broker $$b"; \
		loadtest/bin/fanoutload -broker $$b -clients 1000 -rate 100 -duration 10s; done

## faults: fault tests with real processes (about a minute per broker), on
## NATS (nats-server built from the faults module's tool requirement) and on
## Redis (redis-server, which .ci/run installs): two weather instances and 50
## resuming clients; kill -9 and SIGSTOP of the broker server, kill -9 and
## SIGTERM of an instance; fails unless every fault loses, repeats and
## reorders nothing
faults:
	cd faults && $(GO) build -o bin/nats-server github.com/nats-io/nats-server/v2 && $(GO) build -o bin/faults .
	cd examples/weather && $(GO) build -o ../../faults/bin/weather .
	cd faults && ./bin/faults -broker nats -nats-server bin/nats-server -weather bin/weather
	cd faults && ./bin/faults -broker redis -redis-server "$$(command -v redis-server)" -weather bin/weather

## e2e: the weather page and the board in headless Chromium ($$CHROME_PATH, default /usr/bin/chromium)
e2e:
	@chrome="$${CHROME_PATH:-/usr/bin/chromium}"; \
	if [ ! -x "$$chrome" ]; then \
		echo "e2e: skipped: no Chromium at $$chrome."; \
		echo "e2e: install it (Debian/Ubuntu: sudo apt-get install -y chromium) or set CHROME_PATH."; \
		exit 0; \
	fi; \
	(cd examples/weather && CHROME_PATH="$$chrome" $(GO) test -race -tags e2e -run '^TestBrowser' -count=1 -v .) && \
	(cd examples/board && CHROME_PATH="$$chrome" $(GO) test -race -tags e2e -run '^TestBrowser' -count=1 -v .)

SSEBENCH := bench/bin/ssebench

.PHONY: $(SSEBENCH)
$(SSEBENCH):
	cd bench && $(GO) build -o bin/ssebench ./cmd/ssebench

## bench-harness: the full harness, 3 rounds, 7 for throughput (3 of them also unpinned, after a warm-up round) and 2 for the high-rate fan-out (about 17 minutes on 2 cores)
bench-harness: $(SSEBENCH)
	$(SSEBENCH) run -json bench/results/latest.json -md BENCHMARKS.md

## bench-smoke: one round of the harness with small counts (CI, under a minute)
bench-smoke: $(SSEBENCH)
	$(SSEBENCH) run -smoke -strict -json bench/results/smoke.json
