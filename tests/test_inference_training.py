# ruff: noqa: F811  (fixtures imported from test_inference_models are redefined as test arguments)
"""Training data beside inference: TrainingExport writes the features MLInference reads (and targets, as
collections or from a user function) to HDF5 in the same event loop; MLInference's SidecarPath."""

from __future__ import annotations

import itertools
import json
import shutil

import numpy as np
import pytest
from test_inference_models import edm_loaded, models, rows  # noqa: F401

from k4mlinference.edm import tensor
from k4mlinference.framework import Output, Producer, run
from k4mlinference.inference.algorithm import MLInference
from k4mlinference.inference.spec import ModelError
from k4mlinference.training.export import TrainingExport

h5py = pytest.importorskip("h5py")
_COUNT = itertools.count()

TARGETS = """
import numpy as np

def targets(features, truth):
    # one-hot class per row from a 'truth' Tensor collection holding one int64 label per row
    from k4mlinference.edm import tensor
    labels = tensor.as_array(truth).reshape(-1)
    onehot = np.zeros((len(labels), 2), np.int64)
    onehot[np.arange(len(labels)), labels] = 1
    return {"Target": onehot, "RowSum": features["X"].sum(axis=1, keepdims=True)}
"""


@pytest.fixture
def target_module(tmp_path):
    path = tmp_path / "mytargets.py"
    path.write_text(TARGETS)
    return f"{path}:targets"


def _event(number: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(500 + number)
    k = int(rng.integers(1, 4))
    return rows(rng, k, 11), rng.integers(0, 2, size=(k, 1)).astype(np.int64)


class Features(Producer):
    """Event i's features as a Tensor collection."""

    OutputCollection = Output("X", type="edm4eic::TensorCollection")

    def __call__(self):
        return tensor.from_array(_event(self.event_number)[0])


class Truth(Producer):
    """Event i's per-row labels (int64) as a Tensor collection."""

    OutputCollection = Output("Truth", type="edm4eic::TensorCollection")

    def __call__(self):
        return tensor.from_array(_event(self.event_number)[1])


def test_training_export_beside_mlinference(models, edm_loaded, target_module, tmp_path):
    out = tmp_path / "train.h5"
    k = next(_COUNT)
    inference = MLInference(f"Inference{k}", ModelPath=str(models["mlp_onnx"]), InputCollections=["X"],
                            OutputCollections=["Y"], BatchSize=4)  # fmt: skip
    export = TrainingExport(f"Export{k}", InputCollections=["X", "Truth"], TargetInputs=["Truth"],
                            TargetFunction=target_module, TargetNames=["Target", "RowSum"], OutputFile=str(out))  # fmt: skip
    result = run([Features(f"Gen{k}"), Truth(f"Truth{k}"), inference, export], evt_max=7)
    assert result.events == 7 and result.timing[inference.name][1] == 7
    with h5py.File(out, "r") as f:
        assert set(f) >= {"X", "Truth", "Target", "RowSum"}
        for i in range(7):
            x, labels = _event(i)
            x_offs, t_offs = f["X/offsets"][:], f["Target/offsets"][:]
            np.testing.assert_array_equal(f["X/data"][x_offs[i] : x_offs[i + 1]], x)  # what MLInference read
            onehot = f["Target/data"][t_offs[i] : t_offs[i + 1]]
            np.testing.assert_array_equal(onehot.argmax(axis=1), labels.reshape(-1))
            r_offs = f["RowSum/offsets"][:]
            np.testing.assert_allclose(f["RowSum/data"][r_offs[i] : r_offs[i + 1]], x.sum(axis=1, keepdims=True))


def test_training_export_configuration_errors(edm_loaded, target_module, tmp_path):
    with pytest.raises(ModelError, match="TargetNames/TargetInputs are set but TargetFunction is not"):
        TrainingExport(f"E{next(_COUNT)}", InputCollections=["X"], TargetNames=["T"]).initialize()
    exp = TrainingExport(f"E{next(_COUNT)}", InputCollections=["X"], TargetFunction=target_module,
                         TargetInputs=["Truth"], TargetNames=["Missing"], OutputFile=str(tmp_path / "t.h5"))  # fmt: skip
    exp.initialize()
    x, labels = _event(0)
    with pytest.raises(ModelError, match=r"returned \['Target', 'RowSum'\], lacking \['Missing'\]"):
        exp([tensor.from_array(x)], [tensor.from_array(labels)])
    exp.exporter.abort()


WEAVER = {
    "input_names": ["x"],
    "x": {
        "var_names": [f"f{i}" for i in range(11)],
        "var_infos": {f"f{i}": {"median": 1.0, "norm_factor": 0.5} for i in range(11)},
        "var_length": 11,
    },
    "output_names": ["pion", "electron"],
}


def test_sidecar_path(models, edm_loaded, tmp_path):
    path = tmp_path / "mlp.onnx"
    shutil.copy(models["mlp_onnx"], path)
    (tmp_path / "preprocess.json").write_text(json.dumps(WEAVER))
    x = rows(np.random.default_rng(4), 3, 11)

    def make(**kw) -> MLInference:
        alg = MLInference(f"S{next(_COUNT)}", ModelPath=str(path), InputCollections=["X"], OutputCollections=["Y"],
                          SharedSession=False, **kw)  # fmt: skip
        alg.initialize()
        return alg

    plain = make()  # no <model>.json: no sidecar
    assert plain.sidecar_file == str(tmp_path / "mlp.json") and plain.model.sidecar is None
    weaver = make(SidecarPath=str(tmp_path / "preprocess.json"), Preprocess=True)  # weaver's file, not renamed
    assert weaver.model.output_classes == {"y": ["pion", "electron"]}
    (y_pre,) = weaver([tensor.from_array(x)])[0]
    (y_ref,) = plain([tensor.from_array((x - 1.0) * 0.5)])[0]
    np.testing.assert_allclose(tensor.as_array(y_pre), tensor.as_array(y_ref), rtol=1e-6)
    shutil.copy(tmp_path / "preprocess.json", tmp_path / "mlp.json")  # the default place is read too
    assert make().model.output_classes == {"y": ["pion", "electron"]}
    with pytest.raises(ModelError, match="SidecarPath .*nothere.json: no such file"):
        make(SidecarPath=str(tmp_path / "nothere.json"))
