# rdd: `make run` starts the stack and brings the sample App to Running;
# `make test` sets up and runs the whole test suite.  Both install what they need.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PROTOS := $(shell find protos -name '*.proto')
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup run test test-unit test-contract test-real-lima bench protos lint compose-check stop clean

setup: $(VENV)/.installed protos etcd

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Generated stubs (with .pyi) live in rdd/api/, never edited by hand; descriptors.binpb
# keeps the protos' comments for server reflection (grpcurl describe).
protos: $(VENV)/.installed rdd/api/.generated

rdd/api/.generated: $(PROTOS)
	rm -rf rdd/api
	$(PY) -m grpc_tools.protoc -Iprotos --python_out=. --grpc_python_out=. --pyi_out=. $(PROTOS)
	$(PY) -m grpc_tools.protoc -Iprotos --include_source_info --descriptor_set_out=rdd/api/descriptors.binpb $(PROTOS)
	find rdd/api -type d -exec touch {}/__init__.py \;
	touch $@

# etcd from the system package manager when it is not on PATH already.
etcd:
	@command -v etcd >/dev/null || { \
	  if command -v apt-get >/dev/null; then \
	    $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server; \
	  elif command -v brew >/dev/null; then brew install etcd; \
	  else echo "please install etcd >= 3.4.23 and put it on PATH" >&2; exit 1; fi; }

run: setup
	$(VENV)/bin/rdd svc start
	$(VENV)/bin/rdd set running=true --timeout=5m
	@echo "The stack is up and the App is Running. '$(VENV)/bin/rdd ctl get limavm -A' shows the VM; '$(VENV)/bin/rdd svc stop' ends it."

test: setup compose-check lint
	$(PY) -m pytest -q -p no:cacheprovider tests

test-real-lima: setup
	RDD_TEST_REAL_LIMA=1 $(PY) -m pytest -q -rs -p no:cacheprovider tests/lima

bench: setup
	$(PY) -m tests.bench

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Debian's docker-compose validates the file; there is no Docker engine here.
compose-check:
	@command -v docker-compose >/dev/null || { command -v apt-get >/dev/null && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; } || true
	@if command -v docker-compose >/dev/null; then docker-compose -f deploy/docker-compose.yml config -q && echo "compose file ok"; \
	  else echo "docker-compose not available: compose check skipped"; fi

stop:
	-$(VENV)/bin/rdd svc stop

clean:
	rm -rf $(VENV) rdd/api build *.egg-info
