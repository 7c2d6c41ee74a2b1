# ruff: noqa: F811  (fixtures imported from test_inference_models are redefined as test arguments)
"""MLInference inside the framework's event loop: blocks of BatchSize events, outputs put in the event
store under OutputCollections, equal to onnxruntime called directly; discovery by entry point."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_inference_models import edm_loaded, eic_model, models, ort_direct  # noqa: F401

from k4mlinference.edm import tensor
from k4mlinference.framework import Consumer, Input, Output, Producer, Property, run
from k4mlinference.inference.algorithm import MLInference  # noqa: E402

_COUNT = itertools.count()


def _rows(event: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(1000 + event)
    return rng.standard_normal((event % 4, width)).astype(np.float32)  # 0..3 rows, zero-row events included


class RandomTensors(Producer):
    """Event i's rows (seeded by i) as a Tensor collection."""

    OutputCollection = Output("Features", type="edm4eic::TensorCollection")
    Width = Property(11)

    def __call__(self):
        return tensor.from_array(_rows(self.event_number, self.Width))


class Collect(Consumer):
    """Copies the Tensor it gets per event into a Python list (for the test to compare)."""

    InputCollection = Input("Scores", type="edm4eic::TensorCollection")
    seen: list = []

    def __call__(self, coll):
        type(self).seen.append((self.event_number, np.array(tensor.as_array(coll))))


@pytest.mark.parametrize("batch_size", [1, 4])
def test_event_loop_chain(models, edm_loaded, batch_size):
    Collect.seen = []
    k = next(_COUNT)
    gen = RandomTensors(f"Gen{k}")
    alg = MLInference(f"Inference{k}", ModelPath=str(models["mlp_onnx"]), InputCollections=["Features"],
                      OutputCollections=["Scores"], BatchSize=batch_size)  # fmt: skip
    sink = Collect(f"Sink{k}")
    result = run([gen, alg, sink], evt_max=10)
    assert result.events == 10 and len(Collect.seen) == 10
    assert result.timing[alg.name][1] == 10  # the loop handed all events to MLInference
    for number, y in Collect.seen:
        x = _rows(number, 11)
        assert y.shape == (len(x), 2)
        if len(x):
            np.testing.assert_allclose(y, ort_direct(models["mlp_onnx"], {"x": x})[0], rtol=1e-6, atol=1e-6)


def test_event_loop_eic_model(eic_model, edm_loaded):
    Collect.seen = []
    k = next(_COUNT)
    gen = RandomTensors(f"Gen{k}", Width=6)
    alg = MLInference(f"LowQ2Inference{k}", ModelPath=str(eic_model), InputCollections=["Features"],
                      OutputCollections=["Scores"], BatchSize=3)  # fmt: skip
    run([gen, alg, Collect(f"Sink{k}")], evt_max=7)
    for number, y in Collect.seen:
        x = _rows(number, 6)
        assert y.shape == (len(x), 3)
        if len(x):
            np.testing.assert_allclose(y, ort_direct(eic_model, {"input": x})[0], rtol=1e-6, atol=1e-6)


def test_discovered_by_entry_point():
    from k4mlinference.framework import registry

    assert registry.load("MLInference") is MLInference
    assert MLInference.kind == "MultiTransformer"
