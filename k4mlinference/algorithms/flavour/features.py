"""Jet-constituent and secondary-vertex observables by name: the JSON's `var_names` select and order them.

Each registered variable is a numpy function over all objects of one kind in an event at once:
"pfcand" (jet constituents, in the jet's order) or "sv" (secondary vertices assigned to the jet holding most
of their tracks). `compute(names, ctx)` returns, per name, one 1-D array per jet: what WeaverPreprocessor
takes. Names follow FCCAnalyses / k4MLJetTagger (`pfcand_*`; k4MLJetTagger's internal `pfcand_cov_*`,
`pfcand_Sip*`, `pfcand_d0/z0`, `pfcand_tof` names are aliases) and ILD's deep-learning flavour-tagging SV
inputs (`sv_*`).

Conventions and defaults: impact parameters are relative to the primary vertex (straight-line transport);
the sign of `*Sip*` and `*JetDist*` is that of (PCA - PV) . jet direction; neutral particles take -9 for every
track quantity (FCCAnalyses' default); `pfcand_mtof`, `pfcand_dndx` are 0 (no time-of-flight or dE/dx in the
detector model); `pfcand_mask`/`sv_mask` are 1 for real entries (padding gives 0).

Adding a variable: decorate a function of the context with `@register("pfcand_myvar", "pfcand", "doc")`;
it returns one value per constituent of the event's jets (`ctx.cidx` are their particle indices).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from k4mlinference.algorithms.flavour.event import Particles

NEUTRAL_DEFAULT = -9.0


@dataclass
class Variable:
    name: str
    kind: str  # "pfcand" or "sv"
    func: Callable[[JetContext], np.ndarray]
    doc: str


VARIABLES: dict[str, Variable] = {}


def register(name: str, kind: str, doc: str, aliases: tuple[str, ...] = ()):
    """Decorator adding a variable (and its aliases) to the registry."""

    def wrap(func):
        for n in (name, *aliases):
            VARIABLES[n] = Variable(n, kind, func, doc)
        return func

    return wrap


@dataclass
class JetContext:
    """One event's jets with everything the variables need, flattened over jets."""

    parts: Particles
    members: list[np.ndarray]  # particle indices per jet (the jet's order)
    jet_p: np.ndarray  # [nj, 3]
    jet_e: np.ndarray  # [nj]
    pv: np.ndarray = field(default_factory=lambda: np.zeros(3))
    pv_cov: np.ndarray = field(default_factory=lambda: np.zeros((3, 3)))
    sv_pos: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    sv_cov: np.ndarray = field(default_factory=lambda: np.zeros((0, 3, 3)))
    sv_members: list[np.ndarray] = field(default_factory=list)
    sv_chi2: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.counts = np.array([len(m) for m in self.members], np.int64)
        self.cidx = np.concatenate(self.members).astype(np.int64) if self.members else np.zeros(0, np.int64)
        self.cjet = np.repeat(np.arange(len(self.members)), self.counts)
        owner = np.full(len(self.parts), -1, np.int64)
        owner[self.cidx] = self.cjet
        sv_jet = np.array(
            [np.bincount(owner[m][owner[m] >= 0], minlength=1).argmax() if (owner[m] >= 0).any() else -1
             for m in self.sv_members], np.int64,
        )  # fmt: skip
        keep = np.flatnonzero(sv_jet >= 0)
        order = keep[np.argsort(sv_jet[keep], kind="stable")]
        self.sidx = order  # SV indices, grouped by jet
        self.sjet = sv_jet[order]
        self.sv_counts = np.bincount(self.sjet, minlength=len(self.members)).astype(np.int64)

    def cached(self, key: str, make: Callable[[], np.ndarray]) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]


def compute(names: list[str], ctx: JetContext) -> dict[str, list[np.ndarray]]:
    """Each named variable as one float array per jet. Unknown names raise KeyError listing the known ones."""
    check_names(names)
    out = {}
    for name in names:
        var = VARIABLES[name]
        flat = np.asarray(var.func(ctx), np.float64)
        counts = ctx.counts if var.kind == "pfcand" else ctx.sv_counts
        out[name] = np.split(flat, np.cumsum(counts)[:-1]) if len(counts) else []
    return out


def check_names(names: list[str]) -> None:
    unknown = [n for n in names if n not in VARIABLES]
    if unknown:
        raise KeyError(f"unknown jet variable(s) {unknown}; known variables: {', '.join(sorted(VARIABLES))}")


# ------------------------------------------------------------------ constituent kinematics
def _rotated(ctx: JetContext, vec: np.ndarray, jet: np.ndarray) -> np.ndarray:
    """Vectors rotated so that their jet's axis is +z (rotate by -phi_jet about z, then -theta_jet about y)."""
    jp = ctx.jet_p[jet]
    phi = np.arctan2(jp[:, 1], jp[:, 0])
    theta = np.arctan2(np.hypot(jp[:, 0], jp[:, 1]), jp[:, 2])
    x = vec[:, 0] * np.cos(phi) + vec[:, 1] * np.sin(phi)
    y = -vec[:, 0] * np.sin(phi) + vec[:, 1] * np.cos(phi)
    z = vec[:, 2]
    return np.stack([x * np.cos(theta) - z * np.sin(theta), y, x * np.sin(theta) + z * np.cos(theta)], axis=1)


def _rel(ctx: JetContext) -> np.ndarray:
    return ctx.cached("rel", lambda: _rotated(ctx, ctx.parts.p[ctx.cidx], ctx.cjet))


@register("pfcand_erel_log", "pfcand", "log10(E / E_jet)")
def _erel_log(ctx):
    return np.log10(np.maximum(ctx.parts.energy[ctx.cidx], 1e-12) / ctx.jet_e[ctx.cjet])


@register("pfcand_erel", "pfcand", "E / E_jet")
def _erel(ctx):
    return ctx.parts.energy[ctx.cidx] / ctx.jet_e[ctx.cjet]


@register("pfcand_thetarel", "pfcand", "polar angle to the jet axis [rad]")
def _thetarel(ctx):
    r = _rel(ctx)
    return np.arctan2(np.hypot(r[:, 0], r[:, 1]), r[:, 2])


@register("pfcand_phirel", "pfcand", "azimuth about the jet axis [rad]")
def _phirel(ctx):
    r = _rel(ctx)
    return np.arctan2(r[:, 1], r[:, 0])


@register("pfcand_e", "pfcand", "energy [GeV]")
def _e(ctx):
    return ctx.parts.energy[ctx.cidx]


@register("pfcand_p", "pfcand", "momentum [GeV]")
def _p(ctx):
    return np.linalg.norm(ctx.parts.p[ctx.cidx], axis=1)


@register("pfcand_charge", "pfcand", "charge [e]")
def _charge(ctx):
    return ctx.parts.charge[ctx.cidx]


@register("pfcand_type", "pfcand", "PDG hypothesis")
def _type(ctx):
    return ctx.parts.pdg[ctx.cidx]


def _pid(codes: tuple[int, ...]):
    return lambda ctx: np.isin(np.abs(ctx.parts.pdg[ctx.cidx]), codes).astype(np.float64)


for _name, _codes, _doc in (
    ("pfcand_isEl", (11,), "identified electron"),
    ("pfcand_isMu", (13,), "identified muon"),
    ("pfcand_isChargedHad", (211, 321, 2212), "charged hadron"),
    ("pfcand_isGamma", (22,), "photon"),
    ("pfcand_isNeutralHad", (130, 2112, 310), "neutral hadron"),
):
    register(_name, "pfcand", _doc)(_pid(_codes))


@register("pfcand_mtof", "pfcand", "time-of-flight mass: no TOF in the detector model, 0", aliases=("pfcand_tof",))
def _mtof(ctx):
    return np.zeros(len(ctx.cidx))


@register("pfcand_dndx", "pfcand", "dN/dx: no cluster counting in the detector model, 0")
def _dndx(ctx):
    return np.zeros(len(ctx.cidx))


@register("pfcand_mask", "pfcand", "1 for every constituent (padding gives 0)")
def _mask(ctx):
    return np.ones(len(ctx.cidx))


# ------------------------------------------------------------------ track covariance (FCCAnalyses names)
COV_NAMES = {  # name: (index in EDM4hep's lower triangle of d0, phi, omega, z0, tanLambda; k4MLJetTagger alias)
    "pfcand_dxydxy": (0, "pfcand_cov_d0d0"),
    "pfcand_dphidxy": (1, "pfcand_cov_phid0"),
    "pfcand_dphidphi": (2, "pfcand_cov_phiphi"),
    "pfcand_dxyc": (3, "pfcand_cov_d0omega"),
    "pfcand_phic": (4, "pfcand_cov_phiomega"),
    "pfcand_dptdpt": (5, "pfcand_cov_omegaomega"),
    "pfcand_dxydz": (6, "pfcand_cov_d0z0"),
    "pfcand_phidz": (7, "pfcand_cov_phiz0"),
    "pfcand_cdz": (8, "pfcand_cov_omegaz0"),
    "pfcand_dzdz": (9, "pfcand_cov_z0z0"),
    "pfcand_dxyctgtheta": (10, "pfcand_cov_d0tanLambda"),
    "pfcand_phictgtheta": (11, "pfcand_cov_phitanLambda"),
    "pfcand_cctgtheta": (12, "pfcand_cov_omegatanLambda"),
    "pfcand_dlambdadz": (13, "pfcand_cov_tanLambdaz0"),
    "pfcand_detadeta": (14, "pfcand_cov_tanLambdatanLambda"),
}


def _cov(index: int):
    def f(ctx):
        v = ctx.parts.cov[ctx.cidx, index]
        return np.where(np.isfinite(v), v, NEUTRAL_DEFAULT)

    return f


for _name, (_index, _alias) in COV_NAMES.items():
    register(_name, "pfcand", f"track covariance entry {_index} (EDM4hep order); -9 for neutrals", (_alias,))(
        _cov(_index)
    )


# ------------------------------------------------------------------ impact parameters
def _ip(ctx: JetContext) -> dict[str, np.ndarray]:
    """d0, z0 relative to the PV, the 2D/3D signs and the track-to-jet-axis distance for the constituents."""

    def make():
        p = ctx.parts
        i = ctx.cidx
        phi, tanl = p.phi[i], p.tan_lambda[i]
        vx, vy, vz = ctx.pv
        d0 = p.d0[i] + vx * np.sin(phi) - vy * np.cos(phi)
        z0 = p.z0[i] + (vx * np.cos(phi) + vy * np.sin(phi)) * tanl - vz
        pca = np.stack([-d0 * np.sin(phi), d0 * np.cos(phi), z0], axis=1)  # relative to the PV
        jdir = ctx.jet_p[ctx.cjet] / np.linalg.norm(ctx.jet_p[ctx.cjet], axis=1, keepdims=True)
        sign2 = np.where(pca[:, 0] * jdir[:, 0] + pca[:, 1] * jdir[:, 1] >= 0, 1.0, -1.0)
        sign3 = np.where(np.sum(pca * jdir, axis=1) >= 0, 1.0, -1.0)
        tdir = p.direction[i]
        normal = np.cross(tdir, jdir)
        nn = np.linalg.norm(normal, axis=1)
        dist = np.abs(np.sum(pca * normal, axis=1)) / np.maximum(nn, 1e-12)
        return {"d0": d0, "z0": z0, "sign2": sign2, "sign3": sign3, "jetdist": dist,
                "sd0": np.sqrt(p.cov[i, 0]), "sz0": np.sqrt(p.cov[i, 9])}  # fmt: skip

    return ctx.cached("ip", make)


def _neutral_default(v: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(v), v, NEUTRAL_DEFAULT)


@register("pfcand_dxy", "pfcand", "transverse impact parameter d0 to the PV [mm]", aliases=("pfcand_d0",))
def _dxy(ctx):
    return _neutral_default(_ip(ctx)["d0"])


@register("pfcand_dz", "pfcand", "longitudinal impact parameter z0 to the PV [mm]", aliases=("pfcand_z0",))
def _dz(ctx):
    return _neutral_default(_ip(ctx)["z0"])


@register("pfcand_btagSip2dVal", "pfcand", "jet-signed |d0| [mm]", aliases=("pfcand_Sip2dVal",))
def _sip2d(ctx):
    ip = _ip(ctx)
    return _neutral_default(ip["sign2"] * np.abs(ip["d0"]))


@register("pfcand_btagSip2dSig", "pfcand", "jet-signed d0 significance", aliases=("pfcand_Sip2dSig",))
def _sip2dsig(ctx):
    ip = _ip(ctx)
    return _neutral_default(ip["sign2"] * np.abs(ip["d0"]) / ip["sd0"])


@register("pfcand_btagSip3dVal", "pfcand", "jet-signed 3D impact parameter [mm]", aliases=("pfcand_Sip3dVal",))
def _sip3d(ctx):
    ip = _ip(ctx)
    return _neutral_default(ip["sign3"] * np.hypot(ip["d0"], ip["z0"]))


@register("pfcand_btagSip3dSig", "pfcand", "jet-signed 3D IP significance", aliases=("pfcand_Sip3dSig",))
def _sip3dsig(ctx):
    ip = _ip(ctx)
    return _neutral_default(ip["sign3"] * np.hypot(ip["d0"], ip["z0"]) / np.hypot(ip["sd0"], ip["sz0"]))


@register("pfcand_btagJetDistVal", "pfcand", "signed track-to-jet-axis distance [mm]", aliases=("pfcand_JetDistVal",))
def _jetdist(ctx):
    ip = _ip(ctx)
    return _neutral_default(ip["sign3"] * ip["jetdist"])


@register("pfcand_btagJetDistSig", "pfcand", "its significance", aliases=("pfcand_JetDistSig",))
def _jetdistsig(ctx):
    ip = _ip(ctx)
    return _neutral_default(ip["sign3"] * ip["jetdist"] / np.hypot(ip["sd0"], ip["sz0"]))


# ------------------------------------------------------------------ secondary vertices (ILD DL studies)
def _sv(ctx: JetContext) -> dict[str, np.ndarray]:
    def make():
        n = len(ctx.sidx)
        p4 = np.zeros((n, 4))
        for k, s in enumerate(ctx.sidx):
            m = ctx.sv_members[s]
            p4[k, :3] = ctx.parts.p[m].sum(axis=0)
            p4[k, 3] = ctx.parts.energy[m].sum()
        flight = ctx.sv_pos[ctx.sidx] - ctx.pv if n else np.zeros((0, 3))
        dist = np.linalg.norm(flight, axis=1)
        unit = flight / np.maximum(dist, 1e-12)[:, None]
        cov = ctx.sv_cov[ctx.sidx] + ctx.pv_cov if n else np.zeros((0, 3, 3))
        sig3 = np.sqrt(np.einsum("ni,nij,nj->n", unit, cov, unit))
        d2 = np.hypot(flight[:, 0], flight[:, 1])
        u2 = np.concatenate([flight[:, :2] / np.maximum(d2, 1e-12)[:, None], np.zeros((n, 1))], axis=1)
        sig2 = np.sqrt(np.einsum("ni,nij,nj->n", u2, cov, u2))
        return {"p4": p4, "dist": dist, "sig3": sig3, "d2": d2, "sig2": sig2, "unit": unit}

    return ctx.cached("sv", make)


def _eta_phi(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pt = np.hypot(v[:, 0], v[:, 1])
    return np.arcsinh(v[:, 2] / np.maximum(pt, 1e-12)), np.arctan2(v[:, 1], v[:, 0])


@register("sv_mass", "sv", "vertex mass from its tracks [GeV]")
def _sv_mass(ctx):
    p4 = _sv(ctx)["p4"]
    return np.sqrt(np.maximum(p4[:, 3] ** 2 - np.sum(p4[:, :3] ** 2, axis=1), 0.0))


@register("sv_ntracks", "sv", "number of tracks")
def _sv_ntracks(ctx):
    return np.array([len(ctx.sv_members[s]) for s in ctx.sidx], np.float64)


@register("sv_p", "sv", "vertex momentum [GeV]")
def _sv_p(ctx):
    return np.linalg.norm(_sv(ctx)["p4"][:, :3], axis=1)


@register("sv_energy_ratio", "sv", "E_sv / E_jet")
def _sv_eratio(ctx):
    return _sv(ctx)["p4"][:, 3] / ctx.jet_e[ctx.sjet]


@register("sv_erel_log", "sv", "log10(E_sv / E_jet)")
def _sv_erel_log(ctx):
    return np.log10(np.maximum(_sv_eratio(ctx), 1e-12))


def _sv_column(key: str, sigma: str | None = None):
    """A cached SV quantity, or its significance when `sigma` names its uncertainty."""

    def f(ctx):
        s = _sv(ctx)
        return s[key] if sigma is None else s[key] / np.maximum(s[sigma], 1e-9)

    return f


for _name, _key, _sigma, _doc in (
    ("sv_dist3d", "dist", None, "3D flight distance from the PV [mm]"),
    ("sv_dist3dsig", "dist", "sig3", "3D flight-distance significance"),
    ("sv_dist2d", "d2", None, "transverse flight distance [mm]"),
    ("sv_dist2dsig", "d2", "sig2", "transverse flight-distance significance"),
):
    register(_name, "sv", _doc)(_sv_column(_key, _sigma))


@register("sv_deltaR", "sv", "DeltaR(vertex momentum, jet axis)")
def _sv_dr(ctx):
    eta_s, phi_s = _eta_phi(_sv(ctx)["p4"][:, :3])
    eta_j, phi_j = _eta_phi(ctx.jet_p[ctx.sjet])
    return np.hypot(eta_s - eta_j, np.angle(np.exp(1j * (phi_s - phi_j))))


@register("sv_costhetasvpv", "sv", "cos(angle between flight direction and vertex momentum)")
def _sv_cos(ctx):
    s = _sv(ctx)
    p = s["p4"][:, :3]
    return np.sum(s["unit"] * p, axis=1) / np.maximum(np.linalg.norm(p, axis=1), 1e-12)


@register("sv_thetarel", "sv", "polar angle of the vertex momentum to the jet axis")
def _sv_thetarel(ctx):
    r = _rotated(ctx, _sv(ctx)["p4"][:, :3], ctx.sjet)
    return np.arctan2(np.hypot(r[:, 0], r[:, 1]), r[:, 2])


@register("sv_phirel", "sv", "azimuth of the vertex momentum about the jet axis")
def _sv_phirel(ctx):
    r = _rotated(ctx, _sv(ctx)["p4"][:, :3], ctx.sjet)
    return np.arctan2(r[:, 1], r[:, 0])


@register("sv_chi2ndf", "sv", "vertex-fit chi2 / ndf")
def _sv_chi2(ctx):
    nt = _sv_ntracks(ctx)
    return ctx.sv_chi2[ctx.sidx] / np.maximum(2 * nt - 3, 1)


@register("sv_mask", "sv", "1 for every vertex (padding gives 0)")
def _sv_mask(ctx):
    return np.ones(len(ctx.sidx))
