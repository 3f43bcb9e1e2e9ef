# outside-in: the two commands a newcomer needs are `make plan` and `make test`.
SHELL     := /bin/bash
GO        ?= go
STACK     ?= dev
FORMAT    ?= tree
# A hang fails fast; the whole suite takes 5-10 minutes when warm.
TEST_TIMEOUT ?= 10m

.PHONY: plan test tools fmt-check vet unit apiserver golden-update clean

## plan: the offline plan of a stack (STACK=dev, FORMAT=tree|json|yaml|estimate|mermaid), no AWS account needed.
plan:
	@$(GO) build -o bin/plan ./cmd/plan
	@./bin/plan --stack $(STACK) --format $(FORMAT)

## test: gofmt check, go vet, and every test, the real kube-apiserver check included.
test: tools fmt-check vet unit apiserver

## tools: kube-apiserver, etcd, the Pulumi CLI, actionlint and kube-score into .tools/bin (built
## once from the Go module proxy); shellcheck and cloud-init from Debian when missing.
tools:
	@scripts/install-kube-tools.sh
	@scripts/install-tools.sh

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*'))"; \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test -timeout $(TEST_TIMEOUT) -count=1 -skip 'APIServer' ./...

## apiserver: every Kubernetes object of every stack, dry-run applied to a real kube-apiserver.
apiserver:
	@set -o pipefail; $(GO) test -timeout $(TEST_TIMEOUT) -count=1 -run 'APIServer' -v ./tests/ \
		| grep -E '^(kube-apiserver:|--- |    --- |ok|FAIL|PASS|panic|\s+\S+_test.go)'

## golden-update: rewrites the golden plans in tests/testdata after a reviewed change.
golden-update:
	$(GO) test -count=1 ./tests/ -skip APIServer -update

clean:
	rm -rf bin
