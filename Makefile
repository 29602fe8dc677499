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

.PHONY: test demo venv lint unit build clean

## test: lint, then every unit, adapter and end-to-end test
test: venv lint
	$(TEST_ENV) TAG_WARDEN_MOTO_SERVER=$(CURDIR)/$(VENV)/bin/moto_server cargo test --all-targets

## demo: run the real handler on every sample in events/ against a local moto server
demo: venv build
	$(VENV)/bin/python tools/demo.py

## venv: the Python tools the tests use (moto server), pinned in tools/requirements.txt
venv: $(VENV_STAMP)
$(VENV_STAMP): tools/requirements.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements.txt
	touch $@

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

unit:
	$(TEST_ENV) cargo test --lib

build:
	cargo build

clean:
	cargo clean
	rm -rf $(VENV)
