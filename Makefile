# crmsync — see README.md. Everything runs with the Go toolchain only.
GO      ?= go
BIN     ?= bin
PKGS    := ./...
# Record the VCS revision for `crmsync version` even where GOFLAGS turns it off.
BUILDFLAGS := -trimpath -buildvcs=true
RACE    ?= -race
DEMO_DIR ?= $(BIN)/demo

.PHONY: all build test check lint vet staticcheck unit short vulncheck campaigns fuzz-short monitoring demo bench clean

all: build

# CGO_ENABLED=0: SQLite is pure Go, so the binary is static and runs on any Linux of its architecture.
build:
	CGO_ENABLED=0 $(GO) build $(BUILDFLAGS) -o $(BIN)/crmsync ./cmd/crmsync
	@if [ -d cmd/crmsync-sandbox ]; then $(GO) build $(BUILDFLAGS) -o $(BIN)/crmsync-sandbox ./cmd/crmsync-sandbox; fi

## test: vet, staticcheck, the race-enabled test suite, a short fuzz run, the crash campaigns at
## thousands of orders and the monitoring files' check (what CI runs).
test: lint fuzz-short unit campaigns monitoring

# The alert rules and the dashboard's queries, checked with Prometheus's own parsers (promtool check
# rules). deploy/validate is a module of its own so that Prometheus's dependencies stay out of
# crmsync's go.mod; a cold download and build of it takes about a minute.
monitoring:
	cd deploy/validate && $(GO) test -count=1 ./...

## check: the fast inner loop: vet, staticcheck, gofmt, the short test suite (no crash campaigns, no
## -race), and govulncheck when its vulnerability database can be reached.
check: lint short vulncheck

# The short tests mostly wait (client rate limits, retry backoffs, fake slow
# answers) rather than compute, so more of them run at once than the default
# of one per core.
short:
	$(GO) test -short -count=1 -parallel 8 -timeout 10m $(PKGS)

# govulncheck needs its vulnerability database, on a host of its own, which a machine that reaches only the Go
# module proxy cannot: a module-level scan of one package is the probe (well under a second when the
# database answers or the name does not resolve); only when it reached the database does the full
# scan run, and then its findings fail the target.
VULNCHECK_PROBE_TIMEOUT ?= 20
vulncheck:
	@out=$$(timeout $(VULNCHECK_PROBE_TIMEOUT) $(GO) tool govulncheck -C cmd/crmsync -scan module 2>&1); rc=$$?; \
	if [ $$rc -eq 124 ]; then \
		echo "govulncheck: SKIPPED: the vulnerability database did not answer within $(VULNCHECK_PROBE_TIMEOUT)s"; \
	elif echo "$$out" | grep -q 'fetching vulnerabilities'; then \
		echo "govulncheck: SKIPPED: the vulnerability database cannot be reached:"; \
		echo "$$out" | grep 'fetching vulnerabilities' | head -1 | sed 's/^/  /'; \
	else \
		$(GO) tool govulncheck ./...; \
	fi

lint: vet staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) tool staticcheck $(PKGS)

unit:
	$(GO) test $(RACE) -count=1 -timeout 20m $(PKGS)

# The SIGKILL campaigns on the real binary at CAMPAIGN_ORDERS orders (the race-enabled suite runs
# them at a few hundred); without -race, so a few thousand fit in a couple of minutes.
CAMPAIGN_ORDERS ?= 3000
campaigns:
	CRMSYNC_CAMPAIGN_ORDERS=$(CAMPAIGN_ORDERS) $(GO) test -count=1 -timeout 30m -run '^Test(Pull|Backfill)SurvivesSIGKILL$$' ./cmd/crmsync

# Each parser's fuzz target runs for FUZZTIME; longer runs: make fuzz-short FUZZTIME=10m.
FUZZTIME ?= 2s
FUZZ_TARGETS := ./retailcrm:FuzzDecodeHistory ./retailcrm:FuzzDecodeOrder ./retailcrm:FuzzDecodeError ./retailcrm:FuzzLookup \
	./bitrix:FuzzDecodeEnvelope ./bitrix:FuzzDecodeError ./bitrix:FuzzDecodeBatchResponse ./bitrix:FuzzBuildQuery ./bitrix:FuzzEscapeMarkup \
	./sync/config:FuzzLoad ./sync:FuzzNormalize ./sync/rules:FuzzRuleTemplate ./sync/serve:FuzzParseBitrixEvent

# Go's fuzzing engine can end a short run with "context deadline exceeded" before its first result (no input is
# found or saved then): that one case is run once more; a failing input never is.
fuzz-short:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($(FUZZTIME))"; \
		ok=0; for try in 1 2; do \
			if out=$$($(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) $${t%%:*} 2>&1); then ok=1; break; fi; \
			case "$$out" in \
			*"Failing input written"*) break;; \
			*"context deadline exceeded"*) if [ $$try = 1 ]; then echo "  the fuzzing engine timed out before its first result, no input found: once more"; fi;; \
			*) break;; \
			esac; \
		done; \
		[ $$ok = 1 ] || { echo "$$out" | grep -v '^fuzz: elapsed' | tail -40; echo "fuzzing $$t failed (the input is saved under testdata/fuzz)"; exit 1; }; \
	done

## demo: run crmsync against the bundled fake RetailCRM and Bitrix24 servers.
demo: build
	@BIN=$(BIN) DEMO_DIR=$(DEMO_DIR) sh testdata/demo.sh

## bench: benchmarks: every performance target beside its figure, as ratios, in one run (about 10 minutes
## on 2 cores); the figures go to BENCHMARKS.md and the Figures section of README.md.
bench:
	$(GO) run ./cmd/crmsync-bench -out BENCHMARKS.md -readme README.md $(BENCHFLAGS)
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf $(BIN)
	$(GO) clean -testcache
