# Tagwarden: the two promises are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
CARGO ?= cargo
VENV := .venv
TOOLS_VENV := .venv-tools

.PHONY: help venv tools bench-venv demo emulator test fmt lint build unit emulator-test lint-infra cdk-check lambda-build package
.PHONY: bench bench-smoke soak clean corpus corpus-check fuzz-lock fuzz-tools fuzz-smoke fuzz

help:
	@echo "make demo   - both functions against the local emulator: tags before/after, then a budget enforced and restored"
	@echo "make test   - fmt, clippy -D warnings, unit + end-to-end tests, emulator self-test, templates linted,"
	@echo "              bench smoke; prints each stage's time at the end (docs/local-workflow.md)"
	@echo "make venv   - create .venv with the emulator (moto server + Tagwarden's extension)"
	@echo "make emulator - the emulator with the demo world's resources untagged, for replaying events by hand"
	@echo "make tools  - create .venv-tools with cargo-lambda, cfn-lint and the SAM CLI"
	@echo "make package - release Lambda zips of both functions (ARCH=x86_64|arm64)"
	@echo "make bench  - Tagwarden against Cloud Custodian, side by side, and estate-scale rows (~30 min); writes bench/RESULTS.md"
	@echo "make soak   - the long reliability runs: 10,000 events at concurrency 16, then each fuzz target for 10 min"
	@echo "make fuzz-smoke - each fuzz target for $(FUZZ_SMOKE_SECONDS) s (stable; in make soak)"
	@echo "make fuzz   - each fuzz target for $(FUZZ_SECONDS) s under cargo-fuzz + AddressSanitizer (nightly; slow first build)"

venv: $(VENV)/.installed
$(VENV)/.installed: tests/emulator/requirements.txt tests/cur/requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/emulator/requirements.txt -r tests/cur/requirements.txt
	touch $@

tools: $(TOOLS_VENV)/.installed
$(TOOLS_VENV)/.installed: tools/requirements.txt
	test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements.txt
	touch $@

demo: venv
	$(CARGO) run --quiet -p tagwarden-e2e --bin demo

# The emulator with the demo world and every sample's resource, untagged, for replaying events by hand.
EMULATOR_PORT ?= 5000
emulator: venv
	$(CARGO) run --quiet -p tagwarden-e2e --bin demo -- --serve $(EMULATOR_PORT)

# make test runs these stages through tools/stages, which prints each one's time at the end. Targets joined
# by '+' run at the same time (the installs and the CDK check wait on the network while cargo compiles);
# targets joined by ',' run one after the other within that branch.
TEST_STAGES := fmt,corpus-check,fuzz-lock build+venv,tools,bench-venv,emulator-test,lint-infra,cdk-check unit bench-smoke
# NOTE: `build` compiles every target once with clippy-driver as the workspace's rustc wrapper (what
# `cargo clippy` does, but a full build instead of a check), so the lints and the test binaries come out of
# one compilation; `unit` and `bench-smoke` then build nothing. CLIPPY_ARGS is how cargo-clippy hands
# `-D warnings` to clippy-driver ('__CLIPPY_HACKERY__' separates the arguments).
LINTED_BUILD := RUSTC_WORKSPACE_WRAPPER=clippy-driver CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
test:
	@$(LINTED_BUILD) tools/stages $(TEST_STAGES)

fmt:
	$(CARGO) fmt --all -- --check

# clippy on its own (make test gets the same lints from `build`).
lint:
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

# Every target of the workspace, for the tests (with make test's environment: linted by clippy as it builds).
build:
	$(CARGO) build --locked --workspace --all-targets

# Unit tests and the end-to-end tests under cargo-nextest (.config/nextest.toml): every test in its own
# process, four at a time, each end-to-end test with its own emulator on a free port.
unit: venv
	$(CARGO) nextest run --locked --workspace --no-fail-fast

emulator-test: venv
	$(VENV)/bin/python -m pytest -q tests/emulator

# The SAM template, checked offline by the real tools.
lint-infra: tools
	$(TOOLS_VENV)/bin/cfn-lint infra/template.yaml infra/member.yaml
	cd infra && SAM_CLI_TELEMETRY=0 ../$(TOOLS_VENV)/bin/sam validate --lint -t template.yaml --region us-east-1

# The CDK app: npm ci, synthesize without building the functions, check the template, cfn-lint it.
cdk-check: tools
	cd infra/cdk && npm ci --no-audit --no-fund --loglevel=error && PATH="$(CURDIR)/$(TOOLS_VENV)/bin:$$PATH" npm run --silent synth:check

# Release builds of both functions as Lambda zips: target/lambda/<function>/bootstrap.zip.
# ARCH=arm64 needs `rustup target add aarch64-unknown-linux-gnu` (the template's default architecture).
ARCH ?= x86_64
package: tools
	PATH="$(CURDIR)/$(TOOLS_VENV)/bin:$$PATH" cargo lambda build --release $(if $(filter arm64,$(ARCH)),--arm64,) \
		--output-format zip --bin auto-tagger --bin budget-enforcer
	@ls -l target/lambda/*/bootstrap.zip

lambda-build: package

# The long versions of the reliability tests (docs/guarantees.md); make test runs the short ones.
# (make fuzz is the deeper, slower fuzz run: cargo-fuzz with AddressSanitizer on nightly.)
SOAK_EVENTS ?= 10000
SOAK_FUZZ_SECONDS ?= 600
soak: venv
	TAGWARDEN_LOAD_EVENTS=$(SOAK_EVENTS) $(CARGO) test -p tagwarden-e2e --test e2e -- load:: --nocapture
	$(MAKE) fuzz-smoke FUZZ_SMOKE_SECONDS=$(SOAK_FUZZ_SECONDS)

# Tagwarden against Cloud Custodian, and estate-scale rows (bench/README.md): ~30 min on 2 cores, writes bench/RESULTS.md.
bench: venv
	$(VENV)/bin/python bench/run.py

# The same harness with tiny N and a debug build (~3 min, plus ~1 min the first time to install c7n).
bench-smoke: venv bench-venv
	$(VENV)/bin/python bench/run.py --smoke

# Cloud Custodian's own venv for the bench (bench/run.py installs it too when it is missing).
C7N_VENV := bench/.venv-c7n
bench-venv: $(C7N_VENV)/.installed
$(C7N_VENV)/.installed: bench/requirements-c7n.txt
	test -x $(C7N_VENV)/bin/python || $(PYTHON) -m venv $(C7N_VENV)
	$(C7N_VENV)/bin/pip install --quiet --disable-pip-version-check -r bench/requirements-c7n.txt
	touch $@

# The bad-input corpus (tests/corpus/, run by tests/e2e/corpus.rs) must be exactly what generate.py writes.
corpus:
	$(PYTHON) tests/corpus/generate.py
corpus-check:
	$(PYTHON) tests/corpus/generate.py --check

# Fuzzing (docs/guarantees.md, "Bad input and fuzzing"): libFuzzer targets in fuzz/ (its own workspace), seeded with the
# bad-input corpus and the events/ samples; findings land in fuzz/artifacts/ or the current directory.
# fuzz-smoke (in make soak): stable toolchain; fuzz/rustc-sancov.sh instruments only Tagwarden and the targets.
#   Its build compiles the AWS SDK again (the fuzz workspace enables fewer SDK features than the tests' build),
#   about 10 min on a loaded 2-core machine: that is why make test leaves it to make soak, and keeps the
#   bad-input corpus and the property tests over the same three parsers.
# fuzz: cargo-fuzz on nightly with AddressSanitizer, every crate instrumented, 10 min per target. Its first
#   build compiles the whole SDK again (not finished after 70 min on the shared 2-core machine).
FUZZ_TARGETS := cloudtrail budget_alert policy
FUZZ_SMOKE_SECONDS ?= 25
FUZZ_SECONDS ?= 600
FUZZ_FLAGS := -max_len=131072 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
fuzz_seeds_cloudtrail := tests/corpus/auto-tagger events/auto-tagger
fuzz_seeds_budget_alert := tests/corpus/budget-enforcer events/budget-enforcer
fuzz_seeds_policy := tests/corpus/policy policy

# fuzz/ is its own workspace with its own lock file: make test checks that the lock is current (a stale one
# fails here instead of being rewritten), and every fuzz build uses it as it is.
fuzz-lock:
	$(CARGO) metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null

fuzz-smoke:
	RUSTC_WRAPPER=$(CURDIR)/fuzz/rustc-sancov.sh $(CARGO) build --locked --quiet --manifest-path fuzz/Cargo.toml \
		--target-dir target --config 'profile.dev.debug="line-tables-only"' \
		--config 'profile.dev.package."*".debug=false' --bins
	mkdir -p fuzz/artifacts
	$(foreach t,$(FUZZ_TARGETS),mkdir -p fuzz/corpus/$(t) && target/debug/$(t) fuzz/corpus/$(t) $(fuzz_seeds_$(t)) \
		$(FUZZ_FLAGS) -max_total_time=$(FUZZ_SMOKE_SECONDS) -artifact_prefix=fuzz/artifacts/ && ) true

fuzz-tools:
	rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	$(CARGO) +nightly fuzz --version >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked

fuzz: fuzz-tools
	$(CARGO) +nightly fuzz build --fuzz-dir fuzz
	$(foreach t,$(FUZZ_TARGETS),mkdir -p fuzz/corpus/$(t) && $(CARGO) +nightly fuzz run --fuzz-dir fuzz $(t) \
		fuzz/corpus/$(t) $(fuzz_seeds_$(t)) -- $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SECONDS) && ) true

clean:
	rm -rf $(VENV) $(TOOLS_VENV) bench/.venv-c7n bench/work
	$(CARGO) clean
	rm -rf fuzz/target fuzz/corpus fuzz/artifacts
