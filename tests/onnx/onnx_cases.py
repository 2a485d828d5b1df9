"""Small specs covering the exporter's cases (shared by the tests of this folder).

Not a package: ``tests/onnx/__init__.py`` would shadow the ``onnx`` library.
"""

from __future__ import annotations

LABELS3 = ["cat", "dog", "bird"]

SPECS: dict[str, dict] = {
    # dropout, noise and batch norm must export in their inference form
    "mlp": {"specc": 1, "name": "mlp", "family": "feed-forward", "labels": LABELS3,
            "description": "a small classifier",
            "inputs": {"x": [12]},
            "layers": [{"dense": {"units": 32, "activation": "relu"}},
                       {"gaussian_noise": {"stddev": 0.5}},
                       {"dropout": {"rate": 0.5}},
                       {"dense": {"units": 3, "activation": "softmax"}}]},
    "cnn": {"specc": 1, "name": "cnn", "family": "deep-convolutional-network",
            "inputs": {"image": [1, 12, 12]},
            "layers": [{"conv2d": {"filters": 4, "kernel": 3, "activation": "relu"}},
                       "batch_norm",
                       {"max_pool2d": {"size": 2, "stride": 2}},
                       "flatten",
                       {"dense": {"units": 5, "activation": "softmax"}}]},
    # token ids (int64) with a dynamic sequence axis
    "lstm": {"specc": 1, "name": "lstm", "family": "recurrent-neural-network",
             "inputs": {"tokens": {"shape": [None], "dtype": "int64"}},
             "layers": [{"embedding": {"input_dim": 20, "output_dim": 8}},
                        {"lstm": {"units": 16, "num_layers": 2}},
                        {"dense": {"units": 4, "activation": "softmax"}}]},
    "gru": {"specc": 1, "name": "gru", "family": "recurrent-neural-network",
            "inputs": {"seq": [None, 6]},
            "layers": [{"gru": {"units": 8, "return_sequences": True}},
                       {"dense": {"units": 2}}]},
}
