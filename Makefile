# fleetlb — see README.md. `make demo` and `make test` set up everything they need.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
K8S_BIN_DIR := $(BIN)/k8s
STATICCHECK_VERSION := v0.8.2
export FLEETLB_K8S_BIN_DIR := $(K8S_BIN_DIR)

# P1: every binary answers --version. VERSION holds the release being made (vX.Y.Z is tagged from
# it, see docs/operators.md); a build is stamped with git describe (the tag on a release commit,
# vX.Y.Z-N-gHASH after it) or, without a tag, vVERSION-dev.
MODULE := github.com/fleetlb/fleetlb
RELEASE := $(strip $(file < VERSION))
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || echo v$(RELEASE)-dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
LDFLAGS := -X $(MODULE)/internal/common/version.version=$(VERSION) -X $(MODULE)/internal/common/version.commit=$(COMMIT)

.PHONY: all build images manifests reference test unit race cross lint fuzz fmt k8s-bins chromium demo bench-dataplane bench-controller screenshot verify-images clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

## k8s-bins: build kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kubectl when missing.
k8s-bins:
	@./tools/build-k8s-bins.sh "$(K8S_BIN_DIR)"

## test: lint, the builds for operators' laptops, the unit tests under the race detector, then
## every test (unit, elbd over real HTTP, real clusters, end-to-end).
test: lint cross race fuzz k8s-bins chromium build
	FLEETLB_REQUIRE_K8S=1 $(GO) test -count=1 -timeout 60m ./...
	cd packaging && FLEETLB_REQUIRE_K8S=1 $(GO) test -count=1 -timeout 30m ./...

## chromium: Debian's chromium, which the elbd console's browser test drives (chromedp), when missing.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing chromium from Debian (the console's browser test needs it)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		{ apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
		{ echo "chromium: could not install Debian's chromium (apt-get install -y chromium needs root and a package mirror); the console's browser test fails without it" >&2; exit 1; }; \
	fi

## unit: the fast tests only (no real clusters).
unit:
	$(GO) test -short -count=1 ./...

## race: the unit tests (-short skips every test that needs real clusters) under the race detector.
race:
	$(GO) test -race -short -count=1 -timeout 20m ./...

## cross: operators run elbctl on macOS and Windows and the controller on macOS; elbd and the
## test bed are Linux-only (their Linux code is in *_linux.go files).
cross:
	GOOS=darwin $(GO) build -o /dev/null ./cmd/fleetlb-controller ./cmd/elbctl ./cmd/kubectl-fleetlb
	GOOS=windows $(GO) build -o /dev/null ./cmd/elbctl ./cmd/kubectl-fleetlb
	GOOS=darwin $(GO) vet ./cmd/fleetlb-controller ./cmd/elbctl ./cmd/kubectl-fleetlb
	GOOS=windows $(GO) vet ./cmd/elbctl ./cmd/kubectl-fleetlb

## fuzz: a short run (FUZZTIME each) of every go test -fuzz target (F4): annotation parsing, elbd's
## JSON bodies and query strings, the SDK-HMAC verifier, elbd's config file. What a run finds is
## written to the package's testdata/fuzz/ (commit it: plain `go test` then replays it).
FUZZTIME ?= 10s
FUZZ_TARGETS := ./internal/controller/annotations:FuzzParse ./internal/controller/annotations:FuzzParseListenerPorts \
	./internal/elbd/api:FuzzAPI ./internal/elbd/api/listing:FuzzQuery ./internal/elbd/auth:FuzzIdentify \
	./internal/elbd/config:FuzzParse
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} in $${t%%:*} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) "$${t%%:*}"; \
	done

lint:
	@bad=$$(gofmt -l .); if [ -n "$$bad" ]; then echo "not gofmt-ed:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	cd packaging && $(GO) vet ./... && $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## images: OCI image tarballs of fleetlb-controller and elbd, linux/amd64 and linux/arm64, built
## without a Docker daemon (P5): bin/images/NAME.tar, for docker load or ctr import.
images:
	cd packaging && $(GO) run ./cmd/images -root .. -out $(BIN)/images -version $(VERSION) -commit $(COMMIT) -ldflags "$(LDFLAGS)"

## verify-images: the tarballs imported by a private containerd (every platform) and each image's
## binary run by runc with --version (root and Debian's containerd; not part of test).
verify-images: images
	@./scripts/verify-images.sh

## manifests: rewrite config/ from the Helm chart charts/fleetlb-controller with its defaults (P2;
## packaging/ is its own Go module, so Helm's library stays out of the binaries' module).
manifests:
	cd packaging && $(GO) run ./cmd/manifests -chart ../charts/fleetlb-controller -out ../config

## reference: rewrite docs/reference.md — every flag, Service annotation and Event reason of
## fleetlb-controller, from the code (P6, P8); TestReferenceIsCurrent fails when it is out of date.
reference:
	$(GO) run ./cmd/fleetlb-controller reference > docs/reference.md.tmp && mv docs/reference.md.tmp docs/reference.md

fmt:
	gofmt -w $$(git ls-files '*.go')

demo: build
	@./scripts/demo.sh

## screenshot: rewrite docs/images/console-listener.png from the console's browser test.
screenshot: chromium
	FLEETLB_WRITE_SCREENSHOT=1 $(GO) test -count=1 -run TestO13ConsoleInBrowser ./internal/elbd/console/

bench-dataplane: build
	@./scripts/bench-dataplane.sh

## bench-controller: 1,000 Services × 10 ready endpoints on one ELB (F10): convergence, API calls,
## peak RSS, endpoint-change latency, an idle resync's writes, elbd's p99 at 10,000 members; a
## table with the goals beside the figures, exit 1 when one is missed. BENCH_ARGS to change it.
bench-controller: k8s-bins
	$(GO) run ./test/bench/controller $(BENCH_ARGS)

clean:
	rm -rf $(BIN)
