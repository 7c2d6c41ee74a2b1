"""Calorimeter PID, EICrecon's Pre-ML / ONNX / Post-ML pattern on EDM4hep clusters.

    Clusters + CalorimeterHits --CaloPIDFeatures--> Tensor [n_clusters, 8] (+ truth Tensor [n_clusters])
    Tensor --MLInference--> probabilities Tensor [n_clusters, 2]
    Clusters + probabilities --CaloPIDToParticleID--> ReconstructedParticles + ParticleIDs

The features are shower-shape quantities an electron/pion separation relies on: an EM shower is
short and narrow, a hadron's is deep, wide and leaks out of the back.
"""

from __future__ import annotations

import numpy as np

from k4mlinference.algorithms.sim.calo import decode
from k4mlinference.edm import tensor
from k4mlinference.edm.fill import new_collection, set_relation
from k4mlinference.framework import Input, MultiTransformer, Output, Property

FEATURE_NAMES = [
    "log_energy",  # log(E / GeV)
    "log_nhits",  # log(1 + number of hits)
    "mean_layer",  # energy-weighted mean layer
    "rms_layer",  # energy-weighted RMS of the layer
    "front_fraction",  # energy fraction in the first 5 layers
    "back_fraction",  # energy fraction in the last 5 layers (leakage)
    "lateral_rms",  # energy-weighted RMS distance from the shower axis [mm]
    "max_hit_fraction",  # largest hit energy / cluster energy
]
CLASS_PDG = [11, 211]  # class 0: electron, class 1: charged pion
TENSOR = "edm4eic::TensorCollection"


def cluster_features(energy: np.ndarray, layer: np.ndarray, pos: np.ndarray, n_layers: int) -> np.ndarray:
    """The 8 features of one cluster from its hits (energies, layers, positions [n, 3])."""
    e_tot = float(energy.sum())
    if len(energy) == 0 or e_tot <= 0:
        return np.zeros(len(FEATURE_NAMES), np.float32)
    w = energy / e_tot
    mean_layer = float(np.sum(w * layer))
    rms_layer = float(np.sqrt(np.sum(w * (layer - mean_layer) ** 2)))
    axis = np.sum(w[:, None] * pos, axis=0)
    axis /= np.linalg.norm(axis) or 1.0
    transverse = pos - np.outer(pos @ axis, axis)
    lateral = float(np.sqrt(np.sum(w * np.sum(transverse**2, axis=1))))
    return np.array(
        [
            np.log(e_tot),
            np.log1p(len(energy)),
            mean_layer,
            rms_layer,
            float(w[layer < 5].sum()),
            float(w[layer >= n_layers - 5].sum()),
            lateral,
            float(w.max()),
        ],
        np.float32,
    )


class CaloPIDFeatures(MultiTransformer):
    """Pre-ML: one feature row per cluster (FEATURE_NAMES) as a float Tensor [n_clusters, 8], and the truth
    class per cluster (index into CLASS_PDG, from the event's most energetic MCParticle) as an int64 Tensor."""

    InputClusters = Input("CaloClusters", type="edm4hep::ClusterCollection", doc="clusters with hit relations")
    InputHits = Input("CalorimeterHits", type="edm4hep::CalorimeterHitCollection", doc="the clusters' hits")
    InputParticles = Input("MCParticles", type="edm4hep::MCParticleCollection", doc="MC truth for the targets")
    OutputFeatures = Output("CaloPIDFeatures", type=TENSOR, doc="float Tensor [n_clusters, 8]")
    OutputTargets = Output("CaloPIDTargets", type=TENSOR, doc="int64 Tensor [n_clusters]: truth class")
    NLayers = Property(25, doc="calorimeter layers (for the leakage feature)")

    def __call__(self, clusters, hits, particles):
        n = len(clusters)
        feats = np.zeros((n, len(FEATURE_NAMES)), np.float32)
        if n:
            hd = hits.data_view()
            layer, _, _ = decode(hd["cellID"])
            pos = np.stack([hd["position"][a] for a in "xyz"], axis=1).astype(np.float64)
            begin, end = clusters.ranges("hits")
            idx = clusters.relation_view("hits")["index"]
            for k in range(n):
                sel = idx[begin[k] : end[k]]
                feats[k] = cluster_features(hd["energy"][sel].astype(np.float64), layer[sel], pos[sel], self.NLayers)
        truth = np.full(n, -1, np.int64)
        if len(particles) and n:
            d = particles.data_view()
            p = np.sqrt(sum(d["momentum"][a] ** 2 for a in "xyz"))
            pdg = abs(int(d["PDG"][int(np.argmax(p))]))
            truth[:] = CLASS_PDG.index(pdg) if pdg in CLASS_PDG else -1
        return tensor.from_array(feats), tensor.from_array(truth)


class CaloPIDToParticleID(MultiTransformer):
    """Post-ML: for each cluster a ReconstructedParticle (energy, direction from the cluster position, PDG of the
    most likely class, cluster relation) and one ParticleID per class (likelihood = model probability), as
    EICrecon's CalorimeterParticleIDPostML does with cluster clones."""

    InputClusters = Input("CaloClusters", type="edm4hep::ClusterCollection", doc="the clusters scored")
    InputProbabilities = Input("CaloPIDProbabilities", type=TENSOR, doc="float Tensor [n_clusters, n_classes]")
    OutputParticles = Output(
        "CaloPIDParticles", type="edm4hep::ReconstructedParticleCollection", doc="one particle per cluster"
    )
    OutputParticleIDs = Output("CaloPIDs", type="edm4hep::ParticleIDCollection", doc="one ParticleID per class")
    ClassPDG = Property(list(CLASS_PDG), doc="PDG code of each output class, in the model's order")
    AlgorithmType = Property(1, doc="ParticleID.algorithmType written")

    def __call__(self, clusters, probabilities):
        n, classes = len(clusters), [int(x) for x in self.ClassPDG]
        prob = tensor.as_array(probabilities) if len(probabilities) else np.zeros((0, len(classes)), np.float32)
        if prob.shape != (n, len(classes)):
            raise ValueError(
                f"{self.name}: probabilities have shape {prob.shape}, expected ({n}, {len(classes)}) for {n} clusters"
            )
        parts, pd = new_collection("edm4hep::ReconstructedParticleCollection", n)
        pids, idd = new_collection("edm4hep::ParticleIDCollection", n * len(classes))
        if n:
            cd = clusters.data_view()
            pos = np.stack([cd["position"][a] for a in "xyz"], axis=1).astype(np.float64)
            direction = pos / np.clip(np.linalg.norm(pos, axis=1, keepdims=True), 1e-9, None)
            best = np.argmax(prob, axis=1)
            charge_sign = {11: -1.0, 211: 1.0}
            pd["energy"] = cd["energy"]
            for k, a in enumerate("xyz"):
                pd["momentum"][a] = cd["energy"] * direction[:, k]
            pd["PDG"] = np.array(classes)[best]
            pd["charge"] = [charge_sign.get(abs(classes[b]), 0.0) for b in best]
            pd["goodnessOfPID"] = prob.max(axis=1)
            pd["clusters_begin"] = np.arange(n)
            pd["clusters_end"] = np.arange(n) + 1
            del cd
        if n:
            idd["PDG"] = np.tile(classes, n)
            idd["likelihood"] = prob.reshape(-1)
            idd["algorithmType"] = self.AlgorithmType
            idd["type"] = 0
        del pd, idd
        set_relation(parts, "clusters", np.arange(n), int(clusters.getID()))
        set_relation(pids, "particle", np.repeat(np.arange(n), len(classes)), int(parts.getID()))
        return parts, pids
