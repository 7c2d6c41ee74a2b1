# ruff: noqa: F811  (fixtures imported from test_inference_models are redefined as test arguments)
"""Inference messages name the right thing: a NaN in a batched block is blamed on its own (global) event
with the row inside that event; a Python list given to Model.run is converted; NaN outputs follow nan_policy
and name the model file, the output and the event."""

from __future__ import annotations

import itertools
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from test_inference_models import edm_loaded  # noqa: F401

from k4mlinference.edm import tensor
from k4mlinference.framework import AlgorithmError, Output, Producer, Property, run
from k4mlinference.inference import InferenceEngine, ModelInputError, ModelOutputError, load_model
from k4mlinference.inference.algorithm import MLInference

onnx = pytest.importorskip("onnx")
_COUNT = itertools.count()


@pytest.fixture(scope="module")
def sqrt_model(tmp_path_factory) -> Path:
    """y = sqrt(x) on x[batch, 2]: a negative input gives a NaN output from finite inputs."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])
    graph = helper.make_graph([helper.make_node("Sqrt", ["x"], ["y"])], "sqrt", [x], [y])
    path = tmp_path_factory.mktemp("msgs") / "sqrt.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def _event_rows(number: int) -> np.ndarray:
    """Event `number` has number % 3 rows (zero-row events included) of positive values."""
    return np.full((number % 3, 2), 1.0 + number, np.float32)


class BadTensors(Producer):
    """Per-event Tensors; event BadEvent gets `BadValue` at row BadRow, column 0."""

    OutputCollection = Output("Features", type="edm4eic::TensorCollection")
    BadEvent = Property(-1)
    BadRow = Property(0)
    BadValue = Property(float("nan"))

    def __call__(self):
        x = _event_rows(self.event_number)
        if self.event_number == self.BadEvent:
            x[self.BadRow, 0] = self.BadValue
        return tensor.from_array(x)


def _chain(model: Path, bad_value: float, nan_policy: str = "raise") -> list:
    k = next(_COUNT)
    gen = BadTensors(f"BadGen{k}", BadEvent=20, BadRow=1, BadValue=bad_value)
    alg = MLInference(f"MsgInference{k}", ModelPath=str(model), InputCollections=["Features"],
                      OutputCollections=[f"Roots{k}"], BatchSize=16, NanPolicy=nan_policy,
                      SharedSession=False)  # fmt: skip
    return [gen, alg]


def test_batched_nan_input_blames_its_own_event(sqrt_model, edm_loaded):
    """Event 20 (in the block of events 16..31, whose first rows are those of events 16..19) holds the NaN
    in its row 1: the message says event 20 and index (1, 0), not event 16 and a row of the whole block."""
    with pytest.raises(AlgorithmError) as info:
        run(_chain(sqrt_model, float("nan")), evt_max=32)
    msg = str(info.value)
    assert re.search(r"failed in event 20: ModelInputError: model \S*sqrt\.onnx: input 'x' of event 20 holds "
                     r"1 NaN and 0 inf value\(s\) \(first at index \(1, 0\)\)", msg), msg  # fmt: skip
    assert "event 16" not in msg


def test_batched_nan_output_names_model_output_and_event(sqrt_model, edm_loaded):
    """A finite negative input makes sqrt return NaN: with NanPolicy 'raise' that is an error naming the
    model file, the output and the global event, instead of NaN written to the output silently."""
    with pytest.raises(AlgorithmError) as info:
        run(_chain(sqrt_model, -4.0), evt_max=32)
    msg = str(info.value)
    assert re.search(r"failed in event 20: ModelOutputError: model \S*sqrt\.onnx: output 'y' of event 20 holds "
                     r"1 NaN and 0 inf value\(s\) \(first at index \(1, 0\)\)", msg), msg  # fmt: skip


def test_nan_output_policy_warn_and_ignore(sqrt_model, edm_loaded):
    with pytest.warns(RuntimeWarning, match=r"sqrt\.onnx: output 'y' of event 20 holds 1 NaN"):
        result = run(_chain(sqrt_model, -4.0, "warn"), evt_max=24)
    assert result.events == 24
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run(_chain(sqrt_model, -4.0, "ignore"), evt_max=24).events == 24


def test_engine_names_global_event_numbers(sqrt_model):
    """The numpy engine, given the events' numbers, blames the right one for inputs and outputs, also when
    the event is alone in its model call."""
    events = [{"x": _event_rows(n)} for n in range(100, 110)]
    events[7]["x"][1, 1] = -1.0  # event 107 (2 rows), row 1
    model = load_model(sqrt_model)
    for batch_size in (1, 4, 0):
        engine = InferenceEngine(model, batch_size=batch_size)
        with pytest.raises(ModelOutputError, match=r"output 'y' of event 107 holds 1 NaN .*index \(1, 1\)") as info:
            engine.run_events(events, event_numbers=list(range(100, 110)))
        assert info.value.event == 107
    events[7]["x"][1, 1] = np.inf
    with pytest.raises(ModelInputError, match=r"input 'x' of event 107 holds 0 NaN and 1 inf .*index \(1, 1\)"):
        InferenceEngine(model, batch_size=8).run_events(events, event_numbers=list(range(100, 110)))


def test_model_run_nan_output_without_events(sqrt_model):
    """Model.run alone has no event to name: the model file and the output are named."""
    with pytest.raises(ModelOutputError, match=r"sqrt\.onnx: output 'y' holds 1 NaN .*index \(0, 1\)"):
        load_model(sqrt_model).run({"x": np.array([[1.0, -1.0]], np.float32)})


def test_model_run_accepts_python_lists(sqrt_model):
    """A nested list is converted to the declared dtype (float32), not rejected with an AttributeError."""
    y = load_model(sqrt_model).run({"x": [[1.0, 4.0], [9, 16]]})["y"]
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [[1.0, 2.0], [3.0, 4.0]])


def test_model_run_rejects_ragged_list_naming_input(sqrt_model):
    with pytest.raises(TypeError, match=r"sqrt\.onnx: input 'x' is a list that cannot be converted"):
        load_model(sqrt_model).run({"x": [[1.0, 2.0], [3.0]]})


def test_contract_checked_once_per_signature_still_catches_changes(sqrt_model):
    """The full contract check runs once per input signature; later calls still reject NaN (values change every
    call), a new per-row shape and a new dtype, each with the same message as a first call."""
    model = load_model(str(sqrt_model))
    good = np.ones((3, 2), np.float32)
    model.run({"x": good})
    model.run({"x": np.ones((7, 2), np.float32)})  # other row count: same signature, accepted
    bad = good.copy()
    bad[1, 0] = np.nan
    with pytest.raises(ModelInputError, match=r"input 'x' holds 1 NaN"):
        model.run({"x": bad})
    with pytest.raises(ModelInputError, match=r"input 'x': axis 1 must be 2"):
        model.run({"x": np.ones((3, 3), np.float32)})
    with pytest.raises(ModelInputError, match=r"input 'x': wrong dtype"):
        model.run({"x": np.ones((3, 2), np.float64)})
    model.run({"x": good})  # and the validated signature still runs
