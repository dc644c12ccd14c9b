# vgic-harness: two commands matter on a fresh clone: `make run_tests` and `make check`.
SHELL := /bin/bash
NODE := node --import=tsx
STAMP := node_modules/.install-stamp

# Runner options, e.g. make run_tests TESTS="vgic_group_*" RUN_FLAGS="--format ktap"
TESTS ?=
RUN_FLAGS ?=
# They reach the recipes as environment variables, never as shell text: a value such as
# TESTS='x; touch pwned' is split into words (no globbing: set -f) and nothing in it runs.
export TESTS RUN_FLAGS

.PHONY: all install run_tests check typecheck unit selftests bench clean

all: check

# Install dependencies only when missing or when package files changed. npm's chatter goes to
# stderr: stdout of `make run_tests` is the report only, on the first run too.
$(STAMP): package.json $(wildcard package-lock.json)
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >&2; else npm install --no-audit --no-fund >&2; fi
	@touch $(STAMP)

install: $(STAMP)

run_tests: $(STAMP)
	@set -f; $(NODE) bin/vgic-harness.ts run $$RUN_FLAGS $$TESTS

typecheck: $(STAMP)
	node_modules/.bin/tsc --noEmit -p tsconfig.json

unit: $(STAMP)
	node_modules/.bin/tap

selftests: run_tests

check: typecheck unit selftests

bench: $(STAMP)
	$(NODE) bench/index.ts

clean:
	rm -rf node_modules .tap

# Conformance against real KVM (README): Debian arm64 kernels under QEMU TCG vs the model.
# Installs what is missing (apt); CONF_FLAGS passes options, e.g. CONF_FLAGS="--gic 3 -v".
# Passed as environment variables, like TESTS and RUN_FLAGS: nothing in them runs as shell text.
CONF_KERNELS ?= 6.12.117 7.2.13
CONF_FLAGS ?=
export CONF_KERNELS CONF_FLAGS
.PHONY: conformance
conformance: $(STAMP)
	@set -f; set --; for k in $$CONF_KERNELS; do set -- "$$@" --kernel "$$k"; done; $(NODE) bin/vgic-harness.ts conformance "$$@" $$CONF_FLAGS
