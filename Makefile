# tag-warden: `make test` installs what it needs and runs every check; `make demo` shows the
# handler at work against a local moto server. Everything runs on this machine, on loopback.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
VENV_STAMP := $(VENV)/.installed-$(shell sha1sum tools/requirements.txt | cut -c1-12)

# Tests never reach for real credentials, instance metadata or a real endpoint.
TEST_ENV := AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
	AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: test demo venv lint cfn-lint sam-validate guardrails bench-storm lambda-build measure bench bench-scale bench-quota fuzz unit build clean

## test: lint (rustfmt, clippy, cfn-lint), the release Lambda build, every test, then the
## policy test cases in policies/ (as a user's CI would run them)
test: venv lint cfn-lint sam-validate lambda-build
	$(TEST_ENV) cargo test --all-targets --features e2e
	for cases in policies/*.cases.yaml tests/fixtures/aws-docs/*.cases.yaml; do ./target/debug/tag-warden test "$$cases"; done
	$(TEST_ENV) $(VENV)/bin/python bench/storm.py --check --n 40 --quota 5 --c 8

## lambda-build: what users deploy (x86_64 here; users deploy --arm64, which this machine cannot build)
lambda-build: venv
	cargo lambda build --release --x86-64
	cargo lambda build --release --x86-64 --output-format zip

cfn-lint: venv
	cfn-lint template.yaml deploy/member.yaml policies/*.template.json

## sam-validate: the SAM CLI's own check (transform and lint) of both stacks, offline
sam-validate: venv
	for t in template.yaml deploy/member.yaml; do SAM_CLI_TELEMETRY=0 $(TEST_ENV) sam validate --lint -t $$t; done

## guardrails: the committed guardrails of the example policies (a test keeps them current)
GUARDRAILS := target/debug/tag-warden guardrails --exempt-principal 'arn:aws:iam::*:role/tag-warden-member'
guardrails: build
	$(GUARDRAILS) --policy policies/example.json --kind scp > policies/example.guardrails.scp.json
	$(GUARDRAILS) --policy policies/example-v2.yaml --kind rcp --org-id o-exampleorg1 > policies/example-v2.guardrails.rcp.json
	$(GUARDRAILS) --policy policies/example-v2.yaml --kind scp --format cloudformation > policies/example-v2.guardrails.scp.template.json

## fuzz: a long fuzzing pass over the event parser and the policy loader (make test runs a short one)
FUZZ_CASES ?= 100000
fuzz:
	FUZZ_CASES=$(FUZZ_CASES) cargo test --test offline fuzz:: -- --nocapture

## measure: cold start and peak RSS of the release bootstrap, per kind of event
measure: venv lambda-build
	$(TEST_ENV) cargo test --features e2e --test e2e lambda::cold_start -- --nocapture

## demo: run the real handler on every sample in events/ against a local moto server
demo: venv build
	$(VENV)/bin/python tools/demo.py

# A virtualenv made afresh from a requirements file whenever that file changes (its hash is
# in the stamp's name): $(call fresh_venv,DIR,REQUIREMENTS)
define fresh_venv
	rm -rf $(1)
	$(PYTHON) -m venv $(1)
	$(1)/bin/pip install --quiet --disable-pip-version-check -r $(2)
	touch $@
endef

## venv: the Python tools the tests use (moto server, cargo-lambda, cfn-lint), pinned in tools/requirements.txt
venv: $(VENV_STAMP)
$(VENV_STAMP): tools/requirements.txt
	$(call fresh_venv,$(VENV),tools/requirements.txt)

lint:
	cargo fmt --check
	cargo clippy --all-targets --all-features -- -D warnings

## bench: tag-warden reconcile vs Cloud Custodian on moto, the sweep at scale, then both tools at
## AWS's quotas (a quota-enforcing proxy) and an organization's sweep (not part of make test);
## writes bench/RESULTS.md (bench-quota: the last part alone)
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed-$(shell sha1sum bench/requirements.txt | cut -c1-12)
bench: $(BENCH_STAMP) lambda-build
	$(BENCH_VENV)/bin/python bench/run.py
	$(BENCH_VENV)/bin/python bench/scale.py
	$(BENCH_VENV)/bin/python bench/quota.py

bench-quota: $(BENCH_STAMP) lambda-build
	$(BENCH_VENV)/bin/python bench/quota.py

## bench-storm: N UntagResource events at once through a write quota (200 at 5/s, 1,000 at 50/s),
## C = 32 invocations at a time; writes its section of bench/RESULTS.md
bench-storm: venv build
	$(VENV)/bin/python bench/storm.py

## bench-scale: peak RSS and time of a report-mode sweep against 1,000-12,000 secrets; fails when
## peak RSS grows by more than 3 MiB from 2,000 to 12,000 (SCALE_SIZES, TAG_WARDEN_OLD_BIN to compare)
bench-scale: $(BENCH_STAMP) lambda-build
	$(BENCH_VENV)/bin/python bench/scale.py
$(BENCH_STAMP): bench/requirements.txt
	$(call fresh_venv,$(BENCH_VENV),bench/requirements.txt)

unit:
	$(TEST_ENV) cargo test --lib

build:
	cargo build

clean:
	cargo clean
	rm -rf $(VENV) $(BENCH_VENV)
