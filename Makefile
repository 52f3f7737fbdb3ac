# HP Sandbox — the project's vocabulary. See README.md.
SHELL   := /bin/bash
GO      ?= go
PKGS    ?= ./...
# ADDR and DATA, when given (make run ADDR=127.0.0.1:8081 DATA=/tmp/sb), become
# --addr and --data; unset, the server reads HPS_ADDR and HPS_DATA from the
# environment, else its defaults (127.0.0.1:8080, ./data).
ADDR    ?=
DATA    ?=
BENCH   ?= .
BENCH_FLAGS ?=
FUZZTIME ?= 30s
REDIS_PORT ?= 6379
REDIS_URL ?=
REDIS_DIR = $(or $(DATA),$(HPS_DATA),./data)/redis
# gin without its MessagePack binding (which nothing here uses): one
# dependency less to compile. Every target builds with the same tags, so
# that the build cache serves them all.
export GOFLAGS := $(strip $(GOFLAGS) -tags=nomsgpack)

# The race detector instruments every package it builds, and SQLite is a
# C library transpiled to Go (modernc.org/sqlite/lib over modernc.org/libc):
# instrumented, each statement runs 10 to 40 times slower, which made the
# store's tests most of the suite's time, and it finds nothing of ours
# there (SQLite's own mutexes, in libc, still order what they guard for the
# detector; the driver, modernc.org/sqlite, and all of our code stay
# instrumented). These two are compiled without it.
RACE_SKIP ?= -gcflags=modernc.org/sqlite/lib=-race=false -gcflags=modernc.org/libc/...=-race=false

.PHONY: run build test bench bench-http lint generate fuzz clean redis

## run: build bin/sandbox and start it on the embedded store (./data, http://127.0.0.1:8080/fhir unless ADDR, DATA or HPS_ADDR, HPS_DATA say otherwise)
run:
	@if [ ! -x bin/sandbox ]; then echo "building bin/sandbox: the first build compiles about 570 packages (the FHIR protocol buffers of google/fhir and the pure-Go SQLite are most of it) and takes one to three minutes with the download of the modules; the packages are listed as they compile, and later builds take seconds"; fi
	$(GO) build -v -o bin/sandbox ./cmd/sandbox
	exec bin/sandbox serve $(if $(ADDR),--addr $(ADDR)) $(if $(DATA),--data $(DATA)) $(if $(REDIS_URL),--redis-url $(REDIS_URL))

## build: build the sandbox binary into bin/
build:
	$(GO) build -trimpath -o bin/sandbox ./cmd/sandbox

## test: vet, check formatting, and run every test with the race detector; the
## report (cmd/testreport) ends with every skipped test and why it skipped
test: lint
	set -o pipefail; $(GO) test -race $(RACE_SKIP) -count=1 -json $(PKGS) 2>&1 | $(GO) run ./cmd/testreport
	@# Allocation counts are exact only without the race detector.
	$(GO) test -count=1 -run 'Alloc' ./sandbox/requestlog/...

## lint: go vet, gofmt, and go.mod tidy
lint:
	$(GO) vet $(PKGS)
	$(GO) mod tidy -diff
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## bench: the benchmarks whose figures the issues ask for
bench:
	set -o pipefail; $(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime 2s \
		./fhirstore/... ./sandbox/... ./fixtures/... ./smart/... ./cmd/... | tee bench.out
	@echo; echo "== figures =="; grep -E 'creates/s|ratio|resources/s|µs|ns/op' bench.out | sed 's/^/  /'

## bench-http: start a sandbox on a free loopback port and drive it over HTTP (sandbox bench; BENCH_FLAGS="--duration 10s")
bench-http:
	$(GO) build -o bin/sandbox ./cmd/sandbox
	bin/sandbox bench $(BENCH_FLAGS)

## generate: regenerate generated code from the data in the repository
generate:
	$(GO) generate ./...

## fuzz: run each fuzz target for $(FUZZTIME)
fuzz:
	@for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$spec/*_test.go | cut -d' ' -f2); do \
			echo "== $$spec $$f"; $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$spec || exit 1; \
		done; \
	done

## redis: install redis-server if absent and start one on 127.0.0.1:$(REDIS_PORT), data in <data>/redis
## (the tests start their own; this one is for `make run REDIS_URL=redis://127.0.0.1:$(REDIS_PORT)/0`)
redis:
	@command -v redis-server >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq redis-server)
	@mkdir -p $(REDIS_DIR)
	redis-server --port $(REDIS_PORT) --bind 127.0.0.1 --dir $(abspath $(REDIS_DIR)) --appendonly yes --daemonize yes

clean:
	rm -rf bin bench.out
