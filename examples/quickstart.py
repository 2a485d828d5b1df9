"""The Python API end to end: load a built-in spec, inspect it, train it, export it to ONNX and
run the exported model in onnxruntime.

    python examples/quickstart.py            # about a minute on 2 CPU cores
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

import specc


def main() -> None:
    # 1. Load and validate a spec: a built-in name, a YAML/JSON path or a dict.
    spec = specc.load("dcn", overrides=["train.epochs=2"])
    print(specc.summary(spec))

    # 2. Build it as a plain torch.nn.Module (a torch.fx GraphModule with generated code).
    model = specc.build(spec)
    print(model.code)

    with tempfile.TemporaryDirectory() as tmp:
        # 3. Train with the spec's own `train:` section; the run directory holds the resolved
        #    spec, metrics.csv and safetensors checkpoints.
        run = specc.train(spec, out=Path(tmp) / "run", quiet=True)
        print("final metrics:", run.metrics[-1])

        # 4. Export the best checkpoint to ONNX; parity with PyTorch is checked on export.
        result = specc.export(run.dir, Path(tmp) / "dcn.onnx")
        print(f"exported {result.path} (max |onnx - torch| = {result.parity.max_abs_diff:.2e})")

        # 5. Run it in onnxruntime (CUDA when a GPU works, else CPU).
        session = specc.InferenceSession(result.path)
        image = np.load(Path(__file__).parent / "data" / "digit7.npy")
        print(f"provider: {session.provider}; prediction: {session.predict(image)}")


if __name__ == "__main__":
    main()
