# refundflow — the two commands are `make dev` and `make test`.
GO    ?= go
TOOLS := -modfile=tools/go.mod
export GOTOOLCHAIN := local

.PHONY: dev test fuzz build generate vet bench chaos

## dev: the whole product on embedded defaults (PostgreSQL, Temporal + UI, stripe-mock), in the foreground.
## Built, then run, rather than go run: go run exits 1 after any Ctrl-C, whatever the program's own status.
## DEVFLAGS are refundflow-dev's flags (-data, -postgres-port, -temporal-address).
dev:
	@scripts/deps dev
	@$(MAKE) --no-print-directory bin/stripe-mock
	$(GO) build -o bin/refundflow-dev ./cmd/refundflow-dev
	bin/refundflow-dev $(DEVFLAGS)

## test: every test, against a throwaway PostgreSQL and in-process Temporal servers, then a short fuzz run.
## scripts/deps first brings the machine up to what the tests need (as root it installs the Debian packages).
test:
	@scripts/deps test
	@$(MAKE) --no-print-directory vet $(REDOCLY)
	$(GO) run ./cmd/withpg -- sh -c '$(GO) test -count=1 -timeout 20m ./... && $(MAKE) --no-print-directory fuzz'

# Each target runs for a number of executions (about 10 s here), not for a
# duration: with a -fuzztime duration, Go 1.26's fuzz coordinator can fail a
# healthy target with a bare "context deadline exceeded" when the time runs out
# while a worker is mid-input (golang/go#75804, fixed in Go 1.27). A count has no
# deadline to race. FUZZTIME=1m (or 50000x) sets one budget for every target.
FUZZTIME ?=
FUZZ := api:FuzzEveryRoute:10000x api:FuzzStripeWebhook:3000x console:FuzzConsole:10000x policy:FuzzDecodeAndEvaluate:200000x \
	calendar:FuzzParse:100000x calendar:FuzzBusinessTimeRoundTrip:200000x

## fuzz: every fuzz target for its budget (the seed corpora also run in every go test)
fuzz:
	@for t in $(FUZZ); do \
	  pkg=$${t%%:*}; t=$${t#*:}; name=$${t%%:*}; budget=$(or $(FUZZTIME),$${t#*:}); \
	  echo "fuzz $$pkg:$$name for $$budget"; \
	  $(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $$budget -timeout 10m ./$$pkg || exit 1; \
	done

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) tool $(TOOLS) staticcheck ./...
	$(GO) tool $(TOOLS) sqlc diff

## build: the production binary
build:
	$(GO) build -trimpath -o bin/refundflow ./cmd/refundflow

## generate: regenerate typed queries from postgres/queries/*.sql
generate:
	$(GO) tool $(TOOLS) sqlc generate

## bench: performance against SPEC 7's bars (about half an hour on 2 cores); prints a table, writes internal/bench/results.json
bench: bin/vegeta build
	$(GO) build -o bin/refundflow-bench ./cmd/refundflow-bench
	bin/refundflow-bench -refundflow bin/refundflow -vegeta bin/vegeta -out internal/bench/results.json $(BENCHFLAGS)

bin/vegeta: tools/go.mod tools/go.sum
	$(GO) build $(TOOLS) -o $@ github.com/tsenart/vegeta/v12

## chaos: SPEC 7's reliability bar — hundreds of refunds as separate processes while workers, the API and Temporal are
## killed, PostgreSQL crashes, Stripe misbehaves and the mail server and the platform's webhook receiver fail; checks
## money, requests and messages; one summary line, exit 1 on any violation, findings in the work dir.
## CHAOSFLAGS are refundflow-chaos's flags (-seed N, -cases N, -short, -work DIR).
chaos:
	$(GO) build -o bin/refundflow-chaos ./cmd/refundflow-chaos
	bin/refundflow-chaos $(CHAOSFLAGS)

# Redocly CLI, which the OpenAPI lint test runs (api/openapi_integrators_test.go), exactly as
# tools/redocly/package-lock.json pins it; installed again only when the lock changes.
REDOCLY := tools/redocly/node_modules/.package-lock.json
$(REDOCLY): tools/redocly/package.json tools/redocly/package-lock.json
	cd tools/redocly && npm ci --no-audit --no-fund --no-update-notifier

bin/stripe-mock: tools/go.mod tools/go.sum
	$(GO) build $(TOOLS) -o $@ github.com/stripe/stripe-mock
