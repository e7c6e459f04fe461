# schedlab: the two commands a newcomer needs are `make run-all` and
# `make test`. Everything else here is a shortcut to the `schedlab` runner
# or to cargo.
#
#   make run-all [ARGS=--quick|--full] build (release) and run every scenario (default profile), then the report
#   make run SCENARIO=name [ARGS=...]  one scenario, e.g. ARGS="--quick --runtime tokio,go"
#   make report [RUN=results/<id>]     rebuild plots and report from stored results (default: latest)
#   make test                          what CI runs (.ci/run): build, tests, clippy, fmt, Go vet/tests,
#                                      loom model checks, every scenario's quick profile with
#                                      its verdicts asserted, `schedlab watch` on a slice of its corpus
#   make bench                         gmp micro-benchmarks (criterion), then the Go ratio table
#   make stress                        gmp's long stress tests (ignored by default)
#   make clean-results                 delete every stored run (keeps results/README.md)

SHELL := /bin/bash
CARGO ?= cargo
SCHEDLAB := target/release/schedlab

# Go for the reference column: Debian installs Go 1.19 under
# /usr/lib/go-1.19/bin without putting it on PATH. Use it when `go` is not
# already on PATH. (The runner finds Go by itself too; this is for
# `make test`'s Go checks and for humans.)
GO_DEBIAN := /usr/lib/go-1.19/bin
ifeq ($(shell command -v go 2>/dev/null),)
ifneq ($(wildcard $(GO_DEBIAN)/go),)
export PATH := $(GO_DEBIAN):$(PATH)
endif
endif

.PHONY: help run-all run report test test-rust test-go test-loom test-scenarios test-watch bench bench-gmp bench-go-ratio stress clean-results

help:
	@sed -n '1,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

run-all:
	$(CARGO) build --release --workspace --bins
	$(SCHEDLAB) run-all $(ARGS)

run:
	@if [ -z "$(SCENARIO)" ]; then \
		echo "usage: make run SCENARIO=<name> [ARGS='--quick --runtime tokio,go']" >&2; \
		echo "scenarios: $$(ls scenarios | tr '\n' ' ')" >&2; exit 2; fi
	$(CARGO) build --release --workspace --bins
	$(SCHEDLAB) run $(SCENARIO) $(ARGS)

report:
	$(CARGO) build --release -p schedlab --bins
	$(SCHEDLAB) report $(RUN)

test: test-rust test-go test-loom test-scenarios test-watch

# Debug builds throughout: `cargo build --workspace --bins` first, because
# the runner's end-to-end tests run the scenario binaries from target/debug.
test-rust:
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) fmt --check

# The loom model checks: gmp's M park/unpark and syscall P hand-off
# protocols, and the timer/stop-the-world protocol under both orderings.
# `--cfg loom` changes every crate's build, so they get their own target dir.
LOOM_ENV := RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom
test-loom:
	$(LOOM_ENV) $(CARGO) test --release -p gmp --test loom
	$(LOOM_ENV) $(CARGO) test --release -p gmp-modelcheck --test loom

# Every scenario's quick profile on every runtime it has, with its verdicts
# asserted: `--check` exits 3 when a verdict does not hold (a runtime skipped
# for the whole run, e.g. go without a toolchain, is exempt). Debug build;
# gmp itself is optimised in the dev profile (Cargo.toml) so the model's
# timing, not debug overhead, is what the verdicts see.
test-scenarios:
	$(CARGO) build --workspace --bins
	target/debug/schedlab run-all --quick --check --out target/test-runs/$$(date +%Y%m%d-%H%M%S)-$$$$

# `schedlab watch` on the lab's own programs: one buggy case per failure
# and one healthy, each watched 10 s (exit 3 when one is named wrongly).
# The whole matrix: target/release/schedlab watch-corpus.
test-watch:
	$(CARGO) build --workspace --bins
	target/debug/schedlab watch-corpus --quick

# The Go reference programs: vet, gofmt, unit tests (standard library only).
# Skipped with a message when no Go toolchain exists (.ci/run installs one).
test-go:
	@if command -v go >/dev/null 2>&1; then \
		set -e; cd reference/go; \
		echo "go: $$(go version)"; \
		go vet ./...; \
		unformatted="$$(gofmt -l .)"; \
		if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted" >&2; exit 1; fi; \
		go test ./...; \
	else \
		echo "go: not found (neither on PATH nor $(GO_DEBIAN)); skipping reference/go checks."; \
		echo "    install it with: apt-get install golang-1.19-go"; \
	fi

bench: bench-gmp bench-go-ratio

bench-gmp:
	$(CARGO) bench -p gmp

# Hook for the gmp/Go ratio table (the same micro-benchmarks written in Go,
# run with `go test -bench`, divided into the criterion figures). Its author
# replaces this recipe; until then it says so.
bench-go-ratio:
	@if [ -x bench/go-ratio ]; then bench/go-ratio; \
	else echo "bench-go-ratio: no Go ratio table yet (hook: an executable bench/go-ratio)"; fi

stress:
	$(CARGO) test -p gmp --release -- --ignored

clean-results:
	find results -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
