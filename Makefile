# Everyday commands of zohosink. Each part prints how long it took.
#
#   make run         the main job on embedded defaults (in-process Kafka, Zoho simulator, sample events)
#   make build       bin/consumer and bin/zohosim
#   make test        go vet and staticcheck, promtool rules, the suite on kfake (plus the end-to-end packages on
#                    kfake over TLS + SASL), the SDK contract test, then the suite on a real
#                    Apache Kafka broker, PLAINTEXT and again over SASL_SSL with SCRAM
#                    (scripts/kafka-local; skipped with a warning when java/mvn are missing,
#                    a failure when CI=true)
#   make test-containers  internal/kafkatest on a testcontainers broker (skips without Docker)
#   make test-contract    Zoho's official Python and Node.js SDKs v8 against the built zohosim
#                    (installs the pinned SDKs into .cache/venv and test/contract/node; an SDK
#                    whose runtime is missing is skipped with a warning, a failure when CI=true)
#   make test-kafka  only the suite on the real broker: start it, run it PLAINTEXT, run the Kafka
#                    packages over its SASL_SSL listener, smoke-test scripts/kafka-local tool,
#                    stop it (even on failure)
#   make test-fake-secure  the end-to-end packages on kfake clusters that require TLS and SASL
#                    (FAKE_SECURITY=SCRAM-SHA-256; also TLS, mTLS, PLAIN, SCRAM-SHA-512)
#   make test-rules  promtool check/test of deploy/prometheus (skipped with a warning without
#                    promtool, a failure when CI=true; Debian/Ubuntu: apt-get install prometheus)
#   make bench       benchmarks
#   make lint        gofmt and go mod tidy checks, go vet and staticcheck
#   make clean       remove build output and stop a local broker left running
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

GO ?= go
# -parallel: the tests that call t.Parallel wait out real time (retries, outages), not the CPU.
GOTEST_FLAGS ?= -race -count=1 -parallel 8
PKGS ?= ./...
# staticcheck, run from the Go module proxy at this version (no install step).
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
KAFKA_LOCAL := scripts/kafka-local
# The packages whose tests talk to Kafka (they import internal/kafkatest): the
# ones the SASL_SSL run repeats.
KAFKA_PKGS = $(shell $(GO) list -f '{{.ImportPath}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}' $(PKGS) | awk '/internal\/kafkatest( |$$)/ { print $$1 }')
FAKE_SECURITY ?= SCRAM-SHA-256
FAKE_SECURE_PKGS ?= ./pipeline/... ./cmd/...

# timed NAME, COMMAND: run COMMAND, then print how long it took (also when it fails).
define timed
	@start=$$(date +%s.%N); rc=0; { $(2); } || rc=$$?; \
	awk -v a=$$start -v b=$$(date +%s.%N) -v n='$(1)' -v rc=$$rc \
	  'BEGIN { printf "== %s: %.1fs%s\n", n, b - a, (rc ? " (FAILED, exit " rc ")" : "") }'; \
	exit $$rc
endef

.PHONY: run build test test-fake test-fake-secure test-kafka test-containers test-contract test-rules vet bench lint clean kafka-start kafka-stop

run:
	$(GO) run ./cmd/consumer demo

build:
	$(call timed,build,mkdir -p bin && $(GO) build -o bin/consumer ./cmd/consumer && $(GO) build -o bin/zohosim ./cmd/zohosim)

vet:
	$(call timed,go vet,$(GO) vet $(PKGS))
	$(call timed,staticcheck,$(GO) run $(STATICCHECK) $(PKGS))

# The suite on the in-process kfake cluster ($$KAFKA_BROKERS unset on purpose).
test-fake:
	$(call timed,tests on kfake,env -u KAFKA_BROKERS -u ZOHOSINK_TESTCONTAINERS $(GO) test $(GOTEST_FLAGS) $(PKGS))

# The end-to-end packages again on kfake clusters that accept only TLS with
# SASL (internal/kafkatest, KAFKATEST_FAKE_SECURITY).
test-fake-secure:
	$(call timed,tests on kfake over TLS + SASL $(FAKE_SECURITY),env -u KAFKA_BROKERS -u ZOHOSINK_TESTCONTAINERS KAFKATEST_FAKE_SECURITY=$(FAKE_SECURITY) $(GO) test $(GOTEST_FLAGS) $(FAKE_SECURE_PKGS))

# The testcontainers path of internal/kafkatest (build tag testcontainers):
# with a Docker engine its tests run on an Apache Kafka container; without one
# they skip and say so. Either way the tagged code is compiled and vetted.
test-containers:
	$(call timed,testcontainers path,env -u KAFKA_BROKERS ZOHOSINK_TESTCONTAINERS=1 $(GO) test -tags testcontainers -count=1 ./internal/kafkatest/...)

# Zoho's official SDKs against the built zohosim (test/contract, build tag
# contract). The pinned Python SDK (test/contract/python/requirements.txt) goes
# into the virtualenv $(CONTRACT_VENV), the pinned Node.js SDK
# (test/contract/node/package-lock.json) into test/contract/node/node_modules;
# both are reinstalled only when their pins change. Without python3 (with its
# venv module) or node and npm, that SDK's test skips and says so; with CI=true
# it fails.
CONTRACT := test/contract
CONTRACT_VENV := .cache/venv
test-contract:
	@start=$$(date +%s.%N); rc=0; py=; node=; \
	req=$(CONTRACT)/python/requirements.txt; lock=$(CONTRACT)/node/package-lock.json; mods=$(CONTRACT)/node/node_modules; \
	if python3 -c 'import venv, ensurepip' 2>/dev/null; then \
	  if cmp -s $$req $(CONTRACT_VENV)/requirements.txt || { rm -rf $(CONTRACT_VENV) && python3 -m venv $(CONTRACT_VENV) && \
	      $(CONTRACT_VENV)/bin/pip install -q --disable-pip-version-check -r $$req && cp $$req $(CONTRACT_VENV)/requirements.txt; }; then \
	    py=$(CURDIR)/$(CONTRACT_VENV)/bin/python; \
	  else echo "make test-contract: installing the Python SDK failed" >&2; rc=1; fi; \
	else echo "make test-contract: WARNING: python3 with the venv module is missing (apt: python3-venv): the Python SDK test skips" >&2; fi; \
	if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
	  if cmp -s $$lock $$mods/.zohosink-package-lock.json || { (cd $(CONTRACT)/node && npm ci --no-audit --no-fund --loglevel=error) && \
	      cp $$lock $$mods/.zohosink-package-lock.json; }; then \
	    node=$$(command -v node); \
	  else echo "make test-contract: installing the Node.js SDK failed" >&2; rc=1; fi; \
	else echo "make test-contract: WARNING: node or npm is missing: the Node.js SDK test skips" >&2; fi; \
	$(GO) vet -tags contract ./$(CONTRACT) || rc=1; \
	ZOHOSINK_CONTRACT_PYTHON=$$py ZOHOSINK_CONTRACT_NODE=$$node $(GO) test -tags contract -count=1 -v ./$(CONTRACT) || rc=1; \
	awk -v a=$$start -v b=$$(date +%s.%N) -v rc=$$rc \
	  'BEGIN { printf "== SDK contract test: %.1fs%s\n", b - a, (rc ? " (FAILED)" : "") }'; \
	exit $$rc

# The alerting rules: syntax (promtool check rules) and their unit tests
# (promtool test rules, deploy/prometheus/alerts_test.yml).
test-rules:
	@if command -v promtool >/dev/null 2>&1; then \
	  start=$$(date +%s.%N); rc=0; \
	  { promtool check rules deploy/prometheus/alerts.yml && promtool test rules deploy/prometheus/alerts_test.yml; } || rc=$$?; \
	  awk -v a=$$start -v b=$$(date +%s.%N) -v rc=$$rc \
	    'BEGIN { printf "== alerting rules: %.1fs%s\n", b - a, (rc ? " (FAILED, exit " rc ")" : "") }'; \
	  exit $$rc; \
	elif [ "$${CI:-}" = true ]; then \
	  echo "make test-rules: CI=true and promtool is missing (apt-get install prometheus): failing" >&2; exit 1; \
	else \
	  echo "make test-rules: WARNING: promtool not found, alerting rules not checked (apt-get install prometheus)" >&2; \
	fi

# All suites run even when one fails, so one run reports everything; the
# target fails when any did.
test: vet
	@rc=0; $(MAKE) --no-print-directory test-rules || rc=1; \
	$(MAKE) --no-print-directory test-fake || rc=1; \
	$(MAKE) --no-print-directory test-fake-secure || rc=1; \
	$(MAKE) --no-print-directory test-containers || rc=1; \
	$(MAKE) --no-print-directory test-contract || rc=1; \
	if $(KAFKA_LOCAL) check; then \
	  $(MAKE) --no-print-directory test-kafka || rc=1; \
	elif [ "$${CI:-}" = true ]; then \
	  echo "make test: CI=true and the real-broker suite cannot run (see above): failing" >&2; rc=1; \
	else \
	  echo "make test: WARNING: skipped the suite on a real Apache Kafka broker (install Java 17+ and Maven to run it); the kfake suite ran" >&2; \
	fi; \
	exit $$rc

# Start the local broker, run the suite against it (PLAINTEXT), run the Kafka
# packages again over its SASL_SSL listener (SCRAM-SHA-512, TLS with the CA
# made at start), smoke-test the Kafka command-line tools, and stop it
# whatever happened. Each part runs even when an earlier one failed.
test-kafka:
	@start=$$(date +%s.%N); \
	brokers=$$($(KAFKA_LOCAL) start); \
	trap '$(KAFKA_LOCAL) stop' EXIT; \
	awk -v a=$$start -v b=$$(date +%s.%N) 'BEGIN { printf "== start Apache Kafka (fetch if needed): %.1fs\n", b - a }'; \
	echo "== tests on Apache Kafka at $$brokers"; \
	t=$$(date +%s.%N); rc=0; \
	KAFKA_BROKERS=$$brokers $(GO) test $(GOTEST_FLAGS) $(PKGS) || rc=$$?; \
	awk -v a=$$t -v b=$$(date +%s.%N) -v rc=$$rc \
	  'BEGIN { printf "== tests on Apache Kafka: %.1fs%s\n", b - a, (rc ? " (FAILED, exit " rc ")" : "") }'; \
	secure=$$($(KAFKA_LOCAL) secure-env); \
	echo "== Kafka packages on Apache Kafka over SASL_SSL at $$(echo "$$secure" | sed -n 's/^KAFKA_BROKERS=//p') (SCRAM-SHA-512)"; \
	t=$$(date +%s.%N); src=0; \
	env $$secure $(GO) test $(GOTEST_FLAGS) $(KAFKA_PKGS) || src=$$?; \
	awk -v a=$$t -v b=$$(date +%s.%N) -v rc=$$src \
	  'BEGIN { printf "== tests on Apache Kafka over SASL_SSL: %.1fs%s\n", b - a, (rc ? " (FAILED, exit " rc ")" : "") }'; \
	[ $$src = 0 ] || rc=$$src; \
	t=$$(date +%s.%N); trc=0; \
	$(KAFKA_LOCAL) tools-check || trc=$$?; \
	awk -v a=$$t -v b=$$(date +%s.%N) -v rc=$$trc \
	  'BEGIN { printf "== scripts/kafka-local tools-check: %.1fs%s\n", b - a, (rc ? " (FAILED, exit " rc ")" : "") }'; \
	[ $$trc = 0 ] || rc=$$trc; \
	exit $$rc

kafka-start:
	@$(KAFKA_LOCAL) start

kafka-stop:
	@$(KAFKA_LOCAL) stop

bench:
	$(call timed,bench,$(GO) test -run '^$$' -bench . -benchmem $(PKGS))

lint:
	$(call timed,gofmt,files=$$(gofmt -l .); if [ -n "$$files" ]; then echo "gofmt would change:"; echo "$$files"; exit 1; fi)
	$(call timed,go mod tidy,$(GO) mod tidy -diff)
	$(MAKE) --no-print-directory vet

clean:
	rm -rf bin
	@$(KAFKA_LOCAL) stop
