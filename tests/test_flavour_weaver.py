"""WeaverPreprocessor: weaver's preprocess.json semantics and layouts, and the JetTagger's checks on bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from k4mlinference.inference import ModelInputError, ModelLoadError, TensorSpec, WeaverPreprocessor

NEW_LAYOUT = {  # weaver-core's export_json today (with pad), plus a variable-length group (CMSSW style)
    "output_names": ["recojet_isB", "recojet_isQ"],
    "input_names": ["pf_features", "pf_mask"],
    "pf_features": {
        "var_names": ["pfcand_erel_log", "pfcand_btagSip2dSig"],
        "var_infos": {
            "pfcand_erel_log": {
                "median": -1.0,
                "norm_factor": 2.0,
                "replace_inf_value": 0.0,
                "lower_bound": -5.0,
                "upper_bound": 5.0,
                "pad": -3.0,
            },
            "pfcand_btagSip2dSig": {
                "median": 0.0,
                "norm_factor": 0.5,
                "replace_inf_value": -1.0,
                "lower_bound": -2.0,
                "upper_bound": 2.0,
                "pad": 0.0,
            },
        },  # fmt: skip
        "var_length": 4,
    },
    "pf_mask": {
        "var_names": ["pfcand_mask"],
        "var_infos": {
            "pfcand_mask": {
                "median": 0,
                "norm_factor": 1,
                "replace_inf_value": 0,
                "lower_bound": -1e32,
                "upper_bound": 1e32,
                "pad": 0,
            }
        },  # fmt: skip
        "var_length": 4,
    },
}


def hand_built_jet() -> dict[str, list[np.ndarray]]:
    # jet 0: three constituents (one raw value is infinite, one is far out of range); jet 1: none
    return {
        "pfcand_erel_log": [np.array([-0.5, -1.0, -2.0]), np.array([])],
        "pfcand_btagSip2dSig": [np.array([1.0, np.inf, 100.0]), np.array([])],
        "pfcand_mask": [np.ones(3), np.array([])],
    }


def test_hand_built_jet_gives_expected_padded_normalised_tensor() -> None:
    pre = WeaverPreprocessor.from_dict(NEW_LAYOUT)
    out = pre(hand_built_jet())
    assert set(out) == {"pf_features", "pf_mask"}
    x = out["pf_features"]
    assert x.dtype == np.float32 and x.shape == (2, 2, 4)
    # (x - median) * norm_factor, clipped; padded with pad
    np.testing.assert_allclose(x[0, 0], [(-0.5 + 1) * 2, 0.0, (-2 + 1) * 2, -3.0])
    # inf -> replace_inf_value (-1) before centring: -1 * 0.5 = -0.5; 100 * 0.5 clipped to 2
    np.testing.assert_allclose(x[0, 1], [0.5, -0.5, 2.0, 0.0])
    np.testing.assert_array_equal(out["pf_mask"][0, 0], [1, 1, 1, 0])
    # a jet without constituents is the documented default: all padding, no error
    np.testing.assert_array_equal(x[1, 0], [-3.0] * 4)
    np.testing.assert_array_equal(out["pf_mask"][1], 0)


def test_truncation_to_var_length() -> None:
    pre = WeaverPreprocessor.from_dict(NEW_LAYOUT)
    n = 7
    feats = {"pfcand_erel_log": [np.linspace(-1, 0, n)], "pfcand_btagSip2dSig": [np.zeros(n)],
             "pfcand_mask": [np.ones(n)]}  # fmt: skip
    x = pre(feats)["pf_features"]
    assert x.shape == (1, 2, 4)
    np.testing.assert_allclose(x[0, 0], (np.linspace(-1, 0, n)[:4] + 1) * 2, rtol=1e-6)


def test_old_layout_without_pad_and_bounds(tmp_path) -> None:
    """weaver's early JSONs: no 'pad' (CMSSW pads with 0), and hand-made ones without bounds or inf value."""
    old = {
        "output_names": ["a", "b"],
        "input_names": ["pf_features"],
        "pf_features": {
            "var_names": ["pfcand_erel_log"],
            "var_infos": {"pfcand_erel_log": {"median": 1.0, "norm_factor": 10.0}},
            "var_length": 3,
        },
    }
    path = tmp_path / "preprocess_old.json"
    path.write_text(json.dumps(old))
    pre = WeaverPreprocessor.from_json(path)
    x = pre({"pfcand_erel_log": [np.array([3.0, np.nan])]})["pf_features"]
    np.testing.assert_allclose(x[0, 0], [20.0, -10.0, 0.0])  # no clipping, NaN -> 0 before centring, pad 0
    assert pre.output_names == ["a", "b"] and pre.variables == ["pfcand_erel_log"]


def test_new_layout_min_max_length() -> None:
    """min_length/max_length: each jet's own length clamped; the batch is as long as the longest."""
    d = json.loads(json.dumps(NEW_LAYOUT))
    for g in ("pf_features", "pf_mask"):
        del d[g]["var_length"]
        d[g]["min_length"], d[g]["max_length"] = 2, 5
    pre = WeaverPreprocessor.from_dict(d)
    one = {"pfcand_erel_log": [np.array([-1.0])], "pfcand_btagSip2dSig": [np.array([0.0])], "pfcand_mask": [np.ones(1)]}
    assert pre(one)["pf_features"].shape == (1, 2, 2)  # clamped up to min_length
    six = {k: [np.zeros(6)] for k in one}
    assert pre(six)["pf_mask"].shape == (1, 1, 5)  # clamped down to max_length
    both = {k: one[k] + [np.zeros(3)] for k in one}
    out = pre(both)["pf_mask"]
    assert out.shape == (2, 1, 3)
    np.testing.assert_array_equal(out[:, 0], [[1, 0, 0], [0, 0, 0]])


def test_bad_json_errors_name_the_file(tmp_path) -> None:
    path = tmp_path / "broken.json"
    d = json.loads(json.dumps(NEW_LAYOUT))
    del d["pf_features"]["var_infos"]["pfcand_btagSip2dSig"]
    path.write_text(json.dumps(d))
    with pytest.raises(ModelLoadError, match=r"broken\.json.*pfcand_btagSip2dSig"):
        WeaverPreprocessor.from_json(path)
    with pytest.raises(ModelLoadError, match="does not exist"):
        WeaverPreprocessor.from_json(tmp_path / "missing.json")
    pre = WeaverPreprocessor.from_dict(NEW_LAYOUT)
    with pytest.raises(ModelInputError, match="pfcand_mask"):
        pre({"pfcand_erel_log": [np.zeros(1)], "pfcand_btagSip2dSig": [np.zeros(1)]})


def test_model_inputs_must_match_json() -> None:
    pre = WeaverPreprocessor.from_dict(NEW_LAYOUT)
    good = [TensorSpec("pf_features", ("N", 2, 4), np.dtype(np.float32)), TensorSpec("pf_mask", ("N", 1, 4), None)]
    pre.check_model(good)
    with pytest.raises(ModelInputError, match="do not belong together"):
        pre.check_model([TensorSpec("pf_points", ("N", 2, 4), None)], model="other.onnx")
    with pytest.raises(ModelInputError, match="takes 5 variables"):
        pre.check_model([TensorSpec("pf_features", ("N", 5, 4), None), good[1]])
