"""Parametrised calorimeter showers (GFlash-style), vectorised over energy spots with numpy.

Every incident particle becomes a set of equal-energy spots placed by published shower parametrisations; the
spots are then summed into cells by `deposits_to_hits`. Shower depths are drawn in radiation lengths (X0) or
interaction lengths (lambda_I) and mapped onto the particle's axis through the material it actually crosses
(`CalorimeterGeometry.material_along`), so a shower that starts in the EM calorimeter continues in the hadronic
one with that section's constants. Lateral offsets use the Moliere radius (EM) or lambda_I (hadronic) of the
section where the spot lies.

Electromagnetic showers: G. Grindhammer and S. Peters, "The parameterized simulation of electromagnetic showers in
homogeneous and sampling calorimeters", hep-ex/0001020 (GFlash). With y = E/Ec and Z the effective atomic number:
  longitudinal  dE/dt ~ Gamma(alpha, beta), t in X0, per shower (ln T, ln alpha) drawn from a correlated normal:
                <ln T> = ln(ln y - 0.812),            sigma(ln T) = 1 / (-1.4 + 1.26 ln y)
                <ln alpha> = ln(0.81 + (0.458 + 2.26/Z) ln y),   sigma(ln alpha) = 1 / (-0.58 + 0.86 ln y)
                rho(ln T, ln alpha) = 0.705 + 0.023 ln y,        beta = (alpha - 1) / T
  radial        f(r) = p f_C(r) + (1 - p) f_T(r),  f_i(r) = 2 r R_i^2 / (r^2 + R_i^2)^2, r in Moliere radii,
                tau = t / T,  R_C = z1 + z2 tau,  z1 = 0.0251 + 0.00319 ln E,  z2 = 0.1162 - 0.000381 Z
                R_T = k1 (exp(k3 (tau - k2)) + exp(k4 (tau - k2))),  k1 = 0.659 - 0.00309 Z,  k2 = 0.645,
                k3 = -2.59,  k4 = 0.3585 + 0.0421 ln E
                p = p1 exp((p2 - tau)/p3 - exp((p2 - tau)/p3)),  p1 = 2.632 - 0.00094 Z,  p2 = 0.401 + 0.00187 Z,
                p3 = 1.313 - 0.0686 ln E                                                     (E in GeV)
  sampling fluctuations: sigma/E = a/sqrt(E) per section, applied cell by cell (see hits.sampling_response).

Hadronic showers (charged pions, kaons, protons, neutrons, K0L):
  * the first inelastic interaction lies at a depth drawn from exp(-x / lambda_I) along the axis; before it the
    particle ionises as a MIP (section's mip_dedx); if it crosses everything without interacting it punches through;
  * an event-by-event electromagnetic (pi0) fraction f_em ~ Beta with mean <f_em> = 1 - (E/E0)^(m-1),
    E0 = 1 GeV, m = 0.83 (T. A. Gabriel et al., NIM A 338 (1994) 336; D. E. Groom, NIM A 572 (2007) 633), and
    concentration `EMFractionConcentration` (the spread is large and skewed: charge exchange pi- p -> pi0 n gives
    f_em near 1, which is why some pions look like electrons);
  * the EM part, f_em E, is a GFlash shower starting at the interaction point;
  * the non-EM part follows the lambda_I term of the longitudinal profile of R. K. Bock, T. Hansl-Kozanecka and
    T. P. Shah, NIM 186 (1981) 533:  dE/dx ~ (x/lambda)^(a-1) exp(-c x/lambda), x from the interaction point,
    a = 0.6165 + 0.3183 ln E, c = 0.9099 - 0.0237 ln E (their fit for iron), and is seen with the section's h/e
    (`hadronic_response`; the rest is invisible: nuclear binding, slow neutrons);
  * lateral profile of the non-EM part: the GFlash form 2 r R^2/(r^2 + R^2)^2 with R = lambda_I / sqrt(19), i.e.
    95% of the energy inside a cylinder of one lambda_I (R. Wigmans, Calorimetry, 2nd ed., 2017, sect. 2.3).
Muons are MIPs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from k4mlinference.detector.geometry import CalorimeterGeometry

C_MM_PER_NS = 299.792458
EM = (11, 22)
HADRONS = (211, 321, 2212, 2112, 130)
MUONS = (13,)


@dataclass
class ShowerParameters:
    """Tunable parameters of the hadronic model (the GFlash EM parameters are fixed by the publication)."""

    em_fraction_e0: float = 1.0  # GeV, Groom/Gabriel <f_em> = 1 - (E/E0)^(m-1)
    em_fraction_m: float = 0.83
    em_fraction_concentration: float = 2.0  # Beta(mu k, (1-mu) k): spread of f_em event by event
    bock_a: tuple[float, float] = (0.6165, 0.3183)  # a = a0 + a1 ln E
    bock_c: tuple[float, float] = (0.9099, -0.0237)  # c = c0 + c1 ln E
    spots: int = 400  # spots per shower component
    mip_spots: int = 40  # spots per MIP track segment
    step: float = 4.0  # mm, granularity of the material map along the axis
    max_path: float = 3600.0  # mm of axis followed from the calorimeter entry


@dataclass
class Deposits:
    """Spots of all particles of an event and per-particle energy bookkeeping (GeV)."""

    positions: np.ndarray  # [m, 3] mm
    energies: np.ndarray  # [m] visible-equivalent energy (EM scale) of each spot inside the calorimeter
    particle: np.ndarray  # [m] index of the owning particle
    times: np.ndarray  # [m] ns
    incident: np.ndarray  # [n] energy of each particle
    deposited: np.ndarray  # [n] energy deposited in calorimeter sections (visible + invisible)
    invisible: np.ndarray  # [n] part of `deposited` that is not seen (hadronic h/e < 1)
    leaked: np.ndarray  # [n] energy leaving the calorimeter (punch-through, back, sides, gaps)
    truth: dict = field(default_factory=dict)  # per particle: start depth [lambda_I], f_em, T [X0], MIP energy...


def gflash_profile_parameters(
    energy: np.ndarray, critical_energy: np.ndarray, z: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Per-shower (alpha, T[X0]) with GFlash's correlated fluctuations (hep-ex/0001020, homogeneous media)."""
    ln_y = np.log(np.maximum(energy / critical_energy, 20.0))
    mean_ln_t = np.log(ln_y - 0.812)
    sig_ln_t = 1.0 / (-1.4 + 1.26 * ln_y)
    mean_ln_a = np.log(0.81 + (0.458 + 2.26 / z) * ln_y)
    sig_ln_a = 1.0 / (-0.58 + 0.86 * ln_y)
    rho = np.clip(0.705 + 0.023 * ln_y, -1.0, 1.0)
    g1, g2 = rng.standard_normal((2, len(energy)))
    ln_t = mean_ln_t + sig_ln_t * g1
    ln_a = mean_ln_a + sig_ln_a * (rho * g1 + np.sqrt(1 - rho**2) * g2)
    t_max = np.exp(ln_t)
    alpha = np.maximum(np.exp(ln_a), 1.05)
    return alpha, t_max


def gflash_radius(tau: np.ndarray, energy: np.ndarray, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Radial distance of spots in Moliere radii: core or tail (probability p(tau)), inverse CDF of
    2 r R^2 / (r^2 + R^2)^2, i.e. r = R sqrt(u / (1 - u))."""
    ln_e = np.log(np.maximum(energy, 1e-3))
    r_core = (0.0251 + 0.00319 * ln_e) + (0.1162 - 0.000381 * z) * tau
    k1, k2, k3, k4 = 0.659 - 0.00309 * z, 0.645, -2.59, 0.3585 + 0.0421 * ln_e
    r_tail = k1 * (np.exp(k3 * (tau - k2)) + np.exp(k4 * (tau - k2)))
    p1, p2, p3 = 2.632 - 0.00094 * z, 0.401 + 0.00187 * z, 1.313 - 0.0686 * ln_e
    x = (p2 - tau) / p3
    p = np.clip(p1 * np.exp(x - np.exp(x)), 0.0, 1.0)
    radius = np.where(rng.random(len(tau)) < p, r_core, r_tail)
    u = rng.random(len(tau)) * 0.9999
    return radius * np.sqrt(u / (1.0 - u))


def mean_em_fraction(energy: np.ndarray, params: ShowerParameters) -> np.ndarray:
    """<f_em>(E) = 1 - (E/E0)^(m-1) (Gabriel et al. 1994), 0 below E0."""
    return np.clip(1.0 - (np.maximum(energy, 1e-6) / params.em_fraction_e0) ** (params.em_fraction_m - 1), 0.0, 1.0)


def orthonormal(direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    helper = np.where(np.abs(direction[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    u = np.cross(direction, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return u, np.cross(direction, u)


class _Axis:
    """The material along each particle's axis, to place depths given in X0 or lambda_I."""

    def __init__(self, geo: CalorimeterGeometry, start: np.ndarray, direction: np.ndarray, p: ShowerParameters):
        self.s, self.x0, self.lam, self.section = geo.material_along(start, direction, p.step, p.max_path)
        self.start, self.direction = start, direction
        self.u, self.v = orthonormal(direction)

    def path(self, owner: np.ndarray, depth: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Path length [mm] along the axis of particle `owner` where `depth` (X0 or lambda_I, per `table`) is
        reached, and the section index there (-1 in gaps)."""
        m = table.shape[1]
        offset = (table[:, -1].max() + 1.0) if table.size else 1.0  # rows side by side in one sorted array
        flat = (table + offset * np.arange(len(table))[:, None]).ravel()
        k = np.searchsorted(flat, depth + offset * owner) - owner * m  # first grid point at/after depth
        k = np.clip(k, 1, m - 1)
        lo, hi = table[owner, k - 1], table[owner, k]
        frac = np.divide(depth - lo, hi - lo, out=np.zeros_like(depth), where=hi > lo)
        s = self.s[k - 1] + np.clip(frac, 0, 1) * (self.s[k] - self.s[k - 1])
        return s, self.section[owner, k - 1]

    def point(self, owner: np.ndarray, s: np.ndarray, r: np.ndarray, phi: np.ndarray) -> np.ndarray:
        return (
            self.start[owner]
            + s[:, None] * self.direction[owner]
            + (r * np.cos(phi))[:, None] * self.u[owner]
            + (r * np.sin(phi))[:, None] * self.v[owner]
        )


def simulate(
    geo: CalorimeterGeometry,
    vertex: np.ndarray,
    momentum: np.ndarray,
    energy: np.ndarray,
    pdg: np.ndarray,
    rng: np.random.Generator,
    params: ShowerParameters | None = None,
) -> Deposits:
    """Spots of the showers of n particles (vertex [n,3] mm, momentum [n,3] GeV, energy [n] GeV, PDG [n])."""
    p = params or ShowerParameters()
    n = len(energy)
    apdg = np.abs(np.asarray(pdg))
    direction = momentum / np.maximum(np.linalg.norm(momentum, axis=1, keepdims=True), 1e-12)
    entry, entry_sec, path0 = geo.entry(vertex, direction)
    hits_calo = entry_sec >= 0
    kind = np.where(np.isin(apdg, EM), 0, np.where(np.isin(apdg, HADRONS), 1, np.where(np.isin(apdg, MUONS), 2, -1)))
    use = np.nonzero(hits_calo & (kind >= 0) & (energy > 0))[0]
    axis = _Axis(geo, entry[use], direction[use], p)
    local = np.arange(len(use))
    e = energy[use]
    k = kind[use]
    # spots as (owner (local index), path along the axis [mm], radius [mm], energy, visible fraction)
    pieces: list[tuple[np.ndarray, ...]] = []
    mat_z = geo.material_constant(entry_sec[use], "Z")
    mat_ec = geo.material_constant(entry_sec[use], "critical_energy")
    total_lam = axis.lam[:, -1]
    # --- hadrons: interaction depth, MIP track before it, EM fraction
    start_lam = np.where(k == 1, rng.exponential(1.0, len(use)), 0.0)
    punch = (k == 1) & (start_lam >= total_lam)
    start_lam = np.where(k == 2, total_lam, np.minimum(start_lam, total_lam))
    start_s, _ = axis.path(local, start_lam, axis.lam)
    start_s = np.where(k == 0, 0.0, start_s)
    mip_e = np.zeros(len(use))
    ion = np.nonzero((k >= 1) & (start_s > 0))[0]
    if len(ion):
        owner = np.repeat(ion, p.mip_spots)
        s = rng.random(len(owner)) * start_s[owner]
        sec = axis.section[owner, np.minimum((s / p.step).astype(np.int64), axis.section.shape[1] - 1)]
        de = geo.material_constant(sec, "mip_dedx")
        de = np.nan_to_num(de) * np.repeat(start_s[ion], p.mip_spots) / p.mip_spots
        scale = np.minimum(1.0, e[ion] / np.maximum(np.bincount(owner, de, len(use))[ion], 1e-12))
        de *= np.repeat(scale, p.mip_spots)
        mip_e = np.bincount(owner, de, len(use))
        pieces.append((owner, s, np.zeros(len(s)), de, np.ones(len(s))))
    showering = (k != 2) & ~punch
    rest = np.where(showering, e - mip_e, 0.0)
    f_em = np.where(k == 0, 1.0, 0.0)
    had = np.nonzero((k == 1) & showering)[0]
    if len(had):
        mu = np.clip(mean_em_fraction(e[had], p), 1e-3, 1 - 1e-3)
        kappa = p.em_fraction_concentration
        f_em[had] = rng.beta(mu * kappa, (1 - mu) * kappa)
    # --- EM component (electrons, photons, the pi0 part of hadron showers)
    em = np.nonzero(showering & (f_em * rest > 0))[0]
    t_max = np.full(len(use), np.nan)
    em_mean = np.full(len(use), np.nan)
    if len(em):
        e_em = f_em[em] * rest[em]
        alpha, tm = gflash_profile_parameters(e_em, mat_ec[em], mat_z[em], rng)
        t_max[em] = tm
        beta = (alpha - 1.0) / tm
        em_mean[em] = alpha / beta
        owner = np.repeat(em, p.spots)
        t_rel = rng.gamma(np.repeat(alpha, p.spots), 1.0 / np.repeat(beta, p.spots))
        start_x0 = np.take_along_axis(axis.x0[em], np.searchsorted(axis.s, start_s[em])[:, None], 1)[:, 0]
        depth = np.repeat(start_x0, p.spots) + t_rel
        s, sec = axis.path(owner, depth, axis.x0)
        tau = t_rel / np.repeat(tm, p.spots)
        r_m = gflash_radius(tau, np.repeat(e_em, p.spots), np.repeat(mat_z[em], p.spots), rng)
        beyond = depth > axis.x0[owner, -1]
        rm = np.nan_to_num(geo.material_constant(sec, "moliere_radius"), nan=50.0)
        s = np.where(beyond, p.max_path + 1e4, s)  # beyond the last material: leaks out of the back
        pieces.append((owner, s, r_m * rm, np.repeat(e_em / p.spots, p.spots), np.ones(len(s))))
    # --- non-EM hadronic component (Bock et al.)
    nh = np.nonzero((k == 1) & showering & ((1 - f_em) * rest > 0))[0]
    if len(nh):
        e_h = (1 - f_em[nh]) * rest[nh]
        ln_e = np.log(np.maximum(e[nh], 0.1))
        a = np.maximum(p.bock_a[0] + p.bock_a[1] * ln_e, 0.2)
        c = p.bock_c[0] + p.bock_c[1] * ln_e
        owner = np.repeat(nh, p.spots)
        depth = np.repeat(start_lam[nh], p.spots) + rng.gamma(np.repeat(a, p.spots), 1.0 / np.repeat(c, p.spots))
        s, sec = axis.path(owner, depth, axis.lam)
        beyond = depth > axis.lam[owner, -1]
        lam_local = np.nan_to_num(geo.material_constant(sec, "lambda_I"), nan=200.0)
        u = rng.random(len(s)) * 0.9999
        r = lam_local / np.sqrt(19.0) * np.sqrt(u / (1 - u))
        s = np.where(beyond, p.max_path + 1e4, s)
        response = np.nan_to_num(geo.material_constant(sec, "hadronic_response"), nan=1.0)
        pieces.append((owner, s, r, np.repeat(e_h / p.spots, p.spots), response))
    if pieces:
        owner, s, r, de, resp = (np.concatenate(x) for x in zip(*pieces))
    else:
        owner, s, r, de, resp = (np.zeros(0, dtype=np.int64),) + tuple(np.zeros(0) for _ in range(4))
    pos = axis.point(owner, s, r, rng.uniform(0, 2 * np.pi, len(s)))
    inside = geo.section_of(pos) >= 0
    deposited, invisible, leaked = np.zeros(n), np.zeros(n), np.asarray(energy, dtype=np.float64).copy()
    deposited[use] = np.bincount(owner[inside], de[inside], len(use))
    invisible[use] = np.bincount(owner[inside], (de * (1 - resp))[inside], len(use))
    # leaked, counted on its own: spots outside every section, and what MIPs carry out
    leaked[use] = np.bincount(owner[~inside], de[~inside], len(use)) + np.where(showering, 0.0, e - mip_e)
    times = (path0[use][owner] + s) / C_MM_PER_NS
    truth = {
        "start_lambda": _scatter(n, use, np.where(k == 1, start_lam, np.nan)),
        "punch_through": _scatter(n, use, punch.astype(float)),
        "em_fraction": _scatter(n, use, np.where(k <= 1, f_em, np.nan)),
        "t_max": _scatter(n, use, t_max),
        "em_mean_depth_X0": _scatter(n, use, em_mean),
        "mip_energy": _scatter(n, use, mip_e),
        "entry_section": entry_sec,
        "entry": entry,
    }
    return Deposits(
        positions=pos[inside],
        energies=(de * resp)[inside],
        particle=use[owner[inside]],
        times=times[inside],
        incident=np.asarray(energy, dtype=np.float64),
        deposited=deposited,
        invisible=invisible,
        leaked=leaked,
        truth=truth,
    )


def _scatter(n: int, index: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.full(n, np.nan)
    out[index] = values
    return out
