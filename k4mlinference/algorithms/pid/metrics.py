"""The figures a PID study quotes: pion rejection at a fixed electron efficiency, with statistical uncertainty,
overall and per energy bin, and the ROC curve.

Pion rejection R = 1 / (fraction of pions passing the cut that keeps `efficiency` of the electrons). Its
uncertainty comes from a bootstrap over both samples (the cut moves with the electron sample, the passing pion
count fluctuates), with a fixed seed so reports are reproducible.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class Rejection:
    rejection: float  # 1 / pion efficiency at the cut (inf when no pion passes)
    uncertainty: float  # bootstrap standard deviation of `rejection` (finite replicas)
    pion_efficiency: float
    pions_passing: int
    pions: int
    electrons: int
    threshold: float  # cut on the electron score

    def as_dict(self) -> dict:
        return asdict(self)


def cut_for_efficiency(score_e: np.ndarray, efficiency: float) -> float:
    """The score cut keeping `efficiency` of the electrons (score >= cut)."""
    return float(np.quantile(score_e, 1.0 - efficiency, method="lower")) if len(score_e) else np.nan


def pion_rejection(
    score: np.ndarray, is_electron: np.ndarray, efficiency: float = 0.95, n_boot: int = 200, seed: int = 0
) -> Rejection:
    """Pion rejection at `efficiency` electron efficiency for electron scores `score` (higher = more e-like)."""
    score = np.asarray(score, dtype=np.float64)
    is_e = np.asarray(is_electron, dtype=bool)
    s_e, s_pi = score[is_e], score[~is_e]
    cut = cut_for_efficiency(s_e, efficiency)
    passing = int(np.sum(s_pi >= cut))
    eff_pi = passing / len(s_pi) if len(s_pi) else np.nan
    rej = 1.0 / eff_pi if eff_pi > 0 else np.inf
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(n_boot if len(s_e) and len(s_pi) else 0):
        be = s_e[rng.integers(0, len(s_e), len(s_e))]
        bp = s_pi[rng.integers(0, len(s_pi), len(s_pi))]
        k = np.sum(bp >= cut_for_efficiency(be, efficiency))
        if k:
            reps.append(len(bp) / k)
    sigma = float(np.std(reps)) if len(reps) > 1 else np.nan
    return Rejection(float(rej), sigma, float(eff_pi), passing, int(len(s_pi)), int(len(s_e)), cut)


def rejection_by_bin(
    score: np.ndarray, is_electron: np.ndarray, energy: np.ndarray, edges: list[float], efficiency: float = 0.95
) -> list[dict]:
    """`pion_rejection` in bins of true energy (the cut is set per bin, as a per-momentum PID would be)."""
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (energy >= lo) & (energy < hi)
        r = pion_rejection(score[sel], is_electron[sel], efficiency)
        out.append({"energy_min": lo, "energy_max": hi, **r.as_dict()})
    return out


def roc_curve(score: np.ndarray, is_electron: np.ndarray, points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """(electron efficiency, pion efficiency) for cuts at `points` quantiles of the electron scores."""
    is_e = np.asarray(is_electron, dtype=bool)
    s_e, s_pi = np.sort(score[is_e]), np.sort(score[~is_e])
    cuts = np.quantile(s_e, np.linspace(0.0, 1.0, points))
    eff_e = 1.0 - np.searchsorted(s_e, cuts, side="left") / len(s_e)
    eff_pi = 1.0 - np.searchsorted(s_pi, cuts, side="left") / len(s_pi)
    return eff_e, eff_pi


def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str, title: str = "") -> None:
    """ROC curves (pion rejection vs electron efficiency, log scale) of several models in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for label, (eff_e, eff_pi) in curves.items():
        ok = eff_pi > 0
        ax.plot(eff_e[ok], 1.0 / eff_pi[ok], lw=2, label=label)
    ax.axvline(0.95, color="grey", ls=":", lw=1)
    ax.set_xlim(0.5, 1.0)
    ax.set_yscale("log")
    ax.set_xlabel("electron efficiency")
    ax.set_ylabel("pion rejection (1 / pion efficiency)")
    ax.set_title(title or "calorimeter PID: e- vs pi-")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
