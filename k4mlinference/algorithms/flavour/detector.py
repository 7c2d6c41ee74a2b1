"""A parametrised CLD/ILD-like detector response for flavour tagging (what is simulated and simplified, with numbers).

Charged final-state particles with |cos(theta)| < 0.95, pT > 0.1 GeV, produced inside the tracker (r < 1000 mm,
|z| < 1500 mm: `TrackerRadius`, `TrackerHalfLength`) become `edm4hep::Track`s with one `TrackState` AtIP
(reference point = origin, LCIO/EDM4hep helix parameters D0, phi, omega, Z0, tanLambda) from the true helix
through the true production point in a Bz = 2 T field, smeared by Gaussian resolutions:

    sigma(D0) = sigma(Z0) = 5 um (+) 15 um GeV / (p sin^{3/2} theta)      (vertex detector)
    sigma(pT) / pT        = 2e-5 / GeV * pT (+) 1e-3                       (tracker)
    sigma(phi) = sigma(theta) = 0.02 mrad (+) 1 mrad GeV / (p sin^{3/2} theta)

Effects that make the light-jet background of b tagging (all drawn from the per-event generator):
- V0s and hyperons: the generator lets K0S (c*tau 27 mm), Lambda (79 mm) and the charged/cascade hyperons decay,
  so their charged daughters are displaced tracks. A track produced beyond the vertex detector (r > 60 mm,
  `VertexDetectorRadius`) has no vertex-detector hits: its IP resolutions (D0, Z0) are 10x and its angular ones
  2x the values above (`TrackerOnlyIPFactor`, tracker-only extrapolation), in the covariance as well.
- Photon conversions: a final-state photon with |cos(theta)| < 0.95 and E > 0.2 GeV converts with probability
  `ConversionProbability` (default 4%: about 5% X0 of beam pipe and vertex-detector material) at a transverse
  radius uniform in [15, 100] mm (`ConversionRadii`) on its line of flight. It becomes an e- and an e+ produced
  there, sharing its energy with a uniform fraction (the high-energy Bethe-Heitler spectrum is close to flat),
  collinear with it (opening angle m_e / E, below 1 mrad, neglected); each gives a track under the cuts above
  and is linked to the photon's MCParticle; the converted photon leaves no calorimeter cluster.
- Non-Gaussian IP tails: a fraction `IPTailFraction` (default 3%) of tracks (hard scatters, wrong hits) have
  their D0 and Z0 smeared with 3-5x (uniform) their sigma, while the covariance keeps the core sigma.
- Track-finding inefficiency: each track is lost with probability `TrackingInefficiency` (default 1%).
The covariance is diagonal in (D0, phi, omega, Z0, tanLambda, time) with these sigmas (no correlations).
Photons and neutral hadrons with |cos(theta)| < 0.98 become calorimeter ReconstructedParticles with the true
direction and smeared energy: photons 15%/sqrt(E) (+) 1% (E > 0.2 GeV), neutral hadrons 50%/sqrt(E) (+) 5%
(E > 0.5 GeV). Not simulated: nuclear interactions, fake tracks, confusion, multiple scattering beyond the
resolution formulae, time of flight and dE/dx (their features take the documented default 0); charged
particles produced outside the tracker or outside the acceptance are lost. PID: electrons and muons are
identified with `LeptonIDEfficiency` (default 95%), otherwise (and for all charged hadrons) the pion
hypothesis (PDG +-211) is taken; photons 22, neutral hadrons 130.
Every ReconstructedParticle has a RecoMCParticleLink (weight 1) to the MCParticle it comes from (for a
conversion electron: the photon).
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


def conversions(
    p: np.ndarray, vertex: np.ndarray, time: np.ndarray, rng: np.random.Generator, radii: tuple[float, float]
) -> dict[str, np.ndarray]:
    """e-/e+ pairs of photons (momenta `p` [n, 3], production `vertex` [n, 3] mm, `time` ns) converting at a
    transverse radius drawn uniformly in `radii` along their line of flight; a photon produced beyond the
    drawn radius does not convert. Returns per daughter: `photon` (row in the input), `charge`, `p`, `vertex`,
    `time`, `pdg` (11 / -11), electrons first then positrons."""
    radius = rng.uniform(radii[0], radii[1], len(p))
    frac = rng.random(len(p))  # energy share of the electron
    u = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)
    # |v_xy + t u_xy| = radius, t > 0
    a = np.sum(u[:, :2] ** 2, axis=1)
    b = np.sum(vertex[:, :2] * u[:, :2], axis=1)
    c = np.sum(vertex[:, :2] ** 2, axis=1) - radius**2
    ok = (c < 0) & (a > 0)
    t = np.where(ok, (-b + np.sqrt(np.maximum(b * b - a * c, 0.0))) / np.maximum(a, 1e-12), 0.0)
    idx = np.flatnonzero(ok)
    point = vertex[idx] + t[idx, None] * u[idx]
    t_conv = time[idx] + t[idx] / 299.792458
    f = frac[idx, None]
    return {
        "photon": np.concatenate([idx, idx]),
        "charge": np.concatenate([-np.ones(len(idx)), np.ones(len(idx))]),
        "p": np.concatenate([f * p[idx], (1.0 - f) * p[idx]]),
        "vertex": np.concatenate([point, point]),
        "time": np.concatenate([t_conv, t_conv]),
        "pdg": np.concatenate([np.full(len(idx), 11), np.full(len(idx), -11)]),
    }


class FlavourDetectorResponse(MultiTransformer):
    """Parametrised vertex detector, tracker and calorimeter response with a simple PID, photon conversions,
    tracker-only resolution for late-produced tracks, IP tails and track-finding inefficiency: MCParticles ->
    Tracks (TrackState AtIP with covariance), ReconstructedParticles, RecoMCParticleLinks. See the module
    docstring of k4mlinference.algorithms.flavour.detector for the numbers and what is simplified."""

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
    TrackerRadius = Property(1000.0, doc="largest production radius of a reconstructed track [mm]")
    TrackerHalfLength = Property(1500.0, doc="largest production |z| of a reconstructed track [mm]")
    VertexDetectorRadius = Property(60.0, doc="tracks produced beyond this radius have tracker-only IP [mm]")
    TrackerOnlyIPFactor = Property(10.0, doc="IP resolution factor without vertex-detector hits (angles: 2x)")
    ConversionProbability = Property(0.04, doc="probability that a photon (|cos theta| < 0.95) converts")
    ConversionRadii = Property([15.0, 100.0], doc="transverse range of conversion radii [mm] (uniform)")
    IPTailFraction = Property(0.03, doc="fraction of tracks with D0/Z0 smeared by 3-5x their sigma")
    TrackingInefficiency = Property(0.01, doc="probability that a track is not reconstructed")
    Seed = Property(97, doc="random seed (combined with the event number)")

    def __call__(self, mc):
        rng = event_rng(self.Seed, self.event_number)
        m = mc_arrays(mc)
        p, bz = m["p"], float(self.Bz)
        pabs = np.linalg.norm(p, axis=1)
        cos_t = np.divide(p[:, 2], pabs, out=np.zeros_like(pabs), where=pabs > 0)
        apdg = np.abs(m["pdg"])
        final = (m["status"] == 1) & ~np.isin(apdg, NEUTRINOS)
        e_true = np.sqrt(pabs**2 + m["mass"] ** 2)

        # photon conversions in the beam pipe / vertex detector
        photon = apdg == 22
        may_convert = final & photon & (np.abs(cos_t) < 0.95) & (e_true > 0.2)
        cand = np.flatnonzero(may_convert & (rng.random(len(p)) < self.ConversionProbability))
        conv = conversions(p[cand], m["vertex"][cand], m["time"][cand], rng, tuple(self.ConversionRadii))
        converted = np.zeros(len(p), bool)
        converted[cand[np.unique(conv["photon"])]] = True

        # track candidates: charged final-state particles, then conversion electrons
        ich = np.flatnonzero(final & (m["charge"] != 0))
        src = np.concatenate([ich, cand[conv["photon"]]]).astype(np.int64)
        t_charge = np.concatenate([m["charge"][ich], conv["charge"]])
        t_p = np.concatenate([p[ich], conv["p"]])
        t_vtx = np.concatenate([m["vertex"][ich], conv["vertex"]])
        t_time = np.concatenate([m["time"][ich], conv["time"]])
        t_apdg = np.concatenate([apdg[ich], np.abs(conv["pdg"])])
        t_mass = np.concatenate([m["mass"][ich], np.full(len(conv["pdg"]), 0.000511)])
        t_pabs = np.linalg.norm(t_p, axis=1)
        t_pt = np.hypot(t_p[:, 0], t_p[:, 1])
        t_cos = np.divide(t_p[:, 2], t_pabs, out=np.zeros_like(t_pabs), where=t_pabs > 0)
        r_prod = np.hypot(t_vtx[:, 0], t_vtx[:, 1])
        found = rng.random(len(src)) >= self.TrackingInefficiency
        keep = (np.abs(t_cos) < 0.95) & (t_pt > 0.1) & (r_prod < self.TrackerRadius)
        keep &= (np.abs(t_vtx[:, 2]) < self.TrackerHalfLength) & found
        k = np.flatnonzero(keep)
        n_c = len(k)
        state = helix_at_ip(t_charge[k], t_p[k], t_vtx[k], bz)
        sin_t = np.sqrt(1.0 - t_cos[k] ** 2)
        sig = resolutions(t_pabs[k], sin_t, t_pt[k])
        late = r_prod[k] > self.VertexDetectorRadius
        ip_factor = np.where(late, float(self.TrackerOnlyIPFactor), 1.0)
        ang_factor = np.where(late, 2.0, 1.0)
        sig["D0"], sig["Z0"] = sig["D0"] * ip_factor, sig["Z0"] * ip_factor
        sig["phi"], sig["tanLambda"] = sig["phi"] * ang_factor, sig["tanLambda"] * ang_factor
        tail = np.where(rng.random(n_c) < self.IPTailFraction, rng.uniform(3.0, 5.0, n_c), 1.0)
        for key in ("D0", "Z0"):
            state[key] = state[key] + rng.normal(size=n_c) * sig[key] * tail
        state["phi"] = state["phi"] + rng.normal(size=n_c) * sig["phi"]
        theta = np.arctan2(1.0, state["tanLambda"]) + rng.normal(size=n_c) * sig["phi"]
        state["tanLambda"] = 1.0 / np.tan(theta)
        sig_omega = np.abs(state["omega"]) * sig["rel_pt"]
        state["omega"] = state["omega"] * (1.0 + rng.normal(size=n_c) * sig["rel_pt"])
        sigmas = {"D0": sig["D0"], "Z0": sig["Z0"], "phi": sig["phi"], "omega": sig_omega,
                  "tanLambda": sig["tanLambda"], "time": np.full(n_c, 0.1)}  # fmt: skip
        tracks = self._tracks(state, sigmas, t_time[k])

        neutral = final & (m["charge"] == 0) & (np.abs(cos_t) < 0.98) & ~converted
        stoch, const, thr = np.where(photon, 0.15, 0.50), np.where(photon, 0.01, 0.05), np.where(photon, 0.2, 0.5)
        e_meas = e_true * (1.0 + rng.normal(size=len(e_true)) * np.hypot(stoch / np.sqrt(e_true + 1e-12), const))
        neutral &= e_meas > thr
        ineu = np.flatnonzero(neutral)

        p_trk = track_momentum(state, bz)
        lepton = np.isin(t_apdg[k], (11, 13)) & (rng.random(n_c) < self.LeptonIDEfficiency)
        sign = np.sign(t_charge[k]).astype(np.int64)
        pdg_c = np.where(lepton, -sign * t_apdg[k], sign * 211)  # e-/mu- have positive PDG and charge -1
        mass_c = np.where(lepton, t_mass[k], 0.13957)
        p_neu = p[ineu] / np.maximum(pabs[ineu], 1e-12)[:, None] * e_meas[ineu][:, None]
        n_n = len(ineu)
        parts, d = new_collection("edm4hep::ReconstructedParticleCollection", n_c + n_n)
        if n_c + n_n:
            mom = np.concatenate([p_trk, p_neu])
            for ax, a in enumerate("xyz"):
                d["momentum"][a] = mom[:, ax]
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
        links = link_collection(np.arange(n_c + n_n), parts, np.concatenate([src[k], ineu]), mc)
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
