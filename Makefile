# Holdfast developer tasks. `make` (or `make help`) lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Recipes must work even when Go is installed but not on PATH.
export PATH := $(PATH):/usr/local/go/bin
GO    ?= go
DEVDB := scripts/devdb.sh

# Shell snippet: use $DATABASE_URL if set, else the private dev cluster.
define with_dev_db
if [ -z "$${DATABASE_URL:-}" ]; then DATABASE_URL="$$($(DEVDB) url)"; export DATABASE_URL; fi
endef

# Stripe's mock server, for the payment tests (installed into bin/ by
# `make stripe-mock`; make test and make test-payments do it first).
STRIPE_MOCK_VERSION := v0.203.0
STRIPE_MOCK         := $(CURDIR)/bin/stripe-mock

.PHONY: help run test test-payments stripe-mock test-faults cluster-up cluster-down test-cluster bench bench-smoke bench-scaling bench-refusal bench-render generate verify lint build db-start db-stop db-url db-destroy

help: ## list targets
	@echo "Holdfast make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-13s %s\n", $$1, $$2}'

run: ## serve the API on 127.0.0.1:8080 (private dev DB unless DATABASE_URL is set; seeds demo data)
	@$(with_dev_db); \
	if [ -z "$${LISTEN_ADDR:-}" ]; then \
		export LISTEN_ADDR=127.0.0.1:8080; \
		echo "Listening on loopback only; LISTEN_ADDR=:8080 (with your own ADMIN_TOKEN) exposes it to the network."; \
	fi; \
	if [ -z "$${ADMIN_TOKEN:-}" ]; then export ADMIN_TOKEN=dev-admin-token; echo "ADMIN_TOKEN=$$ADMIN_TOKEN"; fi; \
	export SEED_DEMO=1; \
	exec $(GO) run . serve

test: stripe-mock ## go vet + race tests (private cluster unless TEST_DATABASE_URL is set; stripe-mock from bin/)
	@if [ -z "$${TEST_DATABASE_URL:-}" ]; then \
		TEST_DATABASE_URL="$$(DEVDB_NAME=postgres $(DEVDB) url)"; export TEST_DATABASE_URL; \
	fi; \
	unset DATABASE_URL; \
	export STRIPE_MOCK="$(STRIPE_MOCK)"; \
	$(GO) vet ./...; \
	$(GO) test -race -count=1 ./...

test-payments: stripe-mock ## the payment tests alone (storage, payments, graph), against stripe-mock
	@if [ -z "$${TEST_DATABASE_URL:-}" ]; then \
		TEST_DATABASE_URL="$$(DEVDB_NAME=postgres $(DEVDB) url)"; export TEST_DATABASE_URL; \
	fi; \
	unset DATABASE_URL; \
	export STRIPE_MOCK="$(STRIPE_MOCK)"; \
	$(GO) test -race -count=1 -run 'Payment|Checkout|Stripe|Webhook|Crash|Late|Failure|Abandon|Manual|Action|Race|Storm|Pending' ./storage/ ./payments/... ./graph/

stripe-mock: ## install stripe-mock (the version pinned here) into bin/ unless it is there
	@if [ ! -x "$(STRIPE_MOCK)" ] || [ "$$(cat bin/.stripe-mock-version 2>/dev/null)" != "$(STRIPE_MOCK_VERSION)" ]; then \
		echo "installing stripe-mock $(STRIPE_MOCK_VERSION) into bin/"; \
		GOBIN="$(CURDIR)/bin" $(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION); \
		echo "$(STRIPE_MOCK_VERSION)" > bin/.stripe-mock-version; \
	fi

# The fault tests stop and start their PostgreSQL server, so they get a
# cluster of their own (never the dev/test one): data in .data/faults-pg.
FAULTS_DEVDB_ENV := DEVDB_DIR=.data/faults-pg DEVDB_PORT=54439

test-faults: ## fault-injection tests (own private PostgreSQL cluster)
	@export $(FAULTS_DEVDB_ENV); rm -rf .data/faults-logs; \
	trap '$(DEVDB) stop || true' EXIT; \
	FAULTS_DATABASE_URL="$$(DEVDB_NAME=postgres $(DEVDB) url)"; export FAULTS_DATABASE_URL; \
	export FAULTS_DEVDB="$(CURDIR)/$(DEVDB)" FAULTS_DEVDB_ENV="$(FAULTS_DEVDB_ENV)" FAULTS_LOG_DIR="$(CURDIR)/.data/faults-logs"; \
	unset DATABASE_URL TEST_DATABASE_URL; \
	$(GO) test -tags faults -race -count=1 -v -timeout 5m ./faults/

# A local production topology (scripts/cluster.sh): nginx on 127.0.0.1:8090
# in front of CLUSTER_REPLICAS (3) replicas, PgBouncer in transaction mode,
# the private dev PostgreSQL cluster; state and logs in .data/cluster.
cluster-up: ## nginx + 3 replicas + PgBouncer on the dev DB (scripts/cluster.sh; `scripts/cluster.sh env` prints its URLs)
	@GO="$(GO)" scripts/cluster.sh up
	@GO="$(GO)" scripts/cluster.sh env

cluster-down: ## stop the cluster-up topology (PostgreSQL keeps running)
	@scripts/cluster.sh down

test-cluster: ## cluster tests (./cluster): flash sale, storm, subscriptions, rolling restart, kill -9, PgBouncer restart on a cluster of their own
	@GO="$(GO)" scripts/test-cluster.sh

bench: ## run ./cmd/holdbench $(BENCH_ARGS) against the dev DB
	@$(with_dev_db); \
	export ADMIN_TOKEN="$${ADMIN_TOKEN:-dev-admin-token}"; \
	exec $(GO) run ./cmd/holdbench $(BENCH_ARGS)

bench-scaling: ## hot and spread at 1, 2 and 4 replicas behind nginx + PgBouncer (holdbench -replicas; writes docs/scaling.md's table)
	@$(with_dev_db); \
	export ADMIN_TOKEN="$${ADMIN_TOKEN:-dev-admin-token}"; \
	exec $(GO) run ./cmd/holdbench -replicas 1,2,4 $(BENCH_ARGS)

bench-refusal: ## what refusing hostile documents costs, against a small query (Go benchmark)
	$(GO) test -run '^$$' -bench Refusal -benchmem -count 3 ./graph/

bench-render: ## what rendering a storefront cart of 1 and 100 lines costs (Go benchmark)
	@if [ -z "$${TEST_DATABASE_URL:-}" ]; then TEST_DATABASE_URL="$$(DEVDB_NAME=postgres $(DEVDB) url)"; export TEST_DATABASE_URL; fi; \
	$(GO) test -run '^$$' -bench 'StorefrontCart|CatalogGrid' -benchmem -count 3 ./graph/

bench-smoke: ## seconds-long holdbench run (CI), every scenario and shape: fails on oversell, an idle cell or a broken answer
	@$(MAKE) --no-print-directory bench BENCH_ARGS="-smoke"
	@# The scaling harness too, on replicas started straight on PostgreSQL.
	@$(MAKE) --no-print-directory bench BENCH_ARGS="-replicas 1,2 -topology direct -clients 4 -duration 500ms -spread-products 200 -scaling-out ''"

generate: ## go generate ./...
	$(GO) generate ./...

verify: ## regenerate and tidy; fail on any diff that caused, or on unformatted Go
	@if [ -n "$$(git status --porcelain --untracked-files=no)" ]; then \
		echo "verify: commit or stash your changes first (verify judges the diff that generation causes)"; \
		git status --short --untracked-files=no; exit 1; \
	fi
	@$(GO) generate ./...
	@$(GO) mod tidy
	@(cd tools && $(GO) mod tidy)
	@if [ -n "$$(git status --porcelain --untracked-files=no)" ]; then \
		echo "verify: go generate / go mod tidy changed tracked files:"; git status --short --untracked-files=no; \
		git --no-pager diff --stat; exit 1; \
	fi
	@files="$$(git ls-files --cached --others --exclude-standard -- '*.go')"; \
	bad="$$( [ -z "$$files" ] || gofmt -l $$files)"; \
	if [ -n "$$bad" ]; then echo "verify: not gofmt'ed:"; echo "$$bad"; exit 1; fi

lint: ## golangci-lint (version pinned in tools/go.mod, config in .golangci.yml)
	$(GO) tool -modfile=tools/go.mod golangci-lint run ./...

build: ## build bin/holdfast
	$(GO) build -o bin/holdfast .

db-start: ## start the private dev PostgreSQL cluster
	@$(DEVDB) start
db-stop: ## stop it (data kept)
	@$(DEVDB) stop
db-url: ## print the dev database URL (starting the cluster if needed)
	@$(DEVDB) url
db-destroy: ## stop it and delete its data
	@$(DEVDB) destroy

# The example storefront (examples/storefront): npm ci when its packages are
# missing or stale, a production build into dist/, then `make run` serving
# it at /shop/ (STOREFRONT_DIR). Its dev server: see examples/storefront/README.md.
STOREFRONT := examples/storefront

.PHONY: storefront storefront-build
storefront: storefront-build ## build examples/storefront and serve it at http://127.0.0.1:8080/shop/ (like make run)
	@STOREFRONT_DIR="$(CURDIR)/$(STOREFRONT)/dist" $(MAKE) --no-print-directory run

storefront-build: ## npm ci (if needed) + npm run build in examples/storefront (writes its dist/)
	@cd $(STOREFRONT); \
	if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
		npm ci --no-audit --no-fund; \
	fi; \
	npm run build

.PHONY: docs-check test-browser
docs-check: ## run the docs' example sessions on a fresh server; fail if answers drift
	@GO="$(GO)" scripts/docs-check.sh

test-browser: ## browser tests (e2e/, Playwright + Debian's Chromium) of GraphiQL and the storefront on fresh servers; writes docs/img/*.png
	@GO="$(GO)" scripts/test-browser.sh
