"""JetTagger (configured as k4MLJetTagger's) and the training-ntuple writer (k4MLJetTagger's JetObsWriter role).

    JetTagger("JetTagger", model_path="flavour.onnx", json_path="flavour.json",
              flavor_collection_names=["RefinedJetTag_B", "RefinedJetTag_C", "RefinedJetTag_Q"],
              InputJets=["Jets"], InputPrimaryVertices=["PrimaryVertices"],
              OutputIDCollections=["RefinedJetTag_B", "RefinedJetTag_C", "RefinedJetTag_Q"])

Per event: the JSON's variables are computed by name (features.REGISTRY) for every jet, preprocessed by
`WeaverPreprocessor` exactly as weaver's consumers do, the model runs once on all jets of the event, and
collection k of `OutputIDCollections` gets one ParticleID per jet (likelihood = score of class k, PDG of the
flavour, `particle` = the jet). Class names in the JSON's `output_names` end in the flavour letter(s) after
"is" (recojet_isB); collection names end in the same letters after "_" (RefinedJetTag_B), which is checked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from k4mlinference.algorithms.flavour.event import particle_arrays
from k4mlinference.algorithms.flavour.features import JetContext, check_names, compute
from k4mlinference.algorithms.flavour.jets import jet_constituents
from k4mlinference.edm.fill import new_collection, set_relation
from k4mlinference.edm.resolver import find_collection
from k4mlinference.framework import Consumer, Input, Inputs, Outputs, Property, Transformer
from k4mlinference.inference import WeaverPreprocessor, load_model

FLAVOUR_PDG = {"G": 21, "U": 2, "D": 1, "S": 3, "C": 4, "B": 5, "TAU": 15, "Q": 1}  # Q: u, d, s together
MODELS = Path(__file__).resolve().parents[2] / "models"


def vertex_arrays(vertices) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray]:
    """(positions [n,3], covariances [n,3,3], particle indices per vertex, chi2 [n]) of a VertexCollection."""
    n = len(vertices)
    if not n:
        return np.zeros((0, 3)), np.zeros((0, 3, 3)), [], np.zeros(0)
    d = vertices.data_view()
    pos = np.stack([d["position"][a] for a in "xyz"], axis=1).astype(np.float64)
    low = d["covMatrix"]["values"].astype(np.float64)
    chi2 = d["chi2"].astype(np.float64)
    begin, end = d["particles_begin"].astype(np.int64), d["particles_end"].astype(np.int64)
    del d
    cov = np.zeros((n, 3, 3))
    rows, cols = np.tril_indices(3)
    cov[:, rows, cols] = low
    cov[:, cols, rows] = low
    idx = vertices.relation_view("particles")["index"].astype(np.int64)
    return pos, cov, [idx[b:e] for b, e in zip(begin, end)], chi2


def jet_context(jets, primaries, secondaries=None) -> JetContext:
    """Everything the variables need for one event's jets, read from the EDM collections (the constituents'
    particle and track collections are found through the event)."""
    members, jet_p = jet_constituents(jets)
    jet_e = jets.view("energy").astype(np.float64) if len(jets) else np.zeros(0)
    rel = jets.relation_view("particles")
    parts = find_collection(jets, int(rel["collectionID"][0])) if len(rel) else None
    del rel
    if parts is None:
        arrays = particle_arrays(new_collection("edm4hep::ReconstructedParticleCollection", 0)[0])
    else:
        arrays = particle_arrays(parts)
    pv_pos, pv_cov, _, _ = vertex_arrays(primaries)
    ctx = dict(parts=arrays, members=members, jet_p=jet_p, jet_e=jet_e)
    if len(pv_pos):
        ctx.update(pv=pv_pos[0], pv_cov=pv_cov[0])
    if secondaries is not None:
        pos, cov, sv_members, chi2 = vertex_arrays(secondaries)
        ctx.update(sv_pos=pos, sv_cov=cov, sv_members=sv_members, sv_chi2=chi2)
    return JetContext(**ctx)


def single(colls: list, what: str, name: str):
    if len(colls) != 1:
        raise ValueError(f"{name}: {what} must name exactly one collection, got {len(colls)}")
    return colls[0]


class JetTagger(Transformer):
    """k4MLJetTagger's JetTagger: a weaver-trained network (ONNX + weaver preprocess JSON) scores each jet;
    one ParticleID collection per flavour (`flavor_collection_names` order, likelihood = class score)."""

    InputJets = Inputs(["Jets"], type="edm4hep::ReconstructedParticleCollection", doc="jets to tag")
    InputPrimaryVertices = Inputs(["PrimaryVertices"], type="edm4hep::VertexCollection", doc="primary vertex")
    InputSecondaryVertices = Inputs(
        ["SecondaryVertices"], type="edm4hep::VertexCollection", doc="secondary vertices (for sv_* variables)"
    )
    OutputIDCollections = Outputs(
        ["RefinedJetTag_B", "RefinedJetTag_C", "RefinedJetTag_Q"], type="edm4hep::ParticleIDCollection",
        doc="one ParticleID collection per flavour",
    )  # fmt: skip
    model_path = Property(str(MODELS / "flavour_particlenet.onnx"), doc="ONNX model")
    json_path = Property(str(MODELS / "flavour_particlenet.json"), doc="weaver preprocess JSON of the model")
    flavor_collection_names = Property(
        ["RefinedJetTag_B", "RefinedJetTag_C", "RefinedJetTag_Q"], doc="output collections, in the model's class order"
    )
    AlgorithmType = Property(0, doc="ParticleID.algorithmType written")

    def initialize(self) -> None:
        self.pre = WeaverPreprocessor.from_json(self.json_path)
        try:
            check_names(self.pre.variables)
        except KeyError as exc:
            raise KeyError(f"{self.name}: {self.json_path}: {exc.args[0]}") from None
        self.model = load_model(self.model_path)
        self.pre.check_model(self.model.inputs, model=self.model_path)
        classes = self.pre.output_names
        names = list(self.flavor_collection_names)
        if list(self.OutputIDCollections) != names:
            raise ValueError(
                f"{self.name}: OutputIDCollections {list(self.OutputIDCollections)} != flavor_collection_names {names}"
            )
        suffix = [c.rsplit("_is", 1)[-1].upper() for c in classes]
        if len(classes) != len(names) or [n.rsplit("_", 1)[-1].upper() for n in names] != suffix:
            raise ValueError(
                f"{self.name}: flavor_collection_names {names} do not match the model's classes {classes} "
                f"({self.json_path}): same order and flavour letters needed"
            )
        unknown = [s for s in suffix if s not in FLAVOUR_PDG]
        if unknown:
            raise ValueError(
                f"{self.name}: unknown flavour(s) {unknown} in {self.json_path}; known: {list(FLAVOUR_PDG)}"
            )
        self.pdg = [FLAVOUR_PDG[s] for s in suffix]
        self.uses_sv = any(v.startswith("sv_") for v in self.pre.variables)

    def __call__(self, jets, primaries, secondaries):
        jets = single(jets, "InputJets", self.name)
        primaries = single(primaries, "InputPrimaryVertices", self.name)
        svs = single(secondaries, "InputSecondaryVertices", self.name) if self.uses_sv else None
        scores = self.score(jet_context(jets, primaries, svs)) if len(jets) else np.zeros((0, len(self.pdg)))
        out = []
        for k, pdg in enumerate(self.pdg):
            coll, d = new_collection("edm4hep::ParticleIDCollection", len(jets))
            if len(jets):
                d["PDG"] = pdg
                d["likelihood"] = scores[:, k]
                d["algorithmType"] = self.AlgorithmType
            del d
            set_relation(coll, "particle", np.arange(len(jets), dtype=np.int32), int(jets.getID()))
            out.append(coll)
        return out

    def score(self, ctx: JetContext) -> np.ndarray:
        feeds = self.pre(compute(self.pre.variables, ctx))
        result = self.model.run(feeds)
        scores = np.asarray(next(iter(result.values())), np.float32)
        if scores.shape != (len(ctx.members), len(self.pdg)):
            raise ValueError(f"{self.name}: {self.model_path} returned shape {scores.shape}, expected "
                             f"({len(ctx.members)}, {len(self.pdg)})")  # fmt: skip
        return scores


class JetObservablesWriter(Consumer):
    """Training ntuple (k4MLJetTagger's writeJetConstObs role): one entry per jet with jagged branches
    `pfcand_*` / `sv_*` (counters `npfcand`, `nsv`), jet kinematics and the true flavour, written with uproot
    into tree `JetTags` of `OutputFile` at the end of the job (temporary name, renamed). Each process writes
    its own file: for parallel production use k4mlinference.training.train_flavour_data (one file per chunk,
    merged), not `k4run --ncpus`."""

    InputJets = Input("Jets", type="edm4hep::ReconstructedParticleCollection", doc="jets")
    InputPrimaryVertices = Input("PrimaryVertices", type="edm4hep::VertexCollection", doc="primary vertex")
    InputSecondaryVertices = Input("SecondaryVertices", type="edm4hep::VertexCollection", doc="secondary vertices")
    InputMCTags = Input("MCJetTags", type="edm4hep::ParticleIDCollection", doc="true flavours (JetMCTagger)")
    OutputFile = Property("jet_observables.root", doc="ROOT file written")
    Variables = Property([], doc="variables to write (default: every registered name without aliases)")

    def initialize(self) -> None:
        names = list(self.Variables) or _primary_names()
        check_names(names)
        self.names = names
        self.rows: dict[str, list] = {n: [] for n in names}
        self.scalars: dict[str, list] = {k: [] for k in ("jet_e", "jet_p", "jet_theta", "jet_phi", "jet_mass",
                                                          "jet_flavour", "event_number")}  # fmt: skip

    def __call__(self, jets, primaries, secondaries, tags) -> None:
        if not len(jets):
            return
        ctx = jet_context(jets, primaries, secondaries)
        for name, per_jet in compute(self.names, ctx).items():
            self.rows[name].extend(per_jet)
        p = ctx.jet_p
        pabs = np.linalg.norm(p, axis=1)
        s = self.scalars
        s["jet_e"].extend(ctx.jet_e)
        s["jet_p"].extend(pabs)
        s["jet_theta"].extend(np.arccos(np.clip(p[:, 2] / np.maximum(pabs, 1e-12), -1, 1)))
        s["jet_phi"].extend(np.arctan2(p[:, 1], p[:, 0]))
        s["jet_mass"].extend(np.sqrt(np.maximum(ctx.jet_e**2 - pabs**2, 0.0)))
        s["jet_flavour"].extend(tags.view("PDG") if len(tags) else np.zeros(len(jets), np.int32))
        s["event_number"].extend([self.event_number] * len(jets))

    def finalize(self) -> None:
        write_ntuple(self.OutputFile, self.rows, self.scalars)


def _primary_names() -> list[str]:
    """Registered variables, one name per function (aliases left out)."""
    from k4mlinference.algorithms.flavour.features import REGISTRY

    seen, names = set(), []
    for name, var in REGISTRY.items():
        if var.func not in seen:
            seen.add(var.func)
            names.append(name)
    return names


def jagged(per_jet: list[np.ndarray]):
    """An awkward float32 array with one list per jet (one concatenation, no per-jet objects)."""
    import awkward as ak

    counts = np.fromiter((len(a) for a in per_jet), np.int64, len(per_jet))
    flat = np.concatenate(per_jet).astype(np.float32) if len(per_jet) else np.zeros(0, np.float32)
    return ak.unflatten(flat, counts)


def write_ntuple(path: str | Path, rows: dict[str, list], scalars: dict[str, list], tree: str = "JetTags") -> None:
    """Write jagged `pfcand_*`/`sv_*` rows and per-jet scalars with uproot (temporary name, renamed)."""
    import awkward as ak
    import uproot

    path = Path(path)
    branches: dict[str, object] = {k: np.asarray(v, np.int32 if k in ("jet_flavour", "event_number") else np.float32)
                                   for k, v in scalars.items()}  # fmt: skip
    for prefix in ("pfcand", "sv"):
        fields = {n[len(prefix) + 1 :]: jagged(v) for n, v in rows.items() if n.startswith(prefix + "_")}
        if fields:
            branches[prefix] = ak.zip(fields)
    tmp = path.with_name(f".{path.name}.tmp")
    types = {k: v.type if isinstance(v, ak.Array) else v.dtype for k, v in branches.items()}
    with uproot.recreate(tmp) as f:
        f.mktree(tree, types, field_name=lambda outer, inner: f"{outer}_{inner}").extend(branches)
    tmp.replace(path)
