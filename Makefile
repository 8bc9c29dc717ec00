# The two commands a newcomer needs: `make demo` and `make test`.
# Everything they need is built from Go modules and cached under
# ~/.cache/leader-elector (the test control plane) and Go's own caches.

GO ?= go
# One package at a time: each test package starts its own control plane and
# two at once would fight over two cores. The timeout covers the end-to-end
# and chaos packages, which run for minutes.
GOTEST_FLAGS ?= -p 1 -count=1 -timeout 45m

.PHONY: test controlplane build vet test-compat

test: controlplane vet release-check bench-check
	$(GO) test $(GOTEST_FLAGS) ./...

controlplane:
	@controlplane/build.sh >/dev/null

# The elect and watch end-to-end tests against the oldest Kubernetes the
# README claims (native sidecars: 1.29) and one in the middle. Not part of
# `make test`: each version is another 10-20 minute cold build of
# kube-apiserver (then cached). What was run and what passed: README,
# "Supported Kubernetes versions".
COMPAT_VERSIONS ?= v1.29.6 v1.33.13
COMPAT_RUN ?= ^(TestElect|TestInterop|TestWatch|TestKubectl|TestManifests|TestCompat)
test-compat:
	@set -e; for v in $(COMPAT_VERSIONS); do \
		dir=$$(K8S_VERSION=$$v controlplane/build.sh); \
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
