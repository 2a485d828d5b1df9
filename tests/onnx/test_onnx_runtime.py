"""InferenceSession: providers, input validation, batching, labels."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx_cases import LABELS3

from specc.backends.onnx import InferenceSession, runtime
from specc.errors import SpecError

CUDA_LISTED = "CUDAExecutionProvider" in ort.get_available_providers()


def _cuda_works(path) -> bool:
    try:
        return InferenceSession(path, "cuda").provider == "cuda"
    except SpecError:
        return False


def test_cpu_provider_reports_cpu(mlp_model):
    session = InferenceSession(mlp_model, "cpu")
    assert session.provider == "cpu" and session.providers == ["CPUExecutionProvider"]
    assert session.provider_note is None


def test_auto_reports_what_really_ran(mlp_model):
    session = InferenceSession(mlp_model, "auto")
    assert session.providers[0] == {"cuda": "CUDAExecutionProvider",
                                    "cpu": "CPUExecutionProvider"}[session.provider]
    if session.provider == "cpu" and CUDA_LISTED:
        # onnxruntime-gpu lists CUDA without a usable GPU: the fallback is reported
        assert session.provider_note.startswith("CUDA unavailable")


def test_cuda_without_cuda_is_a_clear_error(mlp_model):
    if _cuda_works(mlp_model):
        pytest.skip("CUDA works here")
    with pytest.raises(SpecError, match="provider 'cuda' was requested but"):
        InferenceSession(mlp_model, "cuda")


@pytest.mark.parametrize("provider", ["gpu", "tensorrt", ""])
def test_unknown_provider(mlp_model, provider):
    with pytest.raises(SpecError, match="unknown provider"):
        InferenceSession(mlp_model, provider)


def test_missing_and_corrupt_models(tmp_path, mlp_model):
    with pytest.raises(SpecError, match="does not exist"):
        InferenceSession(tmp_path / "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a protobuf")
    with pytest.raises(SpecError, match="not a loadable ONNX model"):
        InferenceSession(bad)
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(mlp_model.read_bytes()[:500])
    with pytest.raises(SpecError, match="not a loadable ONNX model"):
        InferenceSession(cut)
    with pytest.raises(SpecError, match="directory"):
        InferenceSession(tmp_path)


def test_input_validation(mlp_model):
    s = InferenceSession(mlp_model, "cpu")
    with pytest.raises(SpecError, match=r"must have shape \(batch, 12\) float32") as err:
        s.run(np.zeros((2, 13), np.float32))
    assert "(received shape (2, 13) float32)" in str(err.value)
    with pytest.raises(SpecError, match="add a batch axis"):
        s.run(np.zeros(12, np.float32))
    with pytest.raises(SpecError, match="must be float32"):
        s.run(np.array([["a"] * 12]))
    with pytest.raises(SpecError, match="has no input 'y'"):
        s.run({"y": np.zeros((1, 12), np.float32)})
    with pytest.raises(SpecError, match="empty"):
        s.run(np.zeros((0, 12), np.float32))


def test_token_ids_must_be_integers(exported):
    result, _ = exported("lstm")
    s = InferenceSession(result.path, "cpu")
    with pytest.raises(SpecError, match="must be int64") as err:
        s.run(np.zeros((2, 5), np.float32))
    assert "token ids must be integers" in str(err.value)
    assert s.run(np.zeros((2, 5), np.int32)).shape == (2, 4)  # lossless cast


def test_lossless_casts_and_layouts(mlp_model):
    s = InferenceSession(mlp_model, "cpu")
    x = np.random.default_rng(0).standard_normal((6, 12))
    want = s.run(x.astype(np.float32))
    np.testing.assert_allclose(s.run(x), want, atol=1e-6)  # float64 accepted
    np.testing.assert_allclose(s.run(x.astype(np.float32).T.copy().T), want, atol=1e-6)
    np.testing.assert_allclose(s.run(x.tolist()), want, atol=1e-6)
    assert s.run({"x": x.astype(np.float32)}).shape == (6, 3)


def test_batching_matches_one_run(mlp_model, monkeypatch):
    x = np.random.default_rng(1).standard_normal((50, 12)).astype(np.float32)
    whole = InferenceSession(mlp_model, "cpu").run(x)
    np.testing.assert_allclose(InferenceSession(mlp_model, "cpu", batch_size=7).run(x), whole,
                               atol=1e-6)
    np.testing.assert_allclose(InferenceSession(mlp_model, "cpu").run(x, batch_size=3), whole,
                               atol=1e-6)
    monkeypatch.setattr(runtime, "CHUNK_BYTES", 12 * 4 * 8)  # auto chunks of 8 samples
    s = InferenceSession(mlp_model, "cpu")
    calls = []
    real = s._run
    s._run = lambda names, feeds, options: calls.append(1) or real(names, feeds, options)
    np.testing.assert_allclose(s.run(x), whole, atol=1e-6)
    assert len(calls) == 7


def test_dynamic_axes_fast_path(exported):
    result, _ = exported("gru")
    s = InferenceSession(result.path, "cpu")
    for steps in (1, 5, 50):
        assert s.run(np.zeros((3, steps, 6), np.float32)).shape == (3, steps, 2)
    with pytest.raises(SpecError, match=r"\(batch, \?, 6\)"):
        s.run(np.zeros((3, 5, 7), np.float32))


def test_predict_gives_labels(mlp_model):
    s = InferenceSession(mlp_model, "cpu")
    x = np.random.default_rng(2).standard_normal((4, 12)).astype(np.float32)
    probs = s.run(x)
    labels = s.predict(x)
    assert list(labels) == [LABELS3[i] for i in probs.argmax(axis=1)]


def test_predict_without_labels_gives_indices_and_regressors_values(exported):
    cnn = InferenceSession(exported("cnn")[0].path, "cpu")
    x = np.zeros((2, 1, 12, 12), np.float32)
    assert cnn.is_classifier and cnn.predict(x).dtype == np.int64
    gru = InferenceSession(exported("gru")[0].path, "cpu")
    assert not gru.is_classifier and gru.predict(np.zeros((2, 3, 6), np.float32)).shape == \
        (2, 3, 2)


def test_save_optimized(mlp_model, tmp_path):
    out = tmp_path / "opt.onnx"
    InferenceSession(mlp_model, "cpu", save_optimized=out)
    assert out.stat().st_size > 0
    assert InferenceSession(out, "cpu").run(np.zeros((1, 12), np.float32)).shape == (1, 3)


def test_foreign_model_without_metadata(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("Relu", ["a"], ["b"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(
        "a", TensorProto.FLOAT, ["n", 3])], [helper.make_tensor_value_info(
            "b", TensorProto.FLOAT, ["n", 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    onnx.save(model, tmp_path / "relu.onnx")
    s = InferenceSession(tmp_path / "relu.onnx", "cpu")
    assert not s.info.is_specc and s.labels is None and not s.is_classifier
    np.testing.assert_array_equal(s.run(np.array([[-1.0, 0.0, 2.0]], np.float32)),
                                  [[0.0, 0.0, 2.0]])


def test_model_too_new_for_onnxruntime_is_explained(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("Relu", ["a"], ["b"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(
        "a", TensorProto.FLOAT, [1])], [helper.make_tensor_value_info("b", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=99)
    onnx.save(model, tmp_path / "new.onnx")
    with pytest.raises(SpecError, match="Unsupported model IR version: 99"):
        InferenceSession(tmp_path / "new.onnx", "cpu")


def test_token_id_beyond_the_embedding_is_a_spec_error(exported):
    s = InferenceSession(exported("lstm")[0].path, "cpu")
    with pytest.raises(SpecError, match="onnxruntime could not run the model: .*indices"):
        s.run(np.full((1, 4), 25, np.int64))  # the table has 20 rows
