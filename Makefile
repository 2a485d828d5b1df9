# Quick start: `make demo` (train, export, run in onnxruntime) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.specc-installed

.PHONY: demo test test-slow bench lint install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# torch==2.13.0 first: the CPU wheel on this machine; a bare `torch` can pull a multi-GB CUDA build.
$(STAMP): $(PY) pyproject.toml plugins/specc-attention/pyproject.toml
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev,data]"
	$(PY) -m pip install -q -e plugins/specc-attention
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/specc train specs/dcn.yaml --set train.epochs=3 --out runs/demo --overwrite --quiet
	$(VENV)/bin/specc export runs/demo -o runs/demo/model.onnx
	$(VENV)/bin/specc run runs/demo/model.onnx --input examples/data/digit7.npy

TESTS := tests plugins/specc-attention/tests

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow" $(TESTS)

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow $(TESTS)

bench: $(STAMP)
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) -m benchmarks

lint: $(STAMP)
	$(VENV)/bin/ruff check specc tests benchmarks plugins examples

clean:
	rm -rf $(VENV) runs build *.egg-info
