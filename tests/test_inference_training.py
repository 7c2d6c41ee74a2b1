# ruff: noqa: F811  (fixtures imported from test_inference_models are redefined as test arguments)
"""MLInference's training-data side outputs: the exact inputs the model saw (SaveInputsAs), target
tensors from a user function (TargetFunction/TargetInputs/TargetCollections), and the same per event
in HDF5 through k4mlinference.io.hdf5."""

from __future__ import annotations

import itertools
import json
import shutil

import numpy as np
import pytest
from test_inference_models import edm_loaded, models, rows  # noqa: F401

from k4mlinference.edm import tensor
from k4mlinference.inference.algorithm import MLInference
from k4mlinference.inference.spec import ModelError

_COUNT = itertools.count()

TARGETS = """
import numpy as np

def targets(model_inputs, truth):
    # one-hot class per row from a 'truth' Tensor collection holding one int64 label per row
    from k4mlinference.edm import tensor
    labels = tensor.as_array(truth).reshape(-1)
    onehot = np.zeros((len(labels), 2), np.int64)
    onehot[np.arange(len(labels)), labels] = 1
    return {"Target": onehot, "RowSum": model_inputs["x"].sum(axis=1, keepdims=True)}
"""


@pytest.fixture
def target_module(tmp_path):
    path = tmp_path / "mytargets.py"
    path.write_text(TARGETS)
    return f"{path}:targets"


def _events(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = int(rng.integers(0, 4))
        x = rows(rng, k, 11)
        labels = rng.integers(0, 2, size=(k, 1)).astype(np.int64)
        out.append((x, labels))
    return out


def _make(path, batch_size: int, **kw) -> MLInference:
    alg = MLInference(f"train{next(_COUNT)}", ModelPath=str(path), InputCollections=["X"],
                      OutputCollections=["Y"], BatchSize=batch_size, **kw)  # fmt: skip
    alg.initialize()
    return alg


@pytest.mark.parametrize("batch_size", [1, 4])
def test_save_inputs_and_targets_as_collections(models, edm_loaded, target_module, batch_size):
    data = _events(9, seed=batch_size)
    alg = _make(
        models["mlp_onnx"],
        batch_size,
        SaveInputsAs=["XSeen"],
        TargetFunction=target_module,
        TargetInputs=["Truth"],
        TargetCollections=["Target", "RowSum"],
    )
    events = [([tensor.from_array(x)], [tensor.from_array(lab)]) for x, lab in data]
    res = []
    for a in range(0, len(events), batch_size):
        res += alg.process_batch(events[a : a + batch_size])
    for (x, lab), (outs, saved, targets) in zip(data, res):
        assert len(outs) == 1 and len(saved) == 1 and len(targets) == 2
        np.testing.assert_array_equal(tensor.as_array(saved[0]), x)  # exactly what the model saw
        onehot = tensor.as_array(targets[0])
        assert onehot.dtype == np.int64 and onehot.shape == (len(x), 2)
        np.testing.assert_array_equal(onehot.argmax(axis=1) if len(x) else [], lab.reshape(-1))
        np.testing.assert_allclose(tensor.as_array(targets[1]), x.sum(axis=1, keepdims=True), rtol=1e-6)


def test_saved_inputs_are_the_preprocessed_ones(models, edm_loaded, tmp_path):
    path = tmp_path / "mlp.onnx"
    shutil.copy(models["mlp_onnx"], path)
    (tmp_path / "mlp.json").write_text(json.dumps({"inputs": {"x": {"centre": [1.0] * 11, "scale": [2.0] * 11}}}))
    alg = _make(path, 2, SaveInputsAs=["XSeen"], Preprocess=True)
    x = rows(np.random.default_rng(4), 3, 11)
    (outs, saved, _), _ = alg.process_batch([([tensor.from_array(x)], []), ([tensor.from_array(x[:1])], [])])
    np.testing.assert_allclose(tensor.as_array(saved[0]), (x - 1) / 2, rtol=1e-6)


def test_training_export_to_hdf5(models, edm_loaded, target_module, tmp_path):
    h5py = pytest.importorskip("h5py")
    pytest.importorskip("k4mlinference.io.hdf5")
    out = tmp_path / "train.h5"
    data = _events(7, seed=5)
    alg = _make(
        models["mlp_onnx"],
        3,
        SaveInputsAs=["XSeen"],
        TargetFunction=target_module,
        TargetInputs=["Truth"],
        TargetCollections=["Target", "RowSum"],
        HDF5Output=str(out),
    )
    events = [([tensor.from_array(x)], [tensor.from_array(lab)]) for x, lab in data]
    for a in range(0, len(events), 3):
        alg.process_batch(events[a : a + 3])
    alg.finalize()
    with h5py.File(out, "r") as f:
        assert set(f) >= {"XSeen", "Target", "RowSum"}
        offs = f["XSeen/offsets"][:]
        assert len(offs) == len(data) + 1
        for i, (x, lab) in enumerate(data):
            np.testing.assert_array_equal(f["XSeen/data"][offs[i] : offs[i + 1]], x)
            t_offs = f["Target/offsets"][:]
            np.testing.assert_array_equal(
                f["Target/data"][t_offs[i] : t_offs[i + 1]].argmax(axis=1) if len(x) else [], lab.reshape(-1)
            )


def test_training_configuration_errors(models, edm_loaded, target_module):
    with pytest.raises(ModelError, match="SaveInputsAs needs one name per model input"):
        _make(models["mlp_onnx"], 1, SaveInputsAs=["A", "B"])
    with pytest.raises(ModelError, match="TargetCollections are set but TargetFunction is not"):
        _make(models["mlp_onnx"], 1, TargetCollections=["T"])
    alg = _make(models["mlp_onnx"], 1, TargetFunction=target_module, TargetInputs=["Truth"], TargetCollections=["T"])
    x = rows(np.random.default_rng(0), 2, 11)
    with pytest.raises(ModelError, match="lacking"):
        alg.process_batch([([tensor.from_array(x)], [tensor.from_array(np.zeros((2, 1), np.int64))])])


def test_engine_api_returns_inputs_seen_and_records(models, tmp_path):
    h5py = pytest.importorskip("h5py")
    from k4mlinference.inference import InferenceEngine, load_model
    from k4mlinference.inference.recording import TrainingRecorder

    path = tmp_path / "mlp.onnx"
    shutil.copy(models["mlp_onnx"], path)
    (tmp_path / "mlp.json").write_text(json.dumps({"inputs": {"x": {"centre": [0.5] * 11, "scale": [4.0] * 11}}}))
    engine = InferenceEngine(load_model(path), batch_size=3, preprocess=True)
    data = _events(8, seed=6)
    res = engine.run_events([{"x": x} for x, _ in data], return_inputs=True)
    out = tmp_path / "engine.h5"
    with TrainingRecorder(str(out), lambda seen, lab: {"label": lab}, target_names=["label"]) as rec:
        for (x, lab), (outputs, seen) in zip(data, res):
            np.testing.assert_allclose(seen["x"], (x - 0.5) / 4, rtol=1e-6)
            assert outputs["y"].shape == (len(x), 2)
            (target,) = rec.record(seen, lab)
            np.testing.assert_array_equal(target, lab)
    with h5py.File(out, "r") as f:
        offs = f["x/offsets"][:]
        for i, (x, _) in enumerate(data):
            np.testing.assert_allclose(f["x/data"][offs[i] : offs[i + 1]], (x - 0.5) / 4, rtol=1e-6)
        assert f["label/offsets"][-1] == sum(len(x) for x, _ in data)
