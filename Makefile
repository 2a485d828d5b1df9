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
	@echo "== 1/3 train the built-in 'dcn' CNN on 4000 real MNIST digits (3 epochs; progress per epoch)"
	$(VENV)/bin/specc train specs/dcn.yaml --set train.epochs=3 --out runs/demo --overwrite
	@echo "== 2/3 export the best checkpoint to ONNX and check parity with PyTorch in onnxruntime"
	$(VENV)/bin/specc export runs/demo -o runs/demo/model.onnx
	@echo "== 3/3 classify examples/data/digit7.npy with the exported model in onnxruntime"
	$(VENV)/bin/specc run runs/demo/model.onnx --input examples/data/digit7.npy
	@echo "== done: the run is in runs/demo (metrics.csv, checkpoints/, model.onnx, parity.json)"

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
