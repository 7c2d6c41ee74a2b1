# ruff: noqa: F811  (fixtures imported from test_inference_models are redefined as test arguments)
"""Which paths copy, proven by addresses: the pointer ONNX Runtime / torch read (OrtValue.data_ptr(),
Tensor.data_ptr()) against the Tensor collection's buffer (`tensor.as_array(coll).ctypes.data`).

- one event: inputs go to the runtime without a copy, and ONNX Runtime writes the outputs straight
  into the output collection's pre-sized buffer (IO binding) when the output shape is known from the
  input shape (dims fixed or named like an input dim);
- K > 1 events: one gather copy into the batch buffer, one scatter copy into the per-event outputs
  (unless a single event of the block has rows: then its buffer is passed without a copy);
- torch: inputs without copy (torch.from_numpy / DLPack), outputs copied once into the collection.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from test_inference_models import edm_loaded, models, rows  # noqa: F401

from k4mlinference.edm import tensor
from k4mlinference.inference import load_model
from k4mlinference.inference.algorithm import MLInference

torch = pytest.importorskip("torch")
_COUNT = itertools.count()


def _alg(path, batch_size: int) -> MLInference:
    alg = MLInference(f"zc{next(_COUNT)}", ModelPath=str(path), InputCollections=["X"], OutputCollections=["Y"],
                      BatchSize=batch_size, SharedSession=False)  # fmt: skip
    alg.initialize()
    return alg


def _buffer(coll) -> int:
    return tensor.as_array(coll).ctypes.data


def test_tensor_view_is_the_collection_memory(edm_loaded):
    coll = tensor.from_array(rows(np.random.default_rng(0), 4, 3))
    v = tensor.view(coll)
    ref = tensor.as_array(coll)
    assert v.ctypes.data == ref.ctypes.data and np.shares_memory(v, ref)
    v[0, 0] = 42.0  # writes are seen through the EDM's own view
    assert tensor.as_array(coll)[0, 0] == 42.0


def _spy_output_binding(monkeypatch, backend) -> dict[str, int]:
    """Record, independently of the backend's own bookkeeping, the address of every output buffer handed to
    onnxruntime: at the Binding the backend uses and, for the public API, at onnxruntime's IOBinding itself."""
    import onnxruntime as ort

    bound: dict[str, int] = {}
    make = backend.binding

    def spying_binding():
        b = make()

        def bind_output(name, arr):
            bound.setdefault(name, arr.ctypes.data)
            b.bind_output(name, arr)

        return dataclasses.replace(b, bind_output=bind_output)

    monkeypatch.setattr(backend, "binding", spying_binding)
    original = ort.IOBinding.bind_output

    def ort_bind_output(self, name, device_type="cpu", device_id=0, element_type=None, shape=None, buffer_ptr=None):
        if buffer_ptr is not None:
            bound["ort:" + name] = buffer_ptr
        return original(self, name, device_type, device_id, element_type, shape, buffer_ptr)

    monkeypatch.setattr(ort.IOBinding, "bind_output", ort_bind_output)
    return bound


@pytest.mark.parametrize("native", [True, False])
def test_onnxruntime_single_event_zero_copy_in_and_out(models, edm_loaded, monkeypatch, native):
    alg = _alg(models["mlp_onnx"], 1)
    backend = alg.model.backend
    backend.native_binding = native
    assert backend.uses_native_binding is native
    rng = np.random.default_rng(1)
    alg([tensor.from_array(rows(rng, 2, 11))])  # the first call checks the planned output shapes
    bound = _spy_output_binding(monkeypatch, backend)
    x = rows(rng, 5, 11)
    coll = tensor.from_array(x)
    (outs,) = alg([coll])
    # input: the OrtValue ONNX Runtime read lies on the collection's floatData
    assert backend.last_run["inputs"]["x"] == _buffer(coll)
    # output: the buffer bound for onnxruntime to write is the output collection's floatData ...
    assert bound["y"] == _buffer(outs[0])
    if not native:  # ... as onnxruntime's own IOBinding received it
        assert bound["ort:y"] == _buffer(outs[0])
    # ... and what onnxruntime wrote there is the model's output, with no copy on the way
    np.testing.assert_array_equal(tensor.as_array(outs[0]), load_model(models["mlp_onnx"]).run({"x": x})["y"])
    assert backend.last_run["copied"] == []


def test_onnxruntime_falls_back_to_the_public_binding(models, edm_loaded, monkeypatch):
    import sys

    import onnxruntime.capi

    # onnxruntime's compiled layer cannot be imported by that name (as a later onnxruntime may do)
    monkeypatch.delattr(onnxruntime.capi, "_pybind_state")
    monkeypatch.setitem(sys.modules, "onnxruntime.capi._pybind_state", None)
    m = load_model(models["mlp_onnx"])
    assert not m.backend.uses_native_binding
    x = rows(np.random.default_rng(5), 6, 11)
    out = np.empty((6, 2), np.float32)
    for _ in range(2):  # first call: the planned shapes are checked; second: written in place
        res = m.run({"x": x}, out={"y": out})
    assert res["y"] is out and m.backend.last_run["copied"] == []
    monkeypatch.undo()
    np.testing.assert_array_equal(out, load_model(models["mlp_onnx"]).run({"x": x})["y"])


def test_misleading_output_dims_are_not_trusted(tmp_path, edm_loaded):
    """A model whose output declares the input's batch dim name but has another length: the first call
    finds out, and outputs are then taken as the runtime allocates them (no error-text matching)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])  # declared: same rows as x
    starts = helper.make_tensor("s", TensorProto.INT64, [1], [1])
    ends = helper.make_tensor("e", TensorProto.INT64, [1], [1 << 30])
    axes = helper.make_tensor("a", TensorProto.INT64, [1], [0])
    node = helper.make_node("Slice", ["x", "s", "e", "a"], ["y"])  # actually drops the first row
    graph = helper.make_graph([node], "mislead", [x], [y], initializer=[starts, ends, axes])
    path = tmp_path / "mislead.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    alg = _alg(path, 1)
    for n in (4, 3):
        data = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
        (outs,) = alg([tensor.from_array(data)])
        np.testing.assert_array_equal(tensor.as_array(outs[0]), data[1:])
    assert alg.model.backend.planned_output_shapes({"x": data}) is None


def test_onnxruntime_batched_path_copies_once_each_way(models, edm_loaded):
    alg = _alg(models["mlp_onnx"], 3)
    colls = [tensor.from_array(rows(np.random.default_rng(i), 2, 11)) for i in range(3)]
    res = alg.process_batch([([c],) for c in colls])
    run = alg.model.backend.last_run
    # the batch buffer is a gathered copy: it is none of the input collections' buffers
    assert run["inputs"]["x"] not in {_buffer(c) for c in colls}
    # and the outputs are scattered (copied) out of the runtime's batch output
    assert run["outputs"]["y"] not in {_buffer(r[0][0]) for r in res}
    # a block in which one event has all the rows passes that event's buffer without a copy
    empty = [tensor.from_array(np.zeros((0, 11), np.float32)) for _ in range(2)]
    alg.process_batch([([empty[0]],), ([colls[1]],), ([empty[1]],)])
    assert alg.model.backend.last_run["inputs"]["x"] == _buffer(colls[1])


def test_model_run_numpy_and_preallocated_outputs(models):
    m = load_model(models["mlp_onnx"])
    x = rows(np.random.default_rng(2), 8, 11)
    out = np.empty((8, 2), np.float32)
    res = m.run({"x": x}, out={"y": out})
    assert res["y"] is out and np.shares_memory(res["y"], out)
    assert m.backend.last_run["inputs"]["x"] == x.ctypes.data
    assert m.backend.last_run["outputs"]["y"] == out.ctypes.data and m.backend.last_run["copied"] == []
    # torch tensors reach ONNX Runtime through DLPack, without a copy
    t = torch.from_numpy(x)
    m.run({"x": t})
    assert m.backend.last_run["inputs"]["x"] == t.data_ptr()
    # a non-contiguous input is the one case made contiguous first (recorded as a copy)
    xt = np.asfortranarray(x)
    m.run({"x": xt})
    assert m.backend.last_run["copied"] == ["x"]


def test_torch_inputs_zero_copy_outputs_copied_once(models, edm_loaded):
    alg = _alg(models["mlp_pt"], 1)
    coll = tensor.from_array(rows(np.random.default_rng(3), 4, 11))
    (outs,) = alg([coll])
    run = alg.model.backend.last_run
    assert run["inputs"]["x"] == _buffer(coll)  # torch.from_numpy over the collection buffer
    assert run["outputs"]["output"] != _buffer(outs[0])  # torch allocates its result ...
    # ... which the engine copies once into the output collection
    m = load_model(models["mlp_pt"])
    out = np.empty((4, 2), np.float32)
    m.run({"x": tensor.as_array(coll)}, out={"output": out})
    assert m.backend.last_run["copied"] == ["output"]
    np.testing.assert_allclose(tensor.as_array(outs[0]), out, atol=1e-6)
