"""A parametrised CLD/ILD-like detector response for flavour tagging (what is simplified, with numbers).

Charged final-state particles with |cos(theta)| < 0.95 and pT > 0.1 GeV become `edm4hep::Track`s with one
`TrackState` AtIP (reference point = origin, LCIO/EDM4hep helix parameters D0, phi, omega, Z0, tanLambda) from
the true helix through the true production point in a Bz = 2 T field, smeared by Gaussian resolutions:

    sigma(D0) = sigma(Z0) = 5 um (+) 15 um GeV / (p sin^{3/2} theta)      (vertex detector)
    sigma(pT) / pT        = 2e-5 / GeV * pT (+) 1e-3                       (tracker)
    sigma(phi) = sigma(theta) = 0.02 mrad (+) 1 mrad GeV / (p sin^{3/2} theta)

The covariance is diagonal in (D0, phi, omega, Z0, tanLambda, time) with these sigmas (no correlations).
Photons and neutral hadrons (also K0S, Lambda, which Pythia leaves stable above c*tau0 = 10 mm) with
|cos(theta)| < 0.98 become calorimeter ReconstructedParticles with the true direction and smeared energy:
photons 15%/sqrt(E) (+) 1% (E > 0.2 GeV), neutral hadrons 50%/sqrt(E) (+) 5% (E > 0.5 GeV).
Not simulated: material interactions, conversions, track-finding inefficiency, fakes, confusion, time of
flight and dE/dx (their features take the documented default 0), charged particles outside the tracker
(lost). PID: electrons and muons are identified with `LeptonIDEfficiency` (default 95%), otherwise (and for
all charged hadrons) the pion hypothesis (PDG +-211) is taken; photons 22, neutral hadrons 130.
Every ReconstructedParticle has a RecoMCParticleLink (weight 1) to the MCParticle it comes from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from k4mlinference import edm
from k4mlinference.edm.fill import new_collection, set_relation
from k4mlinference.framework import Input, MultiTransformer, Output, Property
from k4mlinference.framework.seeding import event_rng

C_LIGHT = 0.299792458e-3  # GeV / (T mm): pT = C_LIGHT * B * R
COV_DIAG = {"D0": 0, "phi": 2, "omega": 5, "Z0": 9, "tanLambda": 14, "time": 20}  # EDM4hep lower triangle
AT_IP = 1  # edm4hep::TrackState::AtIP
NEUTRINOS = (12, 14, 16)


def helix_at_ip(charge: np.ndarray, momentum: np.ndarray, vertex: np.ndarray, bz: float) -> dict[str, np.ndarray]:
    """Helix parameters at the point of closest approach to the origin (EDM4hep/LCIO convention:
    PCA = (-D0 sin(phi), D0 cos(phi)), omega > 0 for a positive particle in +z field, Z0 = z at the PCA)
    of particles with `charge`, `momentum` [n, 3] (GeV) produced at `vertex` [n, 3] (mm)."""
    pt = np.hypot(momentum[:, 0], momentum[:, 1])
    phi_p = np.arctan2(momentum[:, 1], momentum[:, 0])
    omega = charge * C_LIGHT * bz / pt
    inv = 1.0 / omega
    centre = vertex[:, :2] + inv[:, None] * np.stack([np.sin(phi_p), -np.cos(phi_p)], axis=1)
    dist = np.hypot(centre[:, 0], centre[:, 1])
    unit = centre / dist[:, None]
    pca = centre - np.abs(inv)[:, None] * unit
    s = np.sign(omega)
    phi = np.arctan2(s * unit[:, 0], -s * unit[:, 1])
    d0 = -pca[:, 0] * np.sin(phi) + pca[:, 1] * np.cos(phi)
    dphi = np.angle(np.exp(1j * (phi - phi_p)))  # wrapped to (-pi, pi]
    tan_lambda = momentum[:, 2] / pt
    z0 = vertex[:, 2] - dphi / omega * tan_lambda
    return {"D0": d0, "phi": phi, "omega": omega, "Z0": z0, "tanLambda": tan_lambda}


def resolutions(p: np.ndarray, sin_theta: np.ndarray, pt: np.ndarray) -> dict[str, np.ndarray]:
    """Gaussian sigmas of the track parameters (module docstring), per track."""
    ms = p * sin_theta**1.5
    sig_ip = np.hypot(0.005, 0.015 / ms)  # mm
    sig_ang = np.hypot(2e-5, 1e-3 / ms)  # rad
    rel_pt = np.hypot(2e-5 * pt, 1e-3)
    return {"D0": sig_ip, "Z0": sig_ip, "phi": sig_ang, "tanLambda": sig_ang / sin_theta**2, "rel_pt": rel_pt}


def track_momentum(state: dict[str, np.ndarray], bz: float) -> np.ndarray:
    """Momentum [n, 3] at the PCA from helix parameters."""
    pt = C_LIGHT * bz / np.abs(state["omega"])
    return np.stack([pt * np.cos(state["phi"]), pt * np.sin(state["phi"]), pt * state["tanLambda"]], axis=1)


def mc_arrays(mc: Any) -> dict[str, np.ndarray]:
    """The MCParticle columns the response needs, as float64 numpy arrays."""
    d = mc.data_view()
    out = {
        "pdg": d["PDG"].astype(np.int64),
        "status": d["generatorStatus"].copy(),
        "charge": d["charge"].astype(np.float64),
        "mass": d["mass"].copy(),
        "p": np.stack([d["momentum"][a] for a in "xyz"], axis=1).astype(np.float64),
        "vertex": np.stack([d["vertex"][a] for a in "xyz"], axis=1).astype(np.float64),
        "time": d["time"].astype(np.float64),
    }
    del d
    return out


def link_collection(from_idx: np.ndarray, from_coll: Any, to_idx: np.ndarray, to_coll: Any) -> Any:
    """A RecoMCParticleLinkCollection with one weight-1 link per (from, to) pair."""
    links = edm.edm4hep.RecoMCParticleLinkCollection()
    n = len(from_idx)
    links.m_data.resize(n)
    if n:
        links.data_view()["weight"] = 1.0
    set_relation(links, "from", np.asarray(from_idx, np.int32), int(from_coll.getID()))
    set_relation(links, "to", np.asarray(to_idx, np.int32), int(to_coll.getID()))
    return links


class FlavourDetectorResponse(MultiTransformer):
    """Parametrised vertex detector, tracker and calorimeter response with a simple PID: MCParticles ->
    Tracks (TrackState AtIP with covariance), ReconstructedParticles, RecoMCParticleLinks. See the module
    docstring of k4mlinference.algorithms.flavour.detector for the resolutions and what is simplified."""

    InputParticles = Input("MCParticles", type="edm4hep::MCParticleCollection", doc="generated particles")
    OutputTracks = Output("Tracks", type="edm4hep::TrackCollection", doc="tracks with a TrackState AtIP")
    OutputParticles = Output(
        "ReconstructedParticles", type="edm4hep::ReconstructedParticleCollection", doc="charged then neutral"
    )
    OutputLinks = Output(
        "RecoMCParticleLinks",
        type="podio::LinkCollection<edm4hep::ReconstructedParticle,edm4hep::MCParticle>",
        doc="truth links",
    )
    Bz = Property(2.0, doc="solenoid field [T]")
    LeptonIDEfficiency = Property(0.95, doc="probability that an electron/muon is identified as such")
    Seed = Property(97, doc="random seed (combined with the event number)")

    def __call__(self, mc):
        rng = event_rng(self.Seed, self.event_number)
        m = mc_arrays(mc)
        p, bz = m["p"], float(self.Bz)
        pabs = np.linalg.norm(p, axis=1)
        pt = np.hypot(p[:, 0], p[:, 1])
        cos_t = np.divide(p[:, 2], pabs, out=np.zeros_like(pabs), where=pabs > 0)
        final = (m["status"] == 1) & ~np.isin(np.abs(m["pdg"]), NEUTRINOS)
        charged = final & (m["charge"] != 0) & (np.abs(cos_t) < 0.95) & (pt > 0.1)
        ic = np.flatnonzero(charged)
        state = helix_at_ip(m["charge"][ic], p[ic], m["vertex"][ic], bz)
        sin_t = np.sqrt(1.0 - cos_t[ic] ** 2)
        sig = resolutions(pabs[ic], sin_t, pt[ic])
        for key in ("D0", "Z0", "phi"):
            state[key] = state[key] + rng.normal(size=len(ic)) * sig[key]
        theta = np.arctan2(1.0, state["tanLambda"]) + rng.normal(size=len(ic)) * sig["phi"]
        state["tanLambda"] = 1.0 / np.tan(theta)
        sig_omega = np.abs(state["omega"]) * sig["rel_pt"]
        state["omega"] = state["omega"] * (1.0 + rng.normal(size=len(ic)) * sig["rel_pt"])
        sigmas = {"D0": sig["D0"], "Z0": sig["Z0"], "phi": sig["phi"], "omega": sig_omega,
                  "tanLambda": sig["tanLambda"], "time": np.full(len(ic), 0.1)}  # fmt: skip
        tracks = self._tracks(state, sigmas, m["time"][ic])

        apdg = np.abs(m["pdg"])
        neutral = final & (m["charge"] == 0) & (np.abs(cos_t) < 0.98)
        e_true = np.sqrt(pabs**2 + m["mass"] ** 2)
        photon = apdg == 22
        stoch, const, thr = np.where(photon, 0.15, 0.50), np.where(photon, 0.01, 0.05), np.where(photon, 0.2, 0.5)
        e_meas = e_true * (1.0 + rng.normal(size=len(e_true)) * np.hypot(stoch / np.sqrt(e_true + 1e-12), const))
        neutral &= e_meas > thr
        ineu = np.flatnonzero(neutral)

        p_trk = track_momentum(state, bz)
        lepton = np.isin(apdg[ic], (11, 13)) & (rng.random(len(ic)) < self.LeptonIDEfficiency)
        sign = np.sign(m["charge"][ic]).astype(np.int64)
        pdg_c = np.where(lepton, -sign * apdg[ic], sign * 211)  # e-/mu- have positive PDG and charge -1
        mass_c = np.where(lepton, m["mass"][ic], 0.13957)
        p_neu = p[ineu] / np.maximum(pabs[ineu], 1e-12)[:, None] * e_meas[ineu][:, None]
        n_c, n_n = len(ic), len(ineu)
        parts, d = new_collection("edm4hep::ReconstructedParticleCollection", n_c + n_n)
        if n_c + n_n:
            mom = np.concatenate([p_trk, p_neu])
            for k, a in enumerate("xyz"):
                d["momentum"][a] = mom[:, k]
            d["mass"] = np.concatenate([mass_c, np.zeros(n_n)])
            d["energy"] = np.concatenate([np.sqrt(np.sum(p_trk**2, axis=1) + mass_c**2), e_meas[ineu]])
            d["charge"] = np.concatenate([sign, np.zeros(n_n)])
            d["PDG"] = np.concatenate([pdg_c, np.where(photon[ineu], 22, 130)])
            d["goodnessOfPID"] = np.concatenate([np.where(lepton, self.LeptonIDEfficiency, 1.0), np.ones(n_n)])
            ntrk = np.concatenate([np.ones(n_c, np.uint32), np.zeros(n_n, np.uint32)])
            d["tracks_end"] = np.cumsum(ntrk)
            d["tracks_begin"] = d["tracks_end"] - ntrk
        del d
        set_relation(parts, "tracks", np.arange(n_c, dtype=np.int32), int(tracks.getID()))
        links = link_collection(np.arange(n_c + n_n), parts, np.concatenate([ic, ineu]), mc)
        return tracks, parts, links

    @staticmethod
    def _tracks(state: dict[str, np.ndarray], sigmas: dict[str, np.ndarray], time: np.ndarray) -> Any:
        n = len(time)
        tracks, d = new_collection("edm4hep::TrackCollection", n)
        if n:
            d["ndf"] = 5
            d["trackStates_begin"] = np.arange(n)
            d["trackStates_end"] = np.arange(n) + 1
        del d
        tracks.m_vec_trackStates.resize(n)
        if n:
            ts = tracks.vector_view("trackStates")
            ts["location"] = AT_IP
            for key in ("D0", "phi", "omega", "Z0", "tanLambda"):
                ts[key] = state[key]
            ts["time"] = time
            cov = np.zeros((n, 21), np.float32)
            for key, idx in COV_DIAG.items():
                cov[:, idx] = sigmas[key] ** 2
            ts["covMatrix"]["values"] = cov
            del ts
        return tracks
