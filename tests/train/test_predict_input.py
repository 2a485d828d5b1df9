"""predict names the given input, not the spec's dataset, when samples do not fit."""

from __future__ import annotations

import numpy as np
import pytest

from specc.errors import SpecError
from specc.train.api import predict, train

IRIS = {"specc": 1, "name": "iris_p", "inputs": {"x": [4]},
        "layers": [{"dense": {"units": 3, "activation": "softmax"}}],
        "train": {"data": {"dataset": "iris", "split": {"val": 0.2, "seed": 0},
                           "scale": "standard"},
                  "loss": "cross_entropy", "optimizer": {"adam": {"lr": 0.01}}, "epochs": 1,
                  "batch_size": 16}}


def test_predict_input_of_the_wrong_width_names_the_input(tmp_path):
    run = train(IRIS, out=tmp_path / "run", quiet=True)
    with pytest.raises(SpecError) as info:
        predict(run.dir, {"x": np.ones((2, 3), np.float32)})
    text = info.value.render()
    assert "the input given for 'x' gives samples of shape (3,)" in text
    assert "dataset" not in text and "train.data" not in text
    assert len(predict(run.dir, {"x": np.ones((2, 4), np.float32)})) == 2  # fits: 2 labels
