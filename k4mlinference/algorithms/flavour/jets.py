"""Jets with FastJet and their true flavour (k4MLJetTagger's JetMCTagger role).

JetClustering: exclusive ee_kt (Durham) with NJets = 2 by default (e+e- -> Z -> q qbar, H -> jj); any
FastJet algorithm by name, exclusive (NJets > 0) or inclusive (NJets = 0, jets above MinEnergy). Jets are
ReconstructedParticles (four-momentum sum, E scheme) whose `particles` relation lists the constituents in
descending energy.

JetMCTagger: the flavour of a jet is 5 if any constituent descends from a b hadron, else 4 if any descends
from a c hadron, else the PDG code of the closest outgoing hard-process parton (1, 2, 3 for light quarks,
21 for gluons; 0 when there is none). It is written as one ParticleID per jet (PDG = flavour,
likelihood 1, `particle` = the jet), as k4MLJetTagger's JetMCTagger does.
"""

from __future__ import annotations

import numpy as np

from k4mlinference.edm.fill import new_collection, set_relation
from k4mlinference.framework import Input, Output, Property, Transformer

HARD_OUTGOING = 23  # Pythia status of outgoing hard-process (and resonance-decay) partons


def cluster(p: np.ndarray, energy: np.ndarray, algorithm: str, n_jets: int, radius: float, min_energy: float):
    """Jet constituent index lists (into the particles), each sorted by descending energy."""
    import fastjet

    if not len(energy):
        return []
    algo = getattr(fastjet, f"{algorithm}_algorithm", None)
    if algo is None:
        raise ValueError(f"unknown FastJet algorithm {algorithm!r} (e.g. ee_kt, ee_genkt, antikt, kt, cambridge)")
    if algorithm == "ee_kt":
        jet_def = fastjet.JetDefinition0Param(algo)
    elif algorithm == "ee_genkt":
        jet_def = fastjet.JetDefinition2Param(algo, radius, -1.0)
    else:
        jet_def = fastjet.JetDefinition1Param(algo, radius)
    pseudo = []
    for i, (px, py, pz, e) in enumerate(zip(p[:, 0], p[:, 1], p[:, 2], energy)):
        pj = fastjet.PseudoJet(float(px), float(py), float(pz), float(e))
        pj.set_user_index(i)
        pseudo.append(pj)
    seq = fastjet.ClusterSequence(pseudo, jet_def)
    if n_jets > 0:
        jets = seq.exclusive_jets(min(int(n_jets), len(pseudo)))
    else:
        jets = [j for j in seq.inclusive_jets() if j.e() >= min_energy]
    out = []
    for j in jets:
        idx = np.array([c.user_index() for c in j.constituents()], np.int64)
        out.append(idx[np.argsort(-energy[idx], kind="stable")])
    out.sort(key=lambda idx: -energy[idx].sum())
    return out


class JetClustering(Transformer):
    """FastJet clustering of ReconstructedParticles into jets (ReconstructedParticles with their constituents
    in `particles`); default exclusive ee_kt (Durham) with 2 jets."""

    InputParticles = Input("ReconstructedParticles", type="edm4hep::ReconstructedParticleCollection", doc="inputs")
    OutputJets = Output("Jets", type="edm4hep::ReconstructedParticleCollection", doc="jets")
    Algorithm = Property("ee_kt", doc="FastJet algorithm name without '_algorithm' (ee_kt, ee_genkt, antikt, ...)")
    NJets = Property(2, doc="exclusive number of jets; 0 = inclusive jets")
    R = Property(0.4, doc="radius parameter (not used by ee_kt)")
    MinEnergy = Property(5.0, doc="inclusive jets: minimum energy [GeV]")

    def __call__(self, parts):
        d = parts.data_view()
        p = np.stack([d["momentum"][a] for a in "xyz"], axis=1).astype(np.float64)
        energy = d["energy"].astype(np.float64)
        charge = d["charge"].astype(np.float64)
        del d
        members = cluster(p, energy, self.Algorithm, self.NJets, self.R, self.MinEnergy)
        n = len(members)
        jets, jd = new_collection("edm4hep::ReconstructedParticleCollection", n)
        if n:
            mom = np.array([p[m].sum(axis=0) for m in members])
            e = np.array([energy[m].sum() for m in members])
            for k, a in enumerate("xyz"):
                jd["momentum"][a] = mom[:, k]
            jd["energy"] = e
            jd["mass"] = np.sqrt(np.maximum(e**2 - np.sum(mom**2, axis=1), 0.0))
            jd["charge"] = [charge[m].sum() for m in members]
            counts = np.array([len(m) for m in members], np.uint32)
            jd["particles_end"] = np.cumsum(counts)
            jd["particles_begin"] = jd["particles_end"] - counts
        del jd
        flat = np.concatenate(members).astype(np.int32) if n else np.zeros(0, np.int32)
        set_relation(jets, "particles", flat, int(parts.getID()))
        return jets


def heavy_flavour_ancestry(pdg: np.ndarray, parent_of: np.ndarray, child: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(from_b, from_c) per MCParticle: it is, or descends from, a b (c) hadron. `parent_of`/`child` are the
    edges of the parents relation; flags are propagated down the decay tree until nothing changes."""
    a = np.abs(pdg)
    hadron = a > 100
    q1, q2 = (a // 1000) % 10, (a // 100) % 10
    flags = np.stack([hadron & ((q1 == 5) | (q2 == 5)), hadron & ((q1 == 4) | (q2 == 4))])
    for _ in range(100):
        new = flags.copy()
        np.logical_or.at(new, (slice(None), child), flags[:, parent_of])
        if np.array_equal(new, flags):
            break
        flags = new
    return flags[0], flags[1]


def jet_flavours(jet_members: list, reco_to_mc: np.ndarray, mc: dict, jet_p: np.ndarray) -> np.ndarray:
    """The true flavour (module docstring) of each jet; `jet_members` lists reco-particle indices per jet."""
    from_b, from_c = heavy_flavour_ancestry(mc["pdg"], mc["parent"], mc["child"])
    hard = np.flatnonzero((mc["status"] == HARD_OUTGOING) & np.isin(np.abs(mc["pdg"]), (1, 2, 3, 4, 5, 21)))
    out = np.zeros(len(jet_members), np.int32)
    for k, members in enumerate(jet_members):
        mcidx = reco_to_mc[members]
        mcidx = mcidx[mcidx >= 0]
        if from_b[mcidx].any():
            out[k] = 5
        elif from_c[mcidx].any():
            out[k] = 4
        elif len(hard):
            ph = mc["p"][hard]
            cosang = ph @ jet_p[k] / np.maximum(np.linalg.norm(ph, axis=1) * np.linalg.norm(jet_p[k]), 1e-12)
            out[k] = abs(int(mc["pdg"][hard[int(np.argmax(cosang))]]))
    return out


class JetMCTagger(Transformer):
    """True jet flavour as a ParticleID per jet (PDG 5 b, 4 c, 1/2/3 light quark, 21 gluon, 0 unknown;
    likelihood 1), from b/c-hadron ancestry of the constituents and the closest hard parton."""

    InputJets = Input("Jets", type="edm4hep::ReconstructedParticleCollection", doc="jets")
    InputLinks = Input(
        "RecoMCParticleLinks",
        type="podio::LinkCollection<edm4hep::ReconstructedParticle,edm4hep::MCParticle>",
        doc="reco -> MC links of the jets' constituents",
    )
    InputParticles = Input("MCParticles", type="edm4hep::MCParticleCollection", doc="MC truth")
    OutputTags = Output("MCJetTags", type="edm4hep::ParticleIDCollection", doc="one ParticleID per jet")

    def __call__(self, jets, links, mcparts):
        members, jet_p = jet_constituents(jets)
        lf, lt = links.relation_view("from")["index"], links.relation_view("to")["index"]
        n_reco = int(max(lf.max(initial=-1), max((m.max(initial=-1) for m in members), default=-1))) + 1
        reco_to_mc = np.full(n_reco, -1, np.int64)
        reco_to_mc[lf] = lt
        del lf, lt
        d = mcparts.data_view()
        counts = (d["parents_end"] - d["parents_begin"]).astype(np.int64)
        mc = {
            "pdg": d["PDG"].astype(np.int64),
            "status": d["generatorStatus"].copy(),
            "p": np.stack([d["momentum"][a] for a in "xyz"], axis=1).astype(np.float64),
            "child": np.repeat(np.arange(len(mcparts)), counts),
            "parent": mcparts.relation_view("parents")["index"].astype(np.int64).copy(),
        }
        del d
        flavour = jet_flavours(members, reco_to_mc, mc, jet_p)
        tags, td = new_collection("edm4hep::ParticleIDCollection", len(flavour))
        if len(flavour):
            td["PDG"] = flavour
            td["likelihood"] = 1.0
        del td
        set_relation(tags, "particle", np.arange(len(flavour), dtype=np.int32), int(jets.getID()))
        return tags


def jet_constituents(jets) -> tuple[list[np.ndarray], np.ndarray]:
    """(constituent index arrays into the particles collection, jet momenta [n, 3]) of a jet collection."""
    d = jets.data_view()
    begin, end = d["particles_begin"].astype(np.int64), d["particles_end"].astype(np.int64)
    jet_p = np.stack([d["momentum"][a] for a in "xyz"], axis=1).astype(np.float64)
    del d
    idx = jets.relation_view("particles")["index"].astype(np.int64)
    return [idx[b:e] for b, e in zip(begin, end)], jet_p
