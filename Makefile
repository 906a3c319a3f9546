# Portico: `make run` and `make test` install whatever is missing, then build.
# Every tool is pinned here; nothing is downloaded at build time by the tools
# themselves (cargo-leptos is built with `no_downloads`).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

RUST_TOOLCHAIN       := 1.96.0
CARGO_LEPTOS_VERSION := 0.3.11
# Must equal the `wasm-bindgen = "=…"` pin in Cargo.toml.
WASM_BINDGEN_VERSION := 0.2.130
# `make fuzz`: cargo-fuzz runs on the nightly toolchain (libFuzzer needs it).
CARGO_FUZZ_VERSION   := 0.13.2
FUZZ_SECONDS         ?= 600

export PATH := $(HOME)/.cargo/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/postgres

STAGE := $(CURDIR)/.ci/stage

# Where the end-to-end suite's portal listens, and its throwaway data.
E2E_ADDR := 127.0.0.1:3100
E2E_URL  := http://localhost:3100
E2E_DATA := $(CURDIR)/target/e2e-data
# Outside the data directory, which the suite searches for leaked markers.
E2E_LOG  := $(CURDIR)/target/e2e.log
# The test SMTP server (server/tests/support/smtp_server.py, on aiosmtpd): the
# SMTP tests start their own; the end-to-end portal sends to one on this port.
E2E_SMTP_PORT := 2525
AIOSMTPD_VERSION := 1.4.6
SMTP_VENV := $(CURDIR)/target/smtp-venv
export TEST_SMTP_PYTHON ?= $(SMTP_VENV)/bin/python

.PHONY: help run test tools test-tools toolchain cargo-leptos wasm-bindgen node-packages \
        chromium postgres-reachable smtp-server unit-tests e2e build release sizes lint clean \
        bench-eob bench bench-tools fuzz cargo-fuzz

help:
	@echo "make run    install what is missing, build, serve http://localhost:3000 (SQLite, file mail)"
	@echo "make test   install what is missing, run every test (unit, SQLite, PostgreSQL, Chromium)"
	@echo "make lint   rustfmt and clippy"
	@echo "make sizes  build for release and print the compressed size of what the first page loads"
	@echo "make bench-eob  bulk-publish 100,000 generated EOBs over HTTP to a release build; EOB/s and peak RSS"
	@echo "make bench  view load on seeded data (SQLite, then PostgreSQL): req/s, p50, p99, audit rows"
	@echo "make fuzz   fuzz the EOB parser and validator for FUZZ_SECONDS (default 600; nightly Rust)"

## ---- the two commands -------------------------------------------------------

run: tools
	$(STAGE) "build (release)" cargo leptos build --release
	target/release/portico demo
	@echo "Portico: data under ./data, mail written to ./data/outbox/"
	cargo leptos serve --release

test:
	$(STAGE) "install tools" $(MAKE) --no-print-directory test-tools
	$(STAGE) "unit and integration tests (SQLite, PostgreSQL)" $(MAKE) --no-print-directory unit-tests
	$(STAGE) "end-to-end tests (Chromium)" $(MAKE) --no-print-directory e2e

## ---- tests ------------------------------------------------------------------

unit-tests: postgres-reachable smtp-server
	cargo test --workspace --locked

# The portal sends its mail over SMTP to the test server, which keeps each
# message as a file under $(E2E_DATA)/maildir; the server is stopped on any exit.
# cargo-leptos has exited 0 after a failed build: the suite's own report must
# say it ran tests and none failed.
e2e: smtp-server
	rm -rf "$(E2E_DATA)"
	mkdir -m 700 -p "$(E2E_DATA)"
	"$(TEST_SMTP_PYTHON)" server/tests/support/smtp_server.py --port $(E2E_SMTP_PORT) \
	  --maildir "$(E2E_DATA)/maildir" >"$(E2E_DATA)/smtp.log" 2>&1 & smtp=$$!; \
	trap 'kill $$smtp 2>/dev/null; wait $$smtp 2>/dev/null || true' EXIT; \
	for _ in $$(seq 100); do grep -q ready "$(E2E_DATA)/smtp.log" && break; sleep 0.1; done; \
	grep -q ready "$(E2E_DATA)/smtp.log" || { echo "the test SMTP server did not start:"; cat "$(E2E_DATA)/smtp.log"; exit 1; }; \
	PORTICO_LISTEN=$(E2E_ADDR) PORTICO_PUBLIC_URL=$(E2E_URL) PORTICO_DATA_DIR="$(E2E_DATA)" \
	PORTICO_IDLE_TIMEOUT=20s PORTICO_MAIL_TRANSPORT=smtp+insecure://127.0.0.1:$(E2E_SMTP_PORT) \
	E2E_BASE_URL=$(E2E_URL) E2E_MAILDIR="$(E2E_DATA)/maildir" PORTICO_LOG=info \
	cargo leptos end-to-end 2>&1 | tee "$(E2E_LOG)"; \
	status=$${PIPESTATUS[0]}; \
	grep -q '^# pass [1-9]' "$(E2E_LOG)" && grep -qx '# fail 0' "$(E2E_LOG)" \
	  && [ "$$status" -eq 0 ] || { echo "the end-to-end suite did not build, run and pass whole (exit $$status)"; exit 1; }

## ---- tools: each installs only when missing or at the wrong version ---------

tools: toolchain cargo-leptos wasm-bindgen node-packages

test-tools: tools chromium postgres-reachable smtp-server

toolchain:
	@command -v rustup >/dev/null || { echo "rustup is required (https://rustup.rs)"; exit 1; }
	rustup toolchain install $(RUST_TOOLCHAIN) --profile minimal --no-self-update
	rustup target add --toolchain $(RUST_TOOLCHAIN) wasm32-unknown-unknown
	rustup component add --toolchain $(RUST_TOOLCHAIN) rustfmt clippy

# The tools are built with a light release profile: their own (fat LTO, one
# codegen unit) took about 40 minutes for cargo-leptos on two cores, and these
# tools spend their time waiting on cargo, not computing.
TOOL_PROFILE := CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1

cargo-leptos: toolchain
	@if cargo-leptos --version 2>/dev/null | grep -q " $(CARGO_LEPTOS_VERSION)$$"; then \
	  echo "cargo-leptos $(CARGO_LEPTOS_VERSION) is installed"; \
	else \
	  $(TOOL_PROFILE) cargo +$(RUST_TOOLCHAIN) install cargo-leptos --version $(CARGO_LEPTOS_VERSION) --locked --features no_downloads; \
	fi

# Not --locked: its lock file names a crate version the registry no longer serves.
wasm-bindgen: toolchain
	@if wasm-bindgen --version 2>/dev/null | grep -q " $(WASM_BINDGEN_VERSION)$$"; then \
	  echo "wasm-bindgen-cli $(WASM_BINDGEN_VERSION) is installed"; \
	else \
	  $(TOOL_PROFILE) cargo +$(RUST_TOOLCHAIN) install wasm-bindgen-cli --version =$(WASM_BINDGEN_VERSION); \
	fi

# wasm-opt (npm binaryen) for release builds, playwright-core for the browser tests.
node-packages:
	@command -v npm >/dev/null || { apt-get update && apt-get install -y nodejs npm; }
	@if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  npm ci --no-audit --no-fund; \
	else echo "node packages are installed"; fi

chromium:
	@if [ -x /usr/bin/chromium ]; then echo "chromium is installed"; \
	else apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-liberation; fi

# Python with aiosmtpd in a venv under target/, for the test SMTP server.
smtp-server:
	@if "$(TEST_SMTP_PYTHON)" -c 'import aiosmtpd' 2>/dev/null; then echo "aiosmtpd is installed"; \
	else \
	  command -v python3 >/dev/null || { apt-get update && apt-get install -y python3 python3-venv; }; \
	  python3 -m venv "$(SMTP_VENV)" || { apt-get update && apt-get install -y python3-venv && python3 -m venv "$(SMTP_VENV)"; }; \
	  "$(SMTP_VENV)/bin/pip" install --quiet aiosmtpd==$(AIOSMTPD_VERSION); \
	  "$(TEST_SMTP_PYTHON)" -c 'import aiosmtpd' || { echo "ERROR: aiosmtpd did not install into $(SMTP_VENV)"; exit 1; }; \
	fi

# cargo-fuzz for `make fuzz`, built by the nightly toolchain it drives.
cargo-fuzz:
	@command -v rustup >/dev/null || { echo "rustup is required (https://rustup.rs)"; exit 1; }
	@rustup toolchain list | grep '^nightly' >/dev/null || rustup toolchain install nightly --profile minimal --no-self-update
	@if cargo +nightly fuzz --version 2>/dev/null | grep -q " $(CARGO_FUZZ_VERSION)$$"; then \
	  echo "cargo-fuzz $(CARGO_FUZZ_VERSION) is installed"; \
	else \
	  $(TOOL_PROFILE) cargo +nightly install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked; \
	fi

postgres-reachable:
	@command -v psql >/dev/null || { apt-get update && apt-get install -y postgresql-client; }
	@psql "$(TEST_POSTGRES_URL)" -qtAc 'SELECT 1' >/dev/null 2>&1 || { \
	  echo "ERROR: PostgreSQL is not reachable at $(TEST_POSTGRES_URL)."; \
	  echo "       The tests need it (trust auth, user postgres); start it and run make test again."; \
	  exit 1; }
	@echo "PostgreSQL is reachable"

## ---- other ------------------------------------------------------------------

build: tools
	cargo leptos build

release: tools
	cargo leptos build --release

# What the first page loads, compressed as a server would send it.
sizes: release
	@for f in target/site/pkg/portico.wasm target/site/pkg/portico.js target/site/pkg/portico.css; do \
	  printf '%-32s %8d bytes, %8d gzipped\n' "$$f" $$(stat -c %s $$f) $$(gzip -9c $$f | wc -c); \
	done

# EOB_COUNT EOBs (default 100,000) over HTTP to a release build on SQLite.
EOB_COUNT ?= 100000
bench-eob: toolchain
	bench/eob/run.sh $(EOB_COUNT)

# The view load benchmark: seeded data, signed-in sessions, wrk against the
# bare handler, the inbox, a message and a statement; SQLite, then PostgreSQL.
BENCH_BACKENDS ?= both
bench: toolchain bench-tools postgres-reachable
	bench/views/run.sh $(BENCH_BACKENDS)

bench-tools:
	@if command -v wrk >/dev/null && command -v psql >/dev/null && command -v curl >/dev/null; then \
	  echo "wrk, psql and curl are installed"; \
	else apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	  wrk postgresql-client curl; fi

# libFuzzer on the EOB parser and validator (fuzz/, a workspace of its own).
# The committed seeds are copied into fuzz/corpus/, which grows as it runs and is
# not committed; a crash is saved under fuzz/artifacts/eob_parse/ and fails make.
fuzz: cargo-fuzz
	mkdir -p fuzz/corpus/eob_parse
	cp fuzz/seeds/eob_parse/* fuzz/corpus/eob_parse/
	cargo +nightly fuzz run eob_parse fuzz/corpus/eob_parse -- \
	  -dict=fuzz/eob.dict -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1

lint: toolchain
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

clean:
	cargo clean
	rm -rf node_modules data
