# One entry point for every task. `make run` and `make test` work on a fresh
# machine with only Python and pip: both create .venv and install first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
PROTO_OUT := durabletask/internal/proto
GRPCIO_TOOLS_VERSION := 1.85.1

.PHONY: install run test test-fast lint typecheck check proto bench clean browser azurite

# The core is installed in compat mode (its directory on sys.path) so that it stays a
# regular package next to the durabletask.azuremanaged portion; see docs/azuremanaged.md.
$(STAMP): pyproject.toml durabletask-azuremanaged/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	$(PY) -m pip install --quiet -e ./durabletask-azuremanaged
	touch $(STAMP) $(RUN_STAMP)

# `make run` needs the package only, not the test and lint toolchain.
$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e . --config-settings editable_mode=compat
	touch $(RUN_STAMP)

install: $(STAMP)

run: $(RUN_STAMP)
	$(PY) -m examples.demo

lint: $(STAMP)
	$(PY) -m flake8 durabletask durabletask-azuremanaged tests examples bench tools

# mypy, configured in pyproject.toml: strict on the engine, transport and client requests,
# standard on the rest of both packages (the sidecar stays standard for now).
typecheck: $(STAMP)
	$(PY) -m mypy

# Debian's chromium and chromium-driver for the dashboard's browser test (installed when
# missing, root and apt-get allow; otherwise that test skips and says why).
browser:
	bash .ci/install-browser

# The Azure Storage emulator (npm package azurite, into .cache/azurite) for the blob
# payload-store tests; without npm those tests skip and say so.
azurite:
	bash .ci/install-azurite

test: lint typecheck browser azurite
	$(PY) -m pytest -q tests
	DT_ALWAYS_REPLAY=1 $(PY) -m pytest -q tests/durabletask/e2e

check: lint typecheck test

bench: $(STAMP)
	$(PY) -m bench.run_all

# Regenerates the stubs from protos/ with the pinned grpcio-tools; never downloads.
proto: $(STAMP)
	$(PY) -m pip install --quiet grpcio-tools==$(GRPCIO_TOOLS_VERSION)
	$(PY) -m grpc_tools.protoc -I protos \
		--python_out=$(PROTO_OUT) --pyi_out=$(PROTO_OUT) --grpc_python_out=$(PROTO_OUT) \
		protos/orchestrator_service.proto protos/sidecar_admin.proto \
		protos/durabletask_extensions.proto
	sed -i 's/^import orchestrator_service_pb2 as/from . import orchestrator_service_pb2 as/' \
		$(PROTO_OUT)/orchestrator_service_pb2_grpc.py
	sed -i 's/^import sidecar_admin_pb2 as/from . import sidecar_admin_pb2 as/' \
		$(PROTO_OUT)/sidecar_admin_pb2_grpc.py
	sed -i 's/^import orchestrator_service_pb2 as/from . import orchestrator_service_pb2 as/' \
		$(PROTO_OUT)/durabletask_extensions_pb2.py $(PROTO_OUT)/durabletask_extensions_pb2.pyi
	sed -i 's/^import durabletask_extensions_pb2 as/from . import durabletask_extensions_pb2 as/' \
		$(PROTO_OUT)/durabletask_extensions_pb2_grpc.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache build *.egg-info
