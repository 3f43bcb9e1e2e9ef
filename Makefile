# outside-in: the two commands a newcomer needs are `make plan` and `make test`.
SHELL     := /bin/bash
GO        ?= go
STACK     ?= dev
FORMAT    ?= tree
# A hang fails fast.
TEST_TIMEOUT ?= 15m
# The tests that run a real control plane, the real Pulumi engine or a real API server.
CLUSTER_TESTS := APIServer|ControlPlane|Engine
# They spend most of their time waiting (pods' preStop pauses, drains, requests every 100 ms,
# the engine's awaits), not computing: more of them run side by side than there are cores.
CLUSTER_PARALLEL ?= 16

.PHONY: plan test build-and-vet tools test-binaries fmt-check vet unit cluster golden-update clean

## plan: the offline plan of a stack (STACK=dev, FORMAT=tree|json|yaml|estimate|mermaid), no AWS account needed.
plan:
	@$(GO) build -o bin/plan ./cmd/plan
	@./bin/plan --stack $(STACK) --format $(FORMAT)

## test: gofmt check, go vet, and every test: the tests on a real control plane, API server and
## Pulumi engine first, then the unit and component tests. The tools build (once per machine)
## while gofmt and go vet run; then the test binaries build, each kept until its inputs change
## (scripts/gotest.sh), and both stages run from them. The stages run one after the other: the
## first judges timing (drains and switches against a 20 s preStop pause, readiness delays),
## and on 2 slow cores with the unit stage beside it the control plane and Traefik have lagged
## past those pauses.
## A failure ends with why it failed (scripts/gotest.sh why): each failed test's own lines,
## without the requests and attacks that went as they should.
test: build-and-vet test-binaries
	@mkdir -p .tools; \
	export OUTSIDE_IN_TEST_FAILURES="$$PWD/.tools/failures"; rm -rf "$$OUTSIDE_IN_TEST_FAILURES"; \
	echo "-- the tests on a real control plane, API server and Pulumi engine:"; \
	$(RUN_CLUSTER); real=$$?; \
	echo "-- the unit and component tests:"; \
	$(RUN_UNIT); unit=$$?; \
	if [ $$unit -ne 0 ] || [ $$real -ne 0 ]; then \
		echo "-- why they failed:"; scripts/gotest.sh why "$$OUTSIDE_IN_TEST_FAILURES" '$(ROUTINE)|$(ANSWERED)'; exit 1; \
	fi

build-and-vet:
	@set -o pipefail; \
	( $(MAKE) --no-print-directory tools 2>&1 | sed -u 's/^/[tools] /' ) & tools=$$!; \
	$(MAKE) --no-print-directory fmt-check vet; checked=$$?; \
	wait $$tools; built=$$?; \
	if [ $$built -ne 0 ]; then echo "the tools did not build (see [tools] above)"; exit $$built; fi; \
	exit $$checked

## tools: the tools the tests run, built once per machine into the shared tool cache
## (scripts/toolcache.sh) and linked into .tools/bin: kube-apiserver, kube-controller-manager,
## kube-scheduler, etcd, kubelet-check and KWOK; the Pulumi CLI, actionlint and kube-score;
## the pulumi-kubernetes provider; Traefik; the IAM evaluator (tools/iamsim, npm ci); moto when
## missing; shellcheck and cloud-init from Debian when missing. Builds run side by side as far
## as the machine's memory allows (scripts/build-tools.sh; OUTSIDE_IN_TOOLS_MEMORY_MB overrides
## the budget).
tools:
	@scripts/build-tools.sh

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*'))"; \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

test-binaries:
	@scripts/gotest.sh build

RUN_UNIT = scripts/gotest.sh run -- -test.timeout=$(TEST_TIMEOUT) -test.skip='$(CLUSTER_TESTS)'

unit: test-binaries
	@$(RUN_UNIT)

## cluster: every Kubernetes object of every stack on a real kube-apiserver, applied for real on
## a control plane and rolled and drained there, the environments identity's attack table, and
## environment stacks deployed, updated and torn down by the real Pulumi engine.
RUN_CLUSTER = set -o pipefail; scripts/gotest.sh run ./tests ./offline/kubeapi -- -test.timeout=$(TEST_TIMEOUT) -test.parallel=$(CLUSTER_PARALLEL) -test.run='$(CLUSTER_TESTS)' -test.v \
	| grep -E '^(kube-apiserver:|--- |    --- |ok|FAIL|PASS|panic|\s+\S+_test.go| {8})' | grep -vE '$(ROUTINE)'
# The lines of a verbose run that say a request or an attack went as it should.
ROUTINE = ^[[:space:]]+[^[:space:]]+_test[.]go:[0-9]+: ((allowed|refused) |request .* during .* at [+].*[)]$$)
# And, for the report of why a test failed, a request answered as it should be.
ANSWERED = ^[[:space:]]+[^[:space:]]+_test[.]go:[0-9]+: request .* -> (200 the page of app |404 "404 page not found")

cluster: test-binaries
	@$(RUN_CLUSTER)

## golden-update: rewrites the golden plans in tests/testdata after a reviewed change.
golden-update:
	$(GO) test -count=1 ./tests/ -run Golden -update

clean:
	rm -rf bin
