# flowq — the two commands that matter: `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin
LAMBDA_DIR := $(BIN)/lambda
# make fuzz runs each target for a number of inputs (5-10 s each on a 2-core
# machine), not for a time: Go 1.26's fuzzing coordinator can fail a run whose
# time ends while a worker is mid-input ("context deadline exceeded", no
# failing input written; golang/go#75804, fixed in Go 1.27), which made CI
# fail at random under load. FUZZTIME=5m (or 1000000x) overrides every count.
FUZZTIME ?=
# A short run's seconds go to fuzzing, not to shrinking each new input: Go
# minimises for up to 60 s by default, and a run whose time ends mid-shrink
# fails with "context deadline exceeded". A failing input is still saved in
# testdata/fuzz; shrink it with FUZZMIN=-fuzzminimizetime=60s.
FUZZMIN ?= -fuzzminimizetime=0
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1

.PHONY: all build flowq lambda demo test test-go test-race fuzz bench bench-compare deploy-local tools infra-test vet fmt clean

all: build

build: flowq lambda

## flowq: the CLI (cgo: embeds DuckDB).
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo devel)

## flowq: the CLI (cgo: embeds DuckDB); --version prints $(VERSION).
flowq:
	$(GO) build -ldflags='-X main.version=$(VERSION)' -o $(BIN)/flowq ./cmd/flowq

## lambda: the ingest Lambda for arm64 provided.al2023 (no cgo, no DuckDB).
lambda:
	mkdir -p $(LAMBDA_DIR)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o $(LAMBDA_DIR)/bootstrap ./cmd/ingest-lambda
	@ls -l $(LAMBDA_DIR)/bootstrap | awk '{printf "bootstrap: %.1f MiB\n", $$5/1048576}'

## demo: a day of synthetic traffic for the tradai network through the whole pipeline, in ./flowq-demo.
demo: flowq
	$(BIN)/flowq demo

## tools: what the tests need beyond Go (moto_server, cfn-lint, the CDK CLI).
tools:
	@command -v moto_server >/dev/null || pip install 'moto[server]'
	@command -v cfn-lint >/dev/null || pip install cfn-lint
	@command -v aws >/dev/null || pip install awscli
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	cd infra && npm ci --no-audit --no-fund

## test: every test of every module, a short fuzz run, and the infra proof.
test: tools test-go test-race fuzz infra-test

test-go:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout=30m ./...

# -race on every package without cgo (flowq embeds DuckDB); -short skips the
# arm64 bootstrap build, which test-go already ran.
test-race:
	$(GO) test -count=1 -timeout=30m -short -race ./internal/... ./cmd/ingest-lambda/... ./cmd/nat-hook/... ./cmd/inventory-lambda/...

# A short run of every fuzz target; new findings land in testdata/fuzz.
# fuzz1 target,inputs,package
fuzz1 = $(GO) test -run='^$$' -fuzz='^$(1)$$' -fuzztime=$(or $(FUZZTIME),$(2)) $(FUZZMIN) $(3)
fuzz:
	$(call fuzz1,FuzzReader,100000x,./internal/parse)
	$(call fuzz1,FuzzScanner,250000x,./internal/cwlogs)
	$(call fuzz1,FuzzDecode,80000x,./internal/cwlogs)
	$(call fuzz1,FuzzProcess,80000x,./internal/detect)
	$(call fuzz1,FuzzRead,12000x,./internal/source)
	$(call fuzz1,FuzzSnapshot,120000x,./internal/detect)
	$(call fuzz1,FuzzParse,60000x,./internal/inventory/declared)
	$(call fuzz1,FuzzPolicyMemo,120000x,./internal/detect)
	$(call fuzz1,FuzzAggregate,60000x,./internal/detect)

infra-test:
	$(MAKE) -C infra test

deploy-local:
	$(MAKE) -C infra deploy-local

## bench: Go benchmarks (parser, detectors, store, handler) with their references.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=6 ./internal/... ./cmd/... | tee $(BIN)/bench.txt
	$(GO) run golang.org/x/perf/cmd/benchstat@latest $(BIN)/bench.txt

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) flowlake flowq-demo flowq-demo-report.html
