# vcts — conformance kit for VirtRigaud providers.
# `make conformance` runs the suite against the reference file provider; `make test` runs the tests.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO        ?= go
BIN       := $(CURDIR)/bin
REPORTS   ?= $(CURDIR)/reports
PROFILE   ?= all
TARGET    ?= process
IMAGE     ?= vcts/provider-file:dev
VCTS_IMAGE ?= vcts/vcts:dev
# Tools are pinned in tools/go.mod (buf in tools/buf/go.mod) and run outside the workspace.
TOOL      := GOWORK=off $(GO) tool -modfile=$(CURDIR)/tools/go.mod
BUF       := GOWORK=off $(GO) tool -modfile=$(CURDIR)/tools/buf/go.mod buf
# golangci-lint is GPL-3.0: run as a pinned tool, never added to any go.mod of ours.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI  := $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/vctsio/vcts/internal/version.Version=$(VERSION)

export CGO_ENABLED ?= 0

.PHONY: build
build: ## Build every binary into bin/
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./providers/file/cmd/provider-file $(wildcard ./cmd/*)

.PHONY: test
test: ## Unit, integration and conformance tests (race detector on)
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 30m ./...
	cd e2e && $(GO) test -count=1 ./...

# FUZZTIME per target; each fuzz target also runs its seed corpus in `make test`.
FUZZTIME ?= 10s
FUZZ_TARGETS := \
	./providers/file/domain:FuzzValidateID \
	./providers/file/wirev1:FuzzDecodeClass \
	./providers/file/wirev1:FuzzDecodeCloneClass \
	./providers/file/wirev1:FuzzDecodeDesired \
	./providers/file/quantity:FuzzParseBytes

.PHONY: fuzz
fuzz: ## Short coverage-guided fuzz runs of id validation and payload decoding (FUZZTIME=10s each)
	for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

# STRESS_RUNS rounds of the full suite (both dialects at once, concurrency 4) with -race.
STRESS_RUNS ?= 20
.PHONY: stress
stress: ## The full suite STRESS_RUNS times in a row against one provider (race detector on)
	CGO_ENABLED=1 $(GO) test -race -count=1 -run '^TestStress$$' -timeout 30m ./steps -stress.runs=$(STRESS_RUNS)

# CRASH_CYCLES kill -9 cycles of the real provider binary (20 in `make test`).
CRASH_CYCLES ?= 200
.PHONY: crash
crash: ## Crash-consistency test with CRASH_CYCLES kill -9 cycles
	CGO_ENABLED=1 $(GO) test -race -count=1 -run '^TestCrashConsistency$$' -timeout 30m ./providers/file/cmd/provider-file -crash.cycles=$(CRASH_CYCLES)

.PHONY: conformance
# TARGET=container runs the image that docker-build makes, so it depends on it.
conformance: build $(if $(filter container,$(TARGET)),docker-build) ## Run all profiles against the file provider (TARGET=process|container)
	$(BIN)/vcts run --config $(CURDIR)/vcts-config.yaml --target $(TARGET) --profile $(PROFILE) --report-dir $(REPORTS) $(if $(filter container,$(TARGET)),--image $(IMAGE))

# LOAD_VMS creates, then LOAD_N describes and power calls, LOAD_LIST_N lists at LOAD_VMS VMs, with
# LOAD_C concurrent workers (ghz, pinned in tools/ghz/go.mod).
.PHONY: load
load: build ## Load test of the file provider over loopback with ghz (LOAD_VMS=10000 LOAD_N=20000 LOAD_C=50)
	GO=$(GO) LOAD_REPORTS=$(REPORTS)/load bash tools/load.sh

.PHONY: proto
proto: ## Regenerate Go code from proto/ (pinned generators)
	$(BUF) generate
	$(BUF) lint

.PHONY: proto-check
proto-check: proto ## Fail when the committed generated code is stale
	git diff --exit-code -- proto/gen

.PHONY: lint
lint: ## go vet, golangci-lint (both modules), buf lint, actionlint
	$(GO) vet ./...
	$(GOLANGCI) run ./...
	cd e2e && $(GOLANGCI) run ./...
	$(BUF) lint
	$(TOOL) actionlint

.PHONY: run
run: build ## Run the file provider locally (plaintext, storage in .cache/vms)
	mkdir -p .cache/vms
	VIRTRIGAUD_PROVIDER_INSECURE=true PROVIDER_STORAGE_DIR=$(CURDIR)/.cache/vms \
		$(BIN)/provider-file --grpc-addr 127.0.0.1:9443 --http-addr 127.0.0.1:8080

.PHONY: docker-build
docker-build: build ## Build the provider image (FROM scratch) from the static binary in bin/
	docker build -f providers/file/Dockerfile -t $(IMAGE) .

.PHONY: chart-test
chart-test: ## Offline chart checks: helm lint, render, strict decoding into Kubernetes types (no cluster)
	cd e2e && $(GO) test -count=1 ./chart/...

# e2e-kind deploys the chart into a fresh kind cluster and runs the suite from inside (helm test) and
# from outside (runner.Run with e2e/kindtarget, through a port-forward). KIND_NODE_IMAGE (default:
# the pinned kind's kindest/node) and E2E_KEEP=1 come from the environment; artifacts land in
# $(REPORTS)/e2e.
.PHONY: e2e-kind
e2e-kind: build docker-build ## Kind end-to-end run of the Helm chart (needs Docker)
	docker build -f cmd/vcts/Dockerfile -t $(VCTS_IMAGE) .
	cd e2e && E2E_KIND=1 PROVIDER_IMAGE=$(IMAGE) VCTS_IMAGE=$(VCTS_IMAGE) \
		E2E_ARTIFACTS=$(REPORTS)/e2e $(GO) test -count=1 -timeout 30m -v -run '^TestKindEndToEnd$$' .

.PHONY: help
help:
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "%-16s %s\n", $$1, $$2}'
