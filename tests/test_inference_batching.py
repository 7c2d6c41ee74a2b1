# ruff: noqa: F811  (fixtures imported from test_inference_models are redefined as test arguments)
"""Batching across events (numpy engine and MLInference on Tensor collections): batched == per-event ==
onnxruntime direct, zero-row events, fixed-batch models, the real EIC model through MLInference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_inference_models import edm_loaded, eic_model, models, ort_direct, rows  # noqa: F401

from k4mlinference.edm import tensor
from k4mlinference.inference import InferenceEngine, ModelError, load_model
from k4mlinference.inference.algorithm import MLInference


def _events(n: int, width: int, seed: int = 0, max_rows: int = 6) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rows(rng, int(rng.integers(0, max_rows)), width) for _ in range(n)]


@pytest.mark.parametrize("batch_size", [1, 4, 7, 0])
def test_engine_batched_equals_per_event(models, batch_size):
    model = load_model(models["mlp_onnx"])
    xs = _events(23, 11, seed=batch_size)
    xs[3] = xs[3][:0]  # make sure zero-row events are there
    engine = InferenceEngine(model, batch_size=batch_size)
    got = engine.run_events([{"x": x} for x in xs])
    for x, g in zip(xs, got):
        assert g["y"].shape == (len(x), 2) and g["y"].dtype == np.float32
        if len(x):
            np.testing.assert_allclose(g["y"], ort_direct(models["mlp_onnx"], {"x": x})[0], rtol=1e-6, atol=1e-6)
    # one model call per block of k events, except blocks whose events all have zero rows (no call)
    k = batch_size if batch_size > 0 else len(xs)
    blocks = [xs[a : a + k] for a in range(0, len(xs), k)]
    assert engine.calls == sum(1 for b in blocks if any(len(x) for x in b))
    if k > 1:
        assert engine.calls == -(-len(xs) // k)  # ceil(n / k): every block here has rows


def test_engine_zero_row_events_need_no_model_call(models):
    engine = InferenceEngine(load_model(models["mlp_onnx"]), batch_size=8)
    got = engine.run_events([{"x": np.zeros((0, 11), np.float32)} for _ in range(5)])
    assert engine.calls == 0
    assert all(g["y"].shape == (0, 2) and g["y"].dtype == np.float32 for g in got)


def test_engine_fixed_batch_model(models):
    model = load_model(models["fixed_onnx"])
    assert model.inputs[0].shape == (1, 1)
    xs = [np.full((n, 1), n, np.float32) for n in (1, 3, 0, 2)]
    engine = InferenceEngine(model, batch_size=4)
    got = engine.run_events([{"x": x} for x in xs])
    assert engine.calls == 6  # 6 rows, item by item
    for x, g in zip(xs, got):
        assert g["y"].shape == (len(x), 1)
        for r in range(len(x)):
            np.testing.assert_array_equal(g["y"][r : r + 1], ort_direct(models["fixed_onnx"], {"x": x[r : r + 1]})[0])


def test_engine_two_inputs_two_outputs(models):
    model = load_model(models["two_onnx"])
    rng = np.random.default_rng(7)
    ev = []
    for n in (2, 0, 5, 1):
        ev.append({"feat.a/0": rows(rng, n, 4), "aux": rows(rng, n, 2)})
    got = InferenceEngine(model, batch_size=3).run_events(ev)
    for e, g in zip(ev, got):
        assert g["out/prob"].shape == (len(e["aux"]), 3) and g["out.sum"].shape == (len(e["aux"]), 1)
        if len(e["aux"]):
            ref = ort_direct(models["two_onnx"], e)
            np.testing.assert_allclose(g["out/prob"], ref[0], rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(g["out.sum"], ref[1], rtol=1e-6, atol=1e-6)


def test_engine_unsplittable_outputs_fall_back_per_event():
    def total(x):  # output without the batch axis
        return x.sum(axis=0)

    engine = InferenceEngine(load_model(total), batch_size=4)
    with pytest.warns(RuntimeWarning, match="cannot batch across events"):
        got = engine.run_events([{"x": np.ones((n, 2), np.float32)} for n in (1, 2, 3)])
    assert [g["output"].tolist() for g in got] == [[1, 1], [2, 2], [3, 3]]


# ------------------------------------------------------------------ MLInference on Tensor collections
_COUNT = itertools.count()


def _alg(path, batch_size, **kw) -> MLInference:
    alg = MLInference(
        f"inference{next(_COUNT)}",  # unique: constructing a component with an existing name reuses it
        ModelPath=str(path),
        InputCollections=kw.pop("inputs", ["X"]),
        OutputCollections=kw.pop("outputs", ["Y"]),
        BatchSize=batch_size,
        **kw,
    )
    alg.initialize()
    return alg


@pytest.mark.parametrize("batch_size", [1, 5, 16])
def test_mlinference_batched_equals_per_event(models, edm_loaded, batch_size):
    xs = _events(17, 11, seed=100 + batch_size)
    xs[0] = xs[0][:0]
    events = [([tensor.from_array(x)],) for x in xs]
    alg = _alg(models["mlp_onnx"], batch_size)
    results = []
    for a in range(0, len(events), batch_size):  # what the event loop does: blocks of BatchSize events
        results += alg.process_batch(events[a : a + batch_size])
    assert len(results) == len(xs)
    for x, (outs,) in zip(xs, results):
        assert len(outs) == 1
        y = tensor.as_array(outs[0])
        assert y.shape == (len(x), 2) and y.dtype == np.float32
        if len(x):
            np.testing.assert_allclose(y, ort_direct(models["mlp_onnx"], {"x": x})[0], rtol=1e-6, atol=1e-6)
    # one event through __call__
    (outs,) = alg([tensor.from_array(xs[1])])
    np.testing.assert_allclose(tensor.as_array(outs[0]), ort_direct(models["mlp_onnx"], {"x": xs[1]})[0], atol=1e-6)


def test_mlinference_bit_identical_batching_on_eic_model(eic_model, edm_loaded):
    xs = _events(12, 6, seed=3)
    events = [([tensor.from_array(x)],) for x in xs]
    per_event = _alg(eic_model, 1, inputs=["LowQ2Features"], outputs=["LowQ2Out"]).process_batch(events)
    batched = _alg(eic_model, 12, inputs=["LowQ2Features"], outputs=["LowQ2Out"]).process_batch(events)
    for x, a, b in zip(xs, per_event, batched):
        ya, yb = tensor.as_array(a[0][0]), tensor.as_array(b[0][0])
        assert ya.shape == yb.shape == (len(x), 3)
        np.testing.assert_array_equal(ya, yb)  # the same bits, batched or not
        if len(x):
            np.testing.assert_allclose(yb, ort_direct(eic_model, {"input": x})[0], rtol=1e-6, atol=1e-6)


def test_mlinference_n_to_m_and_fixed_batch(models, edm_loaded):
    rng = np.random.default_rng(11)
    feats = [rows(rng, n, 4) for n in (3, 0, 2)]
    aux = [rows(rng, n, 2) for n in (3, 0, 2)]
    alg = _alg(models["two_onnx"], 3, inputs=["F", "A"], outputs=["P", "S"])
    res = alg.process_batch([([tensor.from_array(f), tensor.from_array(a)],) for f, a in zip(feats, aux)])
    for f, a, (outs,) in zip(feats, aux, res):
        p, s = (tensor.as_array(o) for o in outs)
        assert p.shape == (len(f), 3) and s.shape == (len(f), 1)
        if len(f):
            ref = ort_direct(models["two_onnx"], {"feat.a/0": f, "aux": a})
            np.testing.assert_allclose(p, ref[0], rtol=1e-6, atol=1e-7)
    fixed = _alg(models["fixed_onnx"], 4)
    res = fixed.process_batch([([tensor.from_array(np.full((n, 1), 2.0, np.float32))],) for n in (2, 1, 0)])
    assert [tensor.as_array(r[0][0]).shape for r in res] == [(2, 1), (1, 1), (0, 1)]


def test_mlinference_torch_backend_matches_onnx(models, edm_loaded):
    xs = _events(6, 11, seed=9)
    events = [([tensor.from_array(x)],) for x in xs]
    r_onnx = _alg(models["mlp_onnx"], 3).process_batch(events)
    r_torch = _alg(models["mlp_pt"], 3, outputs=["Y"]).process_batch(events)
    for a, b in zip(r_onnx, r_torch):
        np.testing.assert_allclose(tensor.as_array(a[0][0]), tensor.as_array(b[0][0]), atol=1e-5)


def test_mlinference_configuration_errors(models, edm_loaded):
    with pytest.raises(ModelError, match=r"2 InputCollections \['A', 'B'\] but model .*mlp.onnx has 1 input"):
        _alg(models["mlp_onnx"], 1, inputs=["A", "B"])
    with pytest.raises(ModelError, match="OutputCollections"):
        _alg(models["two_onnx"], 1, inputs=["F", "A"], outputs=["P"])
    with pytest.raises(ModelError, match="ModelPath is not set"):
        MLInference("empty").initialize()
    alg = _alg(models["mlp_onnx"], 2)
    from k4mlinference.edm.tensor import TensorError

    with pytest.raises(TensorError, match="event 1: the collection holds no Tensor"):
        alg.process_batch(
            [([tensor.from_array(np.ones((1, 11), np.float32))],), ([edm_loaded.edm4eic.TensorCollection()],)]
        )
    with pytest.raises(Exception, match="axis 1 must be 11"):
        alg.process_batch([([tensor.from_array(np.ones((2, 10), np.float32))],)])
    with pytest.raises(Exception, match="event 1 has per-row shape"):
        alg.process_batch(
            [
                ([tensor.from_array(np.ones((2, 11), np.float32))],),
                ([tensor.from_array(np.ones((2, 10), np.float32))],),
            ]
        )


def test_mlinference_instances_share_one_session(models, edm_loaded):
    a = _alg(models["mlp_onnx"], 1)
    b = _alg(models["mlp_onnx"], 8)
    assert a.model.backend is b.model.backend
    c = _alg(models["mlp_onnx"], 1, SharedSession=False)
    assert c.model.backend is not a.model.backend


def test_mlinference_output_count_checked_for_torch(models, edm_loaded):
    alg = _alg(models["mlp_pt"], 1, outputs=["Y", "Z"])
    with pytest.raises(ModelError, match=r"returned 1 output\(s\) \['output'\] but 2 OutputCollections"):
        alg([tensor.from_array(np.ones((2, 11), np.float32))])


def test_concurrent_instances_on_one_shared_session(models, edm_loaded):
    """Two MLInference instances share one session and run from two threads at once (per-thread IO binding)."""
    import threading

    algs = [_alg(models["mlp_onnx"], bs) for bs in (1, 8)]
    assert algs[0].model.backend is algs[1].model.backend
    xs = _events(40, 11, seed=77)
    events = [([tensor.from_array(x)],) for x in xs]
    got: dict[int, list] = {}

    def work(i: int) -> None:
        alg = algs[i]
        res = []
        for _ in range(3):
            res = []
            for a in range(0, len(events), alg.BatchSize):
                res += alg.process_batch(events[a : a + alg.BatchSize])
        got[i] = [np.array(tensor.as_array(r[0][0])) for r in res]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for x, a, b in zip(xs, got[0], got[1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
        if len(x):
            np.testing.assert_allclose(a, ort_direct(models["mlp_onnx"], {"x": x})[0], rtol=1e-6, atol=1e-6)


def test_single_event_error_names_model_input_event(models, edm_loaded):
    alg = _alg(models["mlp_onnx"], 1)
    from k4mlinference.edm.tensor import TensorError

    with pytest.raises(TensorError, match=r"mlp.onnx: input 'x' of event 0: the collection holds no Tensor"):
        alg([edm_loaded.edm4eic.TensorCollection()])
