"""The flavour-tagging chain through k4run (generator -> detector -> vertexing -> jets -> JetTagger), read
back with uproot, and the JetTagger's handling of a wrong JSON or model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from k4mlinference.algorithms.flavour import JetTagger
from k4mlinference.algorithms.flavour.tagger import MODELS
from k4mlinference.inference import ModelInputError

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = ROOT / "options" / "flavour_tagging.py"
MODEL = MODELS / "flavour_particlenet.onnx"
JSON = MODELS / "flavour_particlenet.json"
FLAVOURS = ["RefinedJetTag_B", "RefinedJetTag_C", "RefinedJetTag_Q"]


@pytest.fixture(scope="module")
def chain_output(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("flavour") / "tagged.root"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "k4mlinference.framework.cli", str(OPTIONS), "-n", "4", f"--IOSvc.Output={out}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=out.parent, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_chain_writes_one_particleid_collection_per_flavour(chain_output) -> None:
    import uproot

    tree = uproot.open(chain_output)["events"]
    jets_per_event = tree["Jets/Jets.energy"].array(library="np")
    assert all(len(j) == 2 for j in jets_per_event)  # exclusive Durham, N = 2
    scores = []
    for name, pdg in zip(FLAVOURS, (5, 4, 1)):
        like = tree[f"{name}/{name}.likelihood"].array(library="np")
        assert [len(x) for x in like] == [2] * len(jets_per_event)
        assert all((tree[f"{name}/{name}.PDG"].array(library="np")[e] == pdg).all() for e in range(len(like)))
        ref = tree[f"_{name}_particle/_{name}_particle.index"].array(library="np")
        assert all(list(r) == [0, 1] for r in ref)  # ParticleID k points to jet k
        cid = tree[f"_{name}_particle/_{name}_particle.collectionID"].array(library="np")
        assert len(set(np.concatenate(cid).tolist())) == 1  # ... of the one Jets collection
        scores.append(np.concatenate(like))
    np.testing.assert_allclose(np.sum(scores, axis=0), 1.0, rtol=1e-5)  # softmax over the flavours
    for coll in ("MCParticles", "Tracks", "ReconstructedParticles", "PrimaryVertices", "SecondaryVertices",
                 "MCJetTags", "RecoMCParticleLinks"):  # fmt: skip
        assert coll in tree.keys(recursive=False) or any(k.startswith(coll) for k in tree.keys())
    truth = np.concatenate(tree["MCJetTags/MCJetTags.PDG"].array(library="np"))
    assert set(truth.tolist()) <= {0, 1, 2, 3, 4, 5, 21}


def test_json_naming_an_unknown_variable_is_a_clear_error(tmp_path) -> None:
    data = json.loads(JSON.read_text())
    data["pf_features"]["var_names"][0] = "pfcand_nonexistent"
    data["pf_features"]["var_infos"]["pfcand_nonexistent"] = {"median": 0, "norm_factor": 1}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    tagger = JetTagger("TaggerUnknownVar", model_path=str(MODEL), json_path=str(bad))
    with pytest.raises(KeyError, match=r"bad\.json.*pfcand_nonexistent.*known variables"):
        tagger.initialize()


def test_model_whose_inputs_do_not_match_the_json(tmp_path) -> None:
    data = json.loads(JSON.read_text())
    group = data["sv_features"]
    group["var_names"] = group["var_names"][:-1]  # one variable fewer than the network takes
    short = tmp_path / "short.json"
    short.write_text(json.dumps(data))
    with pytest.raises(ModelInputError, match=r"sv_features.*takes \d+ variables"):
        JetTagger("TaggerShortJson", model_path=str(MODEL), json_path=str(short)).initialize()
    renamed = json.loads(JSON.read_text())
    renamed["input_names"] = [n.replace("pf_mask", "mask") for n in renamed["input_names"]]
    renamed["mask"] = renamed.pop("pf_mask")
    other = tmp_path / "renamed.json"
    other.write_text(json.dumps(renamed))
    with pytest.raises(ModelInputError, match="do not belong together"):
        JetTagger("TaggerRenamed", model_path=str(MODEL), json_path=str(other)).initialize()


def test_flavour_collection_names_must_match_the_classes() -> None:
    names = ["RefinedJetTag_C", "RefinedJetTag_B", "RefinedJetTag_Q"]
    tagger = JetTagger("TaggerSwapped", flavor_collection_names=names, OutputIDCollections=names)
    with pytest.raises(ValueError, match="do not match the model's classes"):
        tagger.initialize()


def test_no_jets_and_a_jet_without_constituents() -> None:
    """No jets: empty collections. A jet without constituents: scored from all-padding inputs (the documented
    default of WeaverPreprocessor), finite scores, no crash."""
    from k4mlinference.edm.fill import new_collection

    tagger = JetTagger("TaggerDefaults")  # a name of its own: components are configured by name
    tagger.initialize()
    pv = new_collection("edm4hep::VertexCollection", 0)[0]
    none = new_collection("edm4hep::ReconstructedParticleCollection", 0)[0]
    assert [len(c) for c in tagger([none], [pv], [pv])] == [0, 0, 0]
    empty_jet, d = new_collection("edm4hep::ReconstructedParticleCollection", 1)
    d["energy"], d["momentum"]["x"] = 10.0, 10.0
    del d
    out = tagger([empty_jet], [pv], [pv])
    scores = [float(c.view("likelihood")[0]) for c in out]
    assert np.isfinite(scores).all() and sum(scores) == pytest.approx(1.0, rel=1e-5)
