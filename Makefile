# One entry point per job. Every target bootstraps what it needs (tools/bootstrap.sh is idempotent).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
PYTEST := $(BIN)/python -m pytest
export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/build/collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Inventory for `make rehearsal`; any other inventory works with `make rehearsal INVENTORY=...`.
INVENTORY ?= tests/rehearsal/inventory
# `make rehearsal RENDER_ONLY=1`: the quick path (deploy stage rendered, no test bed, no seeding).
# `make rehearsal MYSQL=heatwave`: MySQL on a DB system in the OCI sandbox, Tutor pointed at its endpoint.
RENDER_ONLY ?=

.PHONY: help bootstrap test lint sanity units integration molecule bench rehearsal testbed ee-context clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

bootstrap: ## Install Debian packages, the .venv and the collection link (safe to re-run)
	@bash tools/bootstrap.sh

test: bootstrap ## Every tier CI runs on two workers, the Go builds first (--prebuild); tier times, then "N passed"
	$(PYTEST) -n 2 --dist loadgroup --prebuild --durations=25 tests/quality tests/unit tests/integration tests/molecule

lint: bootstrap ## ansible-lint (production profile), yamllint, ruff, role contract
	$(PYTEST) tests/quality -m "not sanity"

sanity: bootstrap ## ansible-test sanity --local with zero ignore lines
	$(PYTEST) tests/quality -m sanity

units: bootstrap ## Unit tests of modules, module_utils and plugins
	$(PYTEST) tests/unit

integration: bootstrap ## Playbooks and modules against the sandboxes (OCI, LMS, VMs, Kubernetes)
	$(PYTEST) tests/integration

molecule: bootstrap ## Molecule scenarios (check, converge, idempotence, verify on real machines)
	$(PYTEST) tests/molecule

bench: bootstrap ## Benchmarks that print side-by-side ratios
	$(BIN)/python -m tests.bench

testbed: bootstrap ## Build (cached) and start the Kubernetes test bed (NODESET=sandbox|example-jeddah)
	bash tests/sandbox/kube/testbed.sh up --reuse --nodeset $(or $(NODESET),sandbox)

rehearsal: ## The whole pipeline on the stand-ins, deploy applied on the test bed (RENDER_ONLY=1: render it)
	INVENTORY=$(INVENTORY) RENDER_ONLY=$(RENDER_ONLY) bash tools/rehearsal.sh $(if $(MYSQL),-e openedx_scale_mysql=$(MYSQL))

ee-context: bootstrap ## AWX execution-environment build context in build/ee/context (build it with podman/docker)
	rm -rf build/ee && mkdir -p build/ee
	$(BIN)/ansible-galaxy collection build --force --output-path build/ee .
	$(BIN)/ansible-builder create -f execution-environment.yml -c build/ee/context --output-filename Containerfile

clean: ## Remove build outputs (keeps the .venv)
	rm -rf build/collections tests/output
