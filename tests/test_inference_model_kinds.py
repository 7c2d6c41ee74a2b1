"""Kinds of real models the inference layer meets in the wild, each built here (torch.onnx.export, TorchScript,
ONNX graphs as sklearn converters write them): runtime failures, nested TorchScript outputs, ZipMap
classifiers, float64/float16/bool inputs, inner axes that vary between events, zero-row events, and ONNX
inputs with initializer defaults. Every check compares with the model run directly (onnxruntime, torch,
sklearn) rather than with numbers written down."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from k4mlinference.edm import tensor  # noqa: E402
from k4mlinference.inference import (  # noqa: E402
    InferenceEngine,
    ModelError,
    ModelLoadError,
    ModelRunError,
    load_model,
)
from k4mlinference.inference.algorithm import MLInference  # noqa: E402

_COUNT = itertools.count()


# ------------------------------------------------------------------------------------------ builders
def _save(graph, path: Path, ir_version: int = 8, ml: bool = False) -> Path:
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("ai.onnx.ml", 3)] if ml else [])
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = ir_version
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _export(module, args, path: Path, inputs, outputs, axes) -> Path:
    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, tuple(args), str(path), input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=17, dynamo=False)  # fmt: skip
    return path


def _sklearn_classifier(folder: Path, labels: list, name: str):
    """A LogisticRegression trained here and written as skl2onnx writes classifiers: LinearClassifier ->
    (label, probabilities) -> ZipMap (seq(map(label, float))). Returns (path, fitted classifier, X)."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    X = rng.standard_normal((60, 4)).astype(np.float32)
    y = np.array(labels, dtype=object)[np.argmax(X[:, :3], axis=1)]
    clf = LogisticRegression(max_iter=500).fit(X, y.astype(str) if isinstance(labels[0], str) else y.astype(int))
    strings = isinstance(labels[0], str)
    lab_attr = {"classlabels_strings": list(clf.classes_)} if strings else {"classlabels_ints": list(clf.classes_)}
    zip_attr = {"classlabels_strings": list(clf.classes_)} if strings else {"classlabels_int64s": list(clf.classes_)}
    key = TensorProto.STRING if strings else TensorProto.INT64
    nodes = [
        helper.make_node(
            "LinearClassifier",
            ["X"],
            ["label", "probabilities"],
            domain="ai.onnx.ml",
            coefficients=clf.coef_.astype(np.float32).ravel().tolist(),
            intercepts=clf.intercept_.astype(np.float32).tolist(),
            multi_class=1,
            post_transform="SOFTMAX",
            **lab_attr,
        ),
        helper.make_node("ZipMap", ["probabilities"], ["output_probability"], domain="ai.onnx.ml", **zip_attr),
    ]
    seq_map = helper.make_sequence_type_proto(
        helper.make_map_type_proto(key, helper.make_tensor_type_proto(TensorProto.FLOAT, []))
    )
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("label", key, [None]), helper.make_value_info("output_probability", seq_map)],
    )
    return _save(graph, folder / f"{name}.onnx", ml=True), clf, X


def _alg(path, batch_size=1, inputs=("X",), outputs=("Y",), **kw) -> MLInference:
    alg = MLInference(f"kinds{next(_COUNT)}", ModelPath=str(path), InputCollections=list(inputs),
                      OutputCollections=list(outputs), BatchSize=batch_size, SharedSession=False, **kw)  # fmt: skip
    alg.initialize()
    return alg


def _run_alg(alg, events):
    """MLInference over events (lists of arrays, one per input) in one block; numpy outputs per event."""
    res = alg.process_batch([([tensor.from_array(a) for a in ev],) for ev in events])
    return [[np.array(tensor.as_array(c)) for c in out[0]] for out in res]


@pytest.fixture(scope="module")
def edm_loaded():
    from k4mlinference import edm

    edm.load()
    return edm


# ------------------------------------------------------------------------------------------ 1, 8: runtime failures
def test_runtime_failures_name_file_and_feeds(tmp_path):
    """A shape only the graph constrains (Reshape to [-1, 4]) fails inside onnxruntime; a TorchScript model fed
    the wrong width fails inside the interpreter: both are ModelRunError naming the file and the inputs fed,
    on one short line."""
    shape = numpy_helper.from_array(np.array([-1, 4], np.int64), "shape")
    graph = helper.make_graph([helper.make_node("Reshape", ["x", "shape"], ["y"])], "rs",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "M"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
                              initializer=[shape])  # fmt: skip
    path = _save(graph, tmp_path / "reshape.onnx")
    model = load_model(path)
    np.testing.assert_array_equal(model.run({"x": np.ones((2, 4), np.float32)})["y"], np.ones((2, 4)))
    with pytest.raises(ModelRunError) as err:
        model.run({"x": np.ones((3, 3), np.float32)})
    msg = str(err.value)
    assert msg.startswith(f"model {path}: onnxruntime failed on inputs 'x' float32 (3, 3): ")
    assert (
        "Reshape node: The input tensor cannot be reshaped" in msg
        and "onnxruntime_src" not in msg
        and "\n" not in msg
        and len(msg) < 400
    )

    bad = tmp_path / "truncated.onnx"
    bad.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ModelLoadError) as err:
        load_model(bad)
    msg = str(err.value)
    assert msg.startswith(f"model {bad}: onnxruntime cannot load it: ") and "[ONNXRuntimeError]" not in msg

    lin = torch.jit.script(torch.nn.Linear(4, 2).eval())
    pt = tmp_path / "linear.pt"
    lin.save(str(pt))
    with pytest.raises(ModelRunError) as err:
        load_model(pt).run({"input": np.ones((2, 5), np.float32)})
    msg = str(err.value)
    assert msg.startswith(f"model {pt}: torchscript failed on inputs 'input' float32 (2, 5): RuntimeError: ")
    assert "2x5 and 4x2" in msg and "\n" not in msg and len(msg) < 400


# ------------------------------------------------------------------------------------------ 2: nested outputs
class Nested(torch.nn.Module):
    def forward(self, x):
        return x.sum(1, keepdim=True), (x * 2, {"a": x + 1, "b": x - 1})


class Dicts(torch.nn.Module):
    def forward(self, x):
        return {"p": torch.sigmoid(x), "q": {"r": x * 3}}


class Scores(NamedTuple):
    score: torch.Tensor
    total: torch.Tensor


class Named(torch.nn.Module):
    def forward(self, x) -> Scores:
        return Scores(torch.tanh(x), x.sum(1))


def test_torchscript_nested_outputs_flattened(tmp_path, edm_loaded):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    for module, names in [
        (Nested(), ["output_0", "output_1.0", "output_1.1.a", "output_1.1.b"]),
        (Dicts(), ["p", "q.r"]),
        (Named(), ["score", "total"]),
    ]:
        path = tmp_path / f"{type(module).__name__}.pt"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.jit.script(module).save(str(path))
        model = load_model(path)
        out = model.run({"x": x})
        assert list(out) == names and model.output_names == names
        flat = [v for v in _leaves(module(torch.from_numpy(x)))]
        for got, want in zip(out.values(), flat):
            np.testing.assert_array_equal(got, want.numpy())
        assert list(model.run({"x": x[:1]})) == names  # stable from call to call
        # through MLInference, one output collection per flattened tensor, in that order
        alg = _alg(path, 2, inputs=["X"], outputs=[f"O{i}" for i in range(len(names))], Backend="torch")
        (ev0, ev1) = _run_alg(alg, [[x], [x[:2]]])
        for got, want in zip(ev1, flat):
            np.testing.assert_array_equal(got, want.numpy()[:2])


def _leaves(v):
    if isinstance(v, dict):
        for x in v.values():
            yield from _leaves(x)
    elif isinstance(v, (tuple, list)):
        for x in v:
            yield from _leaves(x)
    else:
        yield v


# ------------------------------------------------------------------------------------------ 3: ZipMap classifiers
def test_zipmap_classifier_int_labels(tmp_path, edm_loaded):
    path, clf, X = _sklearn_classifier(tmp_path, [0, 3, 7], "logreg_int")
    model = load_model(path)
    assert [o.name for o in model.outputs] == ["label", "output_probability"]
    assert model.outputs[1].shape == (None, 3) and model.outputs[1].dtype == np.float32
    assert model.output_classes == {"output_probability": [0, 3, 7]}
    out = model.run({"X": X})
    assert out["output_probability"].dtype == np.float32 and out["output_probability"].shape == (60, 3)
    np.testing.assert_allclose(out["output_probability"], clf.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(out["label"], clf.predict(X))
    # MLInference stores both (labels int64, probabilities float32), batched, with a zero-row event
    alg = _alg(path, 3, outputs=["Label", "Prob"])
    events = [[X[:5]], [X[5:5]], [X[5:9]]]
    for (x,), (label, prob) in zip(events, _run_alg(alg, events)):
        assert prob.shape == (len(x), 3) and label.shape == (len(x),)
        if len(x):
            np.testing.assert_allclose(prob, clf.predict_proba(x), atol=1e-5)
            np.testing.assert_array_equal(label, clf.predict(x))


def test_zipmap_classifier_string_labels(tmp_path, edm_loaded):
    path, clf, X = _sklearn_classifier(tmp_path, ["e", "mu", "pi"], "logreg_str")
    model = load_model(path)
    assert model.output_classes == {"output_probability": ["e", "mu", "pi"]}
    out = model.run({"X": X[:7]})
    np.testing.assert_allclose(out["output_probability"], clf.predict_proba(X[:7]), atol=1e-5)
    assert list(out["label"]) == list(clf.predict(X[:7]))
    # a string input (a category, as sklearn pipelines take): numpy str or object arrays
    graph = helper.make_graph([helper.make_node("LabelEncoder", ["cat"], ["code"], domain="ai.onnx.ml",
                                                keys_strings=["e", "mu", "pi"], values_int64s=[11, 13, 211])],
                              "codes", [helper.make_tensor_value_info("cat", TensorProto.STRING, [None])],
                              [helper.make_tensor_value_info("code", TensorProto.INT64, [None])])  # fmt: skip
    codes = load_model(_save(graph, tmp_path / "codes.onnx", ml=True))
    for cats in (np.array(["pi", "e"]), np.array(["pi", "e"], dtype=object)):
        np.testing.assert_array_equal(codes.run({"cat": cats})["code"], [211, 11])
    # a Tensor cannot hold the string labels: refused before any event, naming the output
    with pytest.raises(ModelError, match=r"output 'label' is tensor\(string\), which no Tensor can hold"):
        _alg(path, 1, outputs=["Label", "Prob"])


# ------------------------------------------------------------------------------------------ 4: input dtypes
def test_non_tensor_input_dtypes_need_cast_inputs(tmp_path, edm_loaded):
    """float64 (an exported double-precision network), float16 and bool inputs: Tensor collections hold
    float32/int64, so MLInference refuses them unless CastInputs=True, and then matches onnxruntime."""
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
    f64 = _export(net, [torch.randn(2, 5, dtype=torch.float64)], tmp_path / "double.onnx", ["x"], ["y"],
                  {"x": {0: "batch"}, "y": {0: "batch"}})  # fmt: skip
    graph = helper.make_graph([helper.make_node("Cast", ["h"], ["y"], to=TensorProto.FLOAT)], "half",
                              [helper.make_tensor_value_info("h", TensorProto.FLOAT16, ["N", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])])  # fmt: skip
    f16 = _save(graph, tmp_path / "half.onnx")
    graph = helper.make_graph([helper.make_node("Cast", ["m"], ["y"], to=TensorProto.INT64)], "mask",
                              [helper.make_tensor_value_info("m", TensorProto.BOOL, ["N", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.INT64, ["N", 3])])  # fmt: skip
    fbool = _save(graph, tmp_path / "mask.onnx")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    for path, name, dtype, feed, ref in [
        (f64, "x", "float64", x, {"x": x.astype(np.float64)}),
        (f16, "h", "float16", x[:, :3], {"h": x[:, :3].astype(np.float16)}),
        (fbool, "m", "bool", (x[:, :3] > 0).astype(np.int64), {"m": x[:, :3] > 0}),
    ]:
        with pytest.raises(ModelError, match=rf"model {path}: input '{name}' is {dtype}.*CastInputs=True"):
            _alg(path)
        alg = _alg(path, 2, CastInputs=True)
        (got,) = _run_alg(alg, [[feed]])[0]
        want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, ref)[0]
        np.testing.assert_allclose(got, want, rtol=1e-6)
        assert got.dtype == (np.int64 if want.dtype.kind in "bi" else np.float32)


# ------------------------------------------------------------------------------------------ 5: varying inner axes
class MeanOverHits(torch.nn.Module):
    def forward(self, hits):
        return hits.mean(dim=1) * 2.0


def test_inner_axes_differing_between_events_run_one_by_one(tmp_path, edm_loaded):
    path = _export(MeanOverHits(), [torch.randn(2, 4, 3)], tmp_path / "hits.onnx", ["hits"], ["y"],
                   {"hits": {0: "batch", 1: "hits"}, "y": {0: "batch"}})  # fmt: skip
    rng = np.random.default_rng(5)
    xs = [rng.standard_normal((n, h, 3)).astype(np.float32) for n, h in [(2, 4), (3, 6), (0, 5), (1, 4)]]
    engine = InferenceEngine(load_model(path), batch_size=4)
    with pytest.warns(RuntimeWarning, match=r"input 'hits' has per-row shape \(4, 3\) in event 0 and \(6, 3\)"):
        got = engine.run_events([{"hits": x} for x in xs])
    for x, g in zip(xs, got):
        np.testing.assert_allclose(g["y"], x.mean(axis=1) * 2.0, rtol=1e-6, atol=1e-6)
    # the same through MLInference on Tensor collections, in one block; a single warning
    alg = _alg(path, 4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = _run_alg(alg, [[x] for x in xs])
        _run_alg(alg, [[x] for x in xs])
    assert len([w for w in caught if "per-row shape" in str(w.message)]) == 1
    for x, (y,) in zip(xs, res):
        assert y.shape == (len(x), 3)
        np.testing.assert_allclose(y, x.mean(axis=1) * 2.0, rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------------------------------ 6: zero-row events
class Centred(torch.nn.Module):
    """Refuses zero rows (max over an empty axis), as models reducing over the batch do."""

    def forward(self, x):
        return x - x.max(dim=0, keepdim=True).values


def test_zero_row_events(tmp_path, edm_loaded):
    # a model whose output is not per row (the sum over rows): zero rows are computed by the model
    graph = helper.make_graph([helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0)], "total",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("total", TensorProto.FLOAT, [])])  # fmt: skip
    path = _save(graph, tmp_path / "total.onnx")
    engine = InferenceEngine(load_model(path), batch_size=1)
    got = engine.run_event({"x": np.zeros((0, 3), np.float32)})
    assert engine.calls == 1 and got["total"].shape == () and float(got["total"]) == 0.0
    (y,) = _run_alg(_alg(path), [[np.zeros((0, 3), np.float32)]])[0]
    np.testing.assert_array_equal(y, [0.0])
    # a TorchScript model that refuses zero rows: zero-row outputs shaped from one row, one warning
    pt = tmp_path / "centred.pt"
    torch.jit.script(Centred()).save(str(pt))
    engine = InferenceEngine(load_model(pt), batch_size=3)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    with pytest.warns(RuntimeWarning, match="refuses zero-row inputs"):
        got = engine.run_events([{"x": x[:0]}, {"x": x[:0]}])
    assert [g["output"].shape for g in got] == [(0, 3), (0, 3)]
    got = engine.run_event({"x": x})
    np.testing.assert_array_equal(got["output"], x - x.max(axis=0))
    alg = _alg(pt, 2, Backend="torch")
    with pytest.warns(RuntimeWarning, match="refuses zero-row inputs"):
        res = _run_alg(alg, [[x[:0]], [x[:0]]])
    assert [r[0].shape for r in res] == [(0, 3), (0, 3)]


# ------------------------------------------------------------------------------------------ 7: optional inputs
def scale_of(v: float) -> np.ndarray:
    return np.array([v], np.float32)


def test_optional_inputs_with_initializer_defaults(tmp_path, edm_loaded):
    scale = numpy_helper.from_array(np.array([2.0], np.float32), "scale")
    graph = helper.make_graph([helper.make_node("Mul", ["x", "scale"], ["y"])], "opt",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2]),
                               helper.make_tensor_value_info("scale", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])],
                              initializer=[scale])  # fmt: skip
    path = _save(graph, tmp_path / "optional.onnx")
    model = load_model(path)
    assert model.input_names == ["x"] and [s.name for s in model.optional_inputs] == ["scale"]
    assert "scale [1] float32 (optional: has a default)" in model.describe()
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.testing.assert_array_equal(model.run({"x": x})["y"], 2 * x)
    np.testing.assert_array_equal(model.run({"x": x, "scale": np.array([3.0], np.float32)})["y"], 3 * x)
    with pytest.raises(ModelError, match=r"input 'scale': wrong dtype; expected shape \[1\] dtype float32"):
        model.run({"x": x, "scale": np.array([3.0])})
    with pytest.raises(ModelError, match=r"unknown input name\(s\) \['scal'\].*\(optional: \['scale'\]\)"):
        model.run({"x": x, "scal": np.array([3.0], np.float32)})
    engine = InferenceEngine(model, batch_size=2)
    got = engine.run_events([{"x": x}, {"x": x[:1]}])
    np.testing.assert_array_equal(got[1]["y"], 2 * x[:1])
    # MLInference: one collection leaves the default; a second one overrides it per event
    (y,) = _run_alg(_alg(path), [[x]])[0]
    np.testing.assert_array_equal(y, 2 * x)
    alg = _alg(path, 3, inputs=["X", "Scale"])
    events = [[x[:1], np.array([5.0], np.float32)], [x[1:2], np.array([0.5], np.float32)], [x[:0], scale_of(4)]]
    with pytest.warns(RuntimeWarning, match=r"optional input 'scale' \[1\] has no batch axis"):
        res = _run_alg(alg, events)  # one row each: concatenating would give scale [2]; run event by event
    np.testing.assert_array_equal(res[0][0], 5 * x[:1])
    np.testing.assert_array_equal(res[1][0], 0.5 * x[1:2])
    assert res[2][0].shape == (0, 2)
    with pytest.raises(ModelError, match=r"3 InputCollections .* has 1 input\(s\): x \[N, 2\] float32 and 1 optional"):
        _alg(path, 1, inputs=["X", "Scale", "Z"])
    # IR 3: every initializer is listed as a graph input, and none is an input to feed
    graph.ClearField("input")
    graph.input.extend([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2]),
                        helper.make_tensor_value_info("scale", TensorProto.FLOAT, [1])])  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 8)])
    model.ir_version = 3
    onnx.save(model, str(tmp_path / "ir3.onnx"))
    ir3 = load_model(tmp_path / "ir3.onnx")
    assert ir3.input_names == ["x"] and ir3.optional_inputs == []
    np.testing.assert_array_equal(ir3.run({"x": x})["y"], 2 * x)


# ------------------------------------------------------------------------------------------ 1, 5: batch-only failures
def test_model_failing_only_on_batches_runs_event_by_event(tmp_path, edm_loaded):
    """A set model with a learned position per row (a table of 8, as transformers over an event's constituents
    have): every event fits, several events concatenated do not. The engine falls back to one event at a
    time (one warning); an event that does not fit either is a ModelRunError naming it."""
    table = numpy_helper.from_array(np.arange(8 * 2, dtype=np.float32).reshape(8, 2) / 10, "table")
    consts = [numpy_helper.from_array(np.array(v, np.int64), n) for n, v in [("zero", 0), ("one", 1)]]
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero"], ["n"]),
        helper.make_node("Range", ["zero", "n", "one"], ["idx"]),
        helper.make_node("Gather", ["table", "idx"], ["pos"]),
        helper.make_node("Add", ["x", "pos"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "positions", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])],
                              initializer=[table, *consts])  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "positions.onnx"
    onnx.save(model, str(path))
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal((n, 2)).astype(np.float32) for n in (5, 0, 6, 3)]
    want = [x + np.arange(len(x) * 2, dtype=np.float32).reshape(-1, 2) / 10 for x in xs]
    engine = InferenceEngine(load_model(path), batch_size=4)
    with pytest.warns(
        RuntimeWarning,
        match=r"it fails on 3 events at once: onnxruntime failed on inputs 'x' float32 \(14, 2\): Add node",
    ):
        got = engine.run_events([{"x": x} for x in xs])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g["y"], w, rtol=1e-6)
    assert engine.calls == 1 + 3  # the failed batch, then the 3 events with rows
    engine.run_events([{"x": x} for x in xs])
    assert engine.calls == 4 + 3  # remembered: no batch tried again
    alg = _alg(path, 4)
    with pytest.warns(RuntimeWarning, match="it fails on 3 events at once"):
        res = _run_alg(alg, [[x] for x in xs])
    for (y,), w in zip(res, want):
        np.testing.assert_allclose(y, w, rtol=1e-6)
    too_long = rng.standard_normal((9, 2)).astype(np.float32)
    with pytest.raises(ModelRunError, match=r"inputs 'x' float32 \(9, 2\): \w+ node.*\(event 1\)$") as err:
        alg.process_batch([([tensor.from_array(xs[0])],), ([tensor.from_array(too_long)],)])
    assert err.value.event == 1
    # a fresh instance: the batch fails because one event does not fit; it is named, and batching stays on
    alg = _alg(path, 4)
    with pytest.warns(RuntimeWarning, match="it fails on 2 events at once"):
        with pytest.raises(ModelRunError, match=r"\(event 1\)$"):
            alg.process_batch([([tensor.from_array(xs[0])],), ([tensor.from_array(too_long)],)])
    calls = alg.engine.calls
    _run_alg(alg, [[xs[3][:1]], [xs[3][:2]]])
    assert alg.engine.calls == calls + 1
