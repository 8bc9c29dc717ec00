# The two commands a newcomer needs: `make demo` and `make test`.
# Everything they need is built from Go modules and cached under
# ~/.cache/leader-elector (the test control plane) and Go's own caches.

GO ?= go
# One package at a time: the packages under e2e/ (and a few others) start
# their own control plane, and two at once would fight over two cores. The
# timeout covers the end-to-end and chaos packages, which run for minutes.
GOTEST_FLAGS ?= -p 1 -count=1 -timeout 45m

.PHONY: test test-unit controlplane build vet shells test-compat

test: controlplane vet release-check bench-check shells mutate
	$(GO) test $(GOTEST_FLAGS) ./...

# The tests that need no control plane (no API server, no build of
# kube-apiserver): the state machine, the simulation, the dashboard's
# goldens, the CLI. Seconds to a couple of minutes.
UNIT_PKGS = $(shell $(GO) list ./... | grep -v -e /e2e -e /controlplane -e /bench/ -e /demo -e /internal/replica -e /internal/kubeclient)
test-unit:
	$(GO) test -count=1 $(UNIT_PKGS)

# The completion scripts are tested in real bash, zsh and fish. As root
# with apt (CI) the missing shells are installed; elsewhere a missing shell
# skips its test, and this says so and how to get it.
shells:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! { command -v zsh && command -v fish; } >/dev/null; then \
		(apt-get install -y -qq zsh fish || { apt-get update -qq && apt-get install -y -qq zsh fish; }) >/dev/null 2>&1 || true; fi
	@for sh in bash zsh fish; do command -v $$sh >/dev/null || \
		echo "note: $$sh is not installed, so its completion test is skipped (apt-get install -y $$sh, or brew install $$sh)"; done

controlplane:
	@internal/controlplane/build.sh >/dev/null

# The elect and watch end-to-end tests against the oldest Kubernetes the
# README claims (native sidecars: 1.29) and one in the middle. Not part of
# `make test`: each version is another 10-20 minute cold build of
# kube-apiserver (then cached). What was run and what passed: README,
# "Supported Kubernetes versions".
COMPAT_VERSIONS ?= v1.29.6 v1.33.13
COMPAT_RUN ?= ^(TestElect|TestInterop|TestWatch|TestKubectl|TestManifests|TestCompat)
test-compat:
	@set -e; for v in $(COMPAT_VERSIONS); do \
		dir=$$(K8S_VERSION=$$v internal/controlplane/build.sh); \
		echo "test-compat: kube-apiserver $$v"; \
		LEADER_ELECTOR_CONTROLPLANE=$$dir $(GO) test $(GOTEST_FLAGS) -run '$(COMPAT_RUN)' ./e2e/ ./e2e/watche2e/; \
	done

vet:
	$(GO) vet ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/leader-elector ./cmd/leader-elector

.PHONY: demo release-check

# A live election on this machine, nothing else needed: a local control
# plane, three sidecar replicas and the dashboard, with a failover every 15s.
# ARGS="-duration 30s" runs it without a terminal and prints JSON events.
demo:
	$(GO) run ./demo $(ARGS)

# goreleaser check and a snapshot build of this machine's binary
# (goreleaser itself is built once from the Go module proxy and cached).
release-check:
	.ci/goreleaser.sh

.PHONY: reference

# docs/reference.md, regenerated from the command line's model (a test
# fails when it is stale).
reference:
	$(GO) test ./cmd/leader-elector -run TestReference -update-reference

.PHONY: bench-check

# The bench harnesses in their short form: CI checks that they run and print
# their tables, not the numbers (shared 2-core machines make timings noisy).
# The full runs that produced the README's figures:
#   go run ./bench/failover        go run ./bench/watchload
#   go run ./bench/footprint
bench-check:
	$(GO) run ./bench/failover -short
	$(GO) run ./bench/watchload -short
	$(GO) run ./bench/footprint -short
	$(GO) run ./bench/shards -short

.PHONY: mutate

# Every guard is shown to matter: each mutation in internal/mutate/guards.txt
# removes one guard from a copy of the module and the suite must fail
# (docs/testing.md). ARGS="-run ID -v" runs some of them; ARGS=-list checks
# the list. Part of make test: the whole list takes 3-5 minutes on 2 cores.
mutate:
	$(GO) run ./internal/mutate $(ARGS)
