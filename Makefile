# Clearance: one Makefile for maintainers and CI. `make help` lists the targets.
# .venv/ is rebuilt only when the pinned requirements change (the stamp carries their hash),
# so a second `make test` starts in seconds.

SHELL := /bin/bash
.DEFAULT_GOAL := help

BOOTSTRAP_PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
REQ_HASH := $(shell cat requirements.txt requirements-nodeps.txt | sha256sum | cut -c1-16)
STAMP := $(VENV)/.installed-$(REQ_HASH)
EDITABLE := $(VENV)/.editable-installed

# The authorization matrix's IAM simulator (tools/authz; @cloud-copilot/iam-simulate is AGPL:
# test-only, never shipped). Reinstalled only when package-lock.json changes; no Node fails the tests.
AUTHZ_DIR := tools/authz
AUTHZ_HASH := $(shell sha256sum $(AUTHZ_DIR)/package-lock.json 2>/dev/null | cut -c1-16)
AUTHZ_STAMP := $(AUTHZ_DIR)/node_modules/.installed-$(AUTHZ_HASH)

CHECKOV_VENV := .venv-checkov
CHECKOV_HASH := $(shell sha256sum requirements-checkov.txt | cut -c1-16)
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_HASH)

# No AWS account anywhere: tests and demos talk to moto, in process or on 127.0.0.1.
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export SAGEMAKER_VALIDATE_ROLE := false
export SAGEMAKER_USER_CONFIG_OVERRIDE := $(CURDIR)/tests/sagemaker-config.yaml
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

PYTEST := $(PY) -m pytest
PYTEST_ARGS ?=

.PHONY: help venv checkov-venv authz-deps lint format test test-fast test-slow cfn-lint checkov check \
        demo demo-llm bench package publish bake clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-nodeps.txt
	@echo "venv: building $(VENV)/ from pinned requirements (first run only; several minutes)"
	rm -rf $(VENV)
	$(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==25.3"
	$(PY) -m pip install --quiet -r requirements.txt
	# These publish no usable dependency metadata (or pull in what we must not have): see the file's comments.
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

$(EDITABLE): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

venv: $(EDITABLE) ## Create or refresh .venv/ (reused while the pinned requirements are unchanged)

$(CHECKOV_STAMP): requirements-checkov.txt
	@echo "venv: building $(CHECKOV_VENV)/ (checkov pins libraries that clash with moto and cfn-lint)"
	rm -rf $(CHECKOV_VENV)
	$(BOOTSTRAP_PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

checkov-venv: $(CHECKOV_STAMP) ## Create or refresh .venv-checkov/

$(AUTHZ_STAMP): $(AUTHZ_DIR)/package-lock.json $(AUTHZ_DIR)/package.json
	@command -v npm >/dev/null || { echo "authz: npm (Node.js 20+) is required by the authorization tests" >&2; exit 1; }
	rm -rf $(AUTHZ_DIR)/node_modules
	npm ci --prefix $(AUTHZ_DIR) --no-audit --no-fund --ignore-scripts
	touch $@

authz-deps: $(AUTHZ_STAMP) ## Install the test-only IAM simulator (npm ci, when package-lock.json changed)

lint: venv ## ruff check, ruff format --check, and the import layers (import-linter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=$(CURDIR)/src $(VENV)/bin/lint-imports

format: venv ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

cfn-lint: venv ## cfn-lint every CloudFormation template
	$(VENV)/bin/cfn-lint servicecatalog/*.yaml

checkov: checkov-venv ## checkov on every CloudFormation template (offline)
	LOG_LEVEL=ERROR $(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -d servicecatalog

test-fast: venv authz-deps ## The fast tier: everything not marked slow
	$(PYTEST) -m "not slow" $(PYTEST_ARGS)

test-slow: venv ## The slow tier: baked repos' own tests, local builds, the LLM flow
	$(PYTEST) -m slow $(PYTEST_ARGS)

test: lint cfn-lint checkov authz-deps ## Set everything up, lint, and run both test tiers (what CI runs)
	$(PYTEST) $(PYTEST_ARGS)

check: test ## Alias of test: exactly what .ci/run runs

demo: venv ## End to end, no AWS account: bake, build twice, register, approve/reject on a local AWS stand-in
	$(PY) -m clearance_dev.demo

demo-llm: venv ## The LLM flow: bake the LLM variant, evaluate SmolLM2, register, decide
	$(PY) -m clearance_dev.demo --llm

bench: venv ## Print the speed and memory figures (policy throughput, decision latency, burst, LLM, verification)
	$(PY) -m clearance_dev.bench

package: venv ## Build the Service Catalog bundle into build/servicecatalog/
	$(PY) tools/package.py

publish: venv ## Upload and deploy build/servicecatalog/ (honours AWS_ENDPOINT_URL; DRY_RUN=1 for --dry-run)
	$(PY) tools/publish.py $(if $(DRY_RUN),--dry-run,)

bake: venv ## Bake the default project into build/bake/
	rm -rf build/bake
	$(VENV)/bin/cookiecutter . --no-input -o build/bake

clean: ## Remove build outputs (keeps the virtual environments)
	rm -rf build .pytest_cache .ruff_cache .hypothesis
