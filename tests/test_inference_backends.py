# ruff: noqa: F811  (fixtures imported from test_inference_models are redefined as test arguments)
"""load_model over every backend: the contract read from the model, outputs equal to onnxruntime called
directly, ONNX Runtime vs torch agreement, errors named by model/input/shape/dtype, sidecars, sharing."""

from __future__ import annotations

import json
import threading
import warnings

import numpy as np
import onnx  # noqa: E402
import pytest
import torch  # noqa: E402
from test_inference_models import (  # noqa: F401  (fixtures)
    edm_loaded,
    eic_model,
    load_mlp,
    models,
    ort_direct,
    rows,
)

from k4mlinference.inference import (
    InferenceEngine,
    ModelInputError,
    ModelLoadError,
    ModelNotFoundError,
    SessionService,
    get_model,
    load_model,
)
from k4mlinference.inference.sidecar import parse


def test_onnx_contract_and_direct_equality(models):
    m = load_model(models["mlp_onnx"])
    assert m.kind == "onnxruntime"
    assert [(s.name, s.shape, str(s.dtype)) for s in m.inputs] == [("x", ("batch", 11), "float32")]
    assert [(s.name, s.shape, str(s.dtype)) for s in m.outputs] == [("y", ("batch", 2), "float32")]
    assert m.metadata["producer_name"] == "pytorch"
    assert m.metadata["providers"] == ["CPUExecutionProvider"]
    x = rows(np.random.default_rng(0), 7, 11)
    np.testing.assert_array_equal(m.run({"x": x})["y"], ort_direct(models["mlp_onnx"], {"x": x})[0])


def test_eic_model_through_load_model(eic_model):
    m = load_model(eic_model)
    assert [(s.name, s.shape, str(s.dtype)) for s in m.inputs] == [("input", ("batch_size", 6), "float32")]
    assert [(s.name, s.shape, str(s.dtype)) for s in m.outputs] == [("output", ("batch_size", 3), "float32")]
    x = rows(np.random.default_rng(1), 50, 6)
    np.testing.assert_array_equal(m.run({"input": x})["output"], ort_direct(eic_model, {"input": x})[0])
    # batched over events equals per-event and direct
    events = [{"input": rows(np.random.default_rng(i), i % 5, 6)} for i in range(9)]
    got = InferenceEngine(m, batch_size=4).run_events(events)
    for e, g in zip(events, got):
        assert g["output"].shape == (e["input"].shape[0], 3)
        if len(e["input"]):
            np.testing.assert_allclose(g["output"], ort_direct(eic_model, e)[0], rtol=1e-6, atol=1e-6)


def test_names_with_dots_and_slashes_n_inputs_m_outputs(models):
    m = load_model(models["two_onnx"])
    assert m.input_names == ["feat.a/0", "aux"]
    assert m.output_names == ["out/prob", "out.sum"]
    rng = np.random.default_rng(2)
    feeds = {"feat.a/0": rows(rng, 4, 4), "aux": rows(rng, 4, 2)}
    got = m.run(feeds)
    ref = ort_direct(models["two_onnx"], feeds)
    np.testing.assert_array_equal(got["out/prob"], ref[0])
    np.testing.assert_array_equal(got["out.sum"], ref[1])


def test_onnxruntime_and_torch_agree(models):
    x = rows(np.random.default_rng(3), 64, 11)
    y_ort = load_model(models["mlp_onnx"]).run({"x": x})["y"]
    ts = load_model(models["mlp_pt"])
    assert ts.kind == "torch" and ts.input_names == ["x"]
    y_ts = ts.run({"x": x})["output"]
    mod = load_model(load_mlp(models))  # an nn.Module given in Python
    y_mod = mod.run({"x": torch.from_numpy(x)})["output"]
    np.testing.assert_allclose(y_ts, y_ort, rtol=0, atol=1e-5)
    np.testing.assert_allclose(y_mod, y_ort, rtol=0, atol=1e-5)
    # the model runs in inference mode, and that mode is scoped to the call
    seen = []

    class Probe(torch.nn.Module):
        def forward(self, x):
            seen.append((torch.is_inference_mode_enabled(), torch.is_grad_enabled()))
            return x * 2

    load_model(Probe()).run({"x": x})
    assert seen == [(True, False)]
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
    # torch tensors are accepted by the onnxruntime backend too (DLPack, no copy)
    np.testing.assert_array_equal(load_model(models["mlp_onnx"]).run({"x": torch.from_numpy(x)})["y"], y_ort)


def test_torch_export_pt2(models, tmp_path):
    mlp = load_mlp(models)
    x = torch.randn(5, 11)
    try:
        ep = torch.export.export(mlp, (x,), dynamic_shapes={"x": {0: torch.export.Dim("batch", min=1, max=100000)}})
        torch.export.save(ep, str(tmp_path / "mlp.pt2"))
    except Exception as e:  # pragma: no cover - depends on the torch build
        pytest.skip(f"torch.export unavailable here: {e}")
    m = load_model(tmp_path / "mlp.pt2")
    assert m.metadata["format"] == "torch.export"
    assert m.inputs[0].name == "x" and m.inputs[0].shape[1] == 11 and m.inputs[0].dtype == np.float32
    xx = rows(np.random.default_rng(4), 9, 11)
    np.testing.assert_allclose(m.run({"x": xx})["output"], mlp(torch.from_numpy(xx)).detach().numpy(), atol=1e-6)


def test_python_callable_backend(tmp_path):
    def f(a, b):
        return a + b, a * b

    m = load_model(f, output_names=["sum", "prod"])
    assert m.kind == "python" and m.input_names == ["a", "b"]
    out = m.run({"a": np.ones(3, np.float32), "b": np.full(3, 2, np.float32)})
    np.testing.assert_array_equal(out["sum"], 3)
    np.testing.assert_array_equal(out["prod"], 2)
    mod = tmp_path / "mymodel.py"
    mod.write_text("def double(x):\n    return 2 * x\n")
    m2 = load_model(f"{mod}:double")
    np.testing.assert_array_equal(m2.run({"x": np.arange(3.0)})["output"], [0, 2, 4])


# ------------------------------------------------------------------ errors, by message
def test_error_wrong_shape(models):
    m = load_model(models["mlp_onnx"])
    with pytest.raises(ModelInputError) as e:
        m.run({"x": np.zeros((4, 10), np.float32)})
    msg = str(e.value)
    assert str(models["mlp_onnx"]) in msg and "'x'" in msg
    assert "[batch, 11]" in msg and "(4, 10)" in msg and "float32" in msg
    with pytest.raises(ModelInputError, match="wrong rank 1"):
        m.run({"x": np.zeros(11, np.float32)})


def test_error_wrong_dtype(models):
    m = load_model(models["mlp_onnx"])
    with pytest.raises(ModelInputError) as e:
        m.run({"x": np.zeros((4, 11), np.float64)})
    msg = str(e.value)
    assert "wrong dtype" in msg and "dtype float32" in msg and "dtype float64" in msg and str(models["mlp_onnx"]) in msg
    # cast=True converts instead
    assert m.run({"x": np.zeros((4, 11), np.float64)}, cast=True)["y"].shape == (4, 2)


def test_error_unknown_and_missing_input(models):
    m = load_model(models["two_onnx"])
    with pytest.raises(ModelInputError, match=r"unknown input name\(s\) \['feat'\].*'feat.a/0', 'aux'"):
        m.run({"feat": np.zeros((1, 4), np.float32), "aux": np.zeros((1, 2), np.float32)})
    with pytest.raises(ModelInputError, match=r"missing input\(s\) \['aux'\]"):
        m.run({"feat.a/0": np.zeros((1, 4), np.float32)})
    with pytest.raises(ModelInputError, match="dimension 'batch' is 2 but input 'feat.a/0' has 1"):
        m.run({"feat.a/0": np.zeros((1, 4), np.float32), "aux": np.zeros((2, 2), np.float32)})


def test_error_missing_and_corrupt_file(models, tmp_path):
    missing = tmp_path / "nope.onnx"
    with pytest.raises(ModelNotFoundError, match=f"model {missing}: no such file"):
        load_model(missing)
    with pytest.raises(FileNotFoundError):  # also a FileNotFoundError for generic handlers
        load_model(missing)
    with pytest.raises(ModelLoadError, match=f"model {models['corrupt_onnx']}: onnxruntime cannot load it"):
        load_model(models["corrupt_onnx"])
    bad_pt = tmp_path / "bad.pt"
    bad_pt.write_bytes(b"garbage")
    with pytest.raises(ModelLoadError, match=f"model {bad_pt}: torch cannot load it"):
        load_model(bad_pt)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ModelLoadError, match="the file is empty"):
        load_model(empty)
    with pytest.raises(ModelLoadError, match="cannot tell the backend"):
        load_model(models["mlp_state"].with_suffix(".xyz"))


def test_error_nan_and_policy(models):
    m = load_model(models["mlp_onnx"])
    x = np.zeros((4, 11), np.float32)
    x[2, 5] = np.nan
    x[3, 0] = np.inf
    with pytest.raises(
        ModelInputError, match=r"input 'x' holds 1 NaN and 1 inf value\(s\) \(first at index \(2, 5\)\)"
    ):
        m.run({"x": x})
    with pytest.warns(RuntimeWarning, match="NaN"):
        load_model(models["mlp_onnx"], nan_policy="warn").run({"x": x})
    out = load_model(models["mlp_onnx"], nan_policy="ignore").run({"x": x})["y"]
    assert np.isfinite(out[:2]).all()
    big = np.full((2, 11), 3e38, np.float32)  # the sum overflows but every value is finite: no false alarm
    m.check({"x": big})  # (running it would overflow inside the MLP: a NaN output, which nan_policy rejects)


def test_gpu_request_falls_back_to_cpu_with_warning(models):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("a CUDA build of onnxruntime is installed; the fallback is not exercised")
    with pytest.warns(RuntimeWarning, match="CUDAExecutionProvider was asked for"):
        m = load_model(models["mlp_onnx"], device="cuda")
    assert m.metadata["providers"] == ["CPUExecutionProvider"]
    if not torch.cuda.is_available():
        with pytest.warns(RuntimeWarning, match="no CUDA device; falling back to CPU"):
            t = load_model(models["mlp_pt"], device="cuda")
        assert t.backend.device == "cpu"


def test_threads_default_to_one(models):
    m = load_model(models["mlp_onnx"])
    opts = m.backend.session.get_session_options()
    assert opts.intra_op_num_threads == 1 and opts.inter_op_num_threads == 1
    m4 = load_model(models["mlp_onnx"], intra_op_threads=2)
    assert m4.backend.session.get_session_options().intra_op_num_threads == 2


# ------------------------------------------------------------------ sharing
def test_shared_sessions_load_once_thread_safe(models):
    svc = SessionService.instance()
    svc.clear()
    before = svc.loads
    got = []

    def load():
        got.append(get_model(models["mlp_onnx"]).backend)

    threads = [threading.Thread(target=load) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert svc.loads - before == 1 and all(b is got[0] for b in got)
    other = get_model(models["mlp_onnx"], intra_op_threads=2).backend
    assert other is not got[0] and svc.loads - before == 2
    # concurrent runs on the shared session give the per-thread results
    x = [rows(np.random.default_rng(i), 20, 11) for i in range(4)]
    ref = [ort_direct(models["mlp_onnx"], {"x": a})[0] for a in x]
    res = [None] * 4

    def run(i):
        for _ in range(20):
            res[i] = get_model(models["mlp_onnx"]).run({"x": x[i]})["y"]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r, e in zip(res, ref):
        np.testing.assert_array_equal(r, e)


# ------------------------------------------------------------------ sidecar
def test_sidecar_own_format(models, tmp_path):
    import shutil

    path = tmp_path / "mlp.onnx"
    shutil.copy(models["mlp_onnx"], path)
    centre = list(range(11))
    scale = [2.0] * 11
    (tmp_path / "mlp.json").write_text(
        json.dumps(
            {
                "description": "test MLP",
                "inputs": {
                    "x": {"features": [f"f{i}" for i in range(11)], "centre": centre, "scale": scale, "clip": [-1, 1]}
                },
                "outputs": {"y": {"classes": ["pion", "electron"]}},
            }
        )
    )
    m = load_model(path)
    assert m.sidecar.format == "k4ml" and m.sidecar.description == "test MLP"
    assert m.output_classes == {"y": ["pion", "electron"]}
    assert m.sidecar.preprocessing["x"].features[3] == "f3"
    x = rows(np.random.default_rng(5), 6, 11) * 10
    expect = np.clip((x - np.arange(11, dtype=np.float32)) / 2, -1, 1)
    np.testing.assert_allclose(m.sidecar.preprocess({"x": x})["x"], expect, rtol=1e-6)
    np.testing.assert_allclose(m.run({"x": x}, preprocess=True)["y"], m.run({"x": expect})["y"], rtol=1e-6)
    assert load_model(path, sidecar=False).sidecar is None


def test_sidecar_weaver_preprocess_json():
    # the layout of weaver's preprocess.json as CMSSW's ParticleNet and FCCAnalyses read it
    cfg = {
        "output_names": ["probB", "probC", "probUDS"],
        "input_names": ["pf_features", "pf_mask"],
        "pf_features": {
            "var_length": 4,
            "var_names": ["pt_log", "eta"],
            "var_infos": {
                "pt_log": {
                    "median": 1.0,
                    "norm_factor": 0.5,
                    "replace_inf_value": -9,
                    "lower_bound": -5,
                    "upper_bound": 5,
                    "pad": 0,
                },
                "eta": {
                    "median": 0.0,
                    "norm_factor": 1.0,
                    "replace_inf_value": 0,
                    "lower_bound": -1,
                    "upper_bound": 1,
                    "pad": 7,
                },
            },
        },
        "pf_mask": {
            "min_length": 1,
            "max_length": 3,
            "var_names": ["mask"],
            "var_infos": {"mask": {"median": 0, "norm_factor": 1}},
        },
    }
    sc = parse(cfg)
    assert sc.format == "weaver" and sc.input_order == ["pf_features", "pf_mask"]
    assert sc.output_classes == {"*": ["probB", "probC", "probUDS"]}
    p = sc.preprocessing["pf_features"]
    assert p.features == ["pt_log", "eta"] and p.length == 4
    x = np.array([[[3.0, np.inf, 1.0], [0.5, 2.0, -3.0]]], np.float32)  # [batch=1, vars=2, constituents=3]
    y = p.apply(x)
    assert y.shape == (1, 2, 4)
    np.testing.assert_allclose(y[0, 0], [1.0, -5.0, 0.0, 0.0])  # (x-1)*0.5; inf -> -9 -> (-9-1)*0.5 = -5; pad 0
    np.testing.assert_allclose(y[0, 1], [0.5, 1.0, -1.0, 7.0])  # clipped to [-1, 1], padded with 7
    mask = sc.preprocessing["pf_mask"].apply(np.ones((2, 1, 5), np.float32))
    assert mask.shape == (2, 1, 3)  # truncated to max_length


def test_sidecar_gives_torch_specs(models, tmp_path):
    import shutil

    path = tmp_path / "m.pt"
    shutil.copy(models["mlp_pt"], path)
    (tmp_path / "m.json").write_text(
        json.dumps(
            {
                "inputs": {"x": {"shape": ["batch", 11], "dtype": "float32"}},
                "outputs": {"y": {"shape": ["batch", 2], "dtype": "float32"}},
            }
        )
    )
    m = load_model(path)
    assert m.inputs[0].shape == ("batch", 11) and m.output_names == ["y"]
    with pytest.raises(ModelInputError, match="axis 1 must be 11"):
        m.run({"x": np.zeros((2, 3), np.float32)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert m.run({"x": np.zeros((2, 11), np.float32)})["y"].shape == (2, 2)


def test_onnx_custom_metadata(models, tmp_path):
    proto = onnx.load(str(models["mlp_onnx"]))
    entry = proto.metadata_props.add()
    entry.key, entry.value = "classes", "pion,electron"
    proto.doc_string = "test MLP with metadata"
    path = tmp_path / "meta.onnx"
    onnx.save(proto, str(path))
    m = load_model(path)
    assert m.metadata["custom"] == {"classes": "pion,electron"}
    assert m.metadata["description"] == "test MLP with metadata"


def test_sidecar_padding_of_the_constituent_axis():
    # channels-last particle input [batch, constituents, features]: pad axis 1, per-feature pad values
    sc = parse({"inputs": {"parts": {"centre": [1.0, 0.0], "pad_length": 4, "pad_axis": 1, "pad_value": [-1, -2]}}})
    y = sc.preprocessing["parts"].apply(np.ones((2, 3, 2), np.float32))
    assert y.shape == (2, 4, 2)
    np.testing.assert_array_equal(y[0, :3], [[0, 1]] * 3)
    np.testing.assert_array_equal(y[0, 3], [-1, -2])
    assert sc.preprocessing["parts"].apply(np.ones((1, 6, 2), np.float32)).shape == (1, 4, 2)  # truncated


def test_non_tensor_outputs_are_skipped(tmp_path, edm_loaded):
    """A model with a sequence output besides its tensor output (what CatBoost/sklearn exporters produce)."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("Identity", ["x"], ["prob"]),
            helper.make_node("SequenceConstruct", ["x"], ["seq"]),
        ],
        "with_sequence",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
        [
            helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", 2]),
            helper.make_tensor_sequence_value_info("seq", TensorProto.FLOAT, None),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "seq.onnx"
    onnx.save(model, str(path))
    with pytest.warns(RuntimeWarning, match=r"non-tensor output\(s\) \['seq"):
        m = load_model(path)
    assert m.output_names == ["prob"]
    x = np.ones((3, 2), np.float32)
    np.testing.assert_array_equal(m.run({"x": x})["prob"], x)
    from k4mlinference.edm import tensor
    from k4mlinference.inference.algorithm import MLInference

    alg = MLInference(
        "SeqModel", ModelPath=str(path), InputCollections=["X"], OutputCollections=["P"], SharedSession=False
    )
    with pytest.warns(RuntimeWarning):
        alg.initialize()
    (outs,) = alg([tensor.from_array(x)])
    np.testing.assert_array_equal(tensor.as_array(outs[0]), x)
