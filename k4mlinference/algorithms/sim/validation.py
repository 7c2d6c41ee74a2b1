"""Physics validation of the parametrised calorimeter simulation: a JSON report and a PNG.

    python -m k4mlinference.algorithms.sim.validation --out validation/ [--showers 2000]

Electrons at 2, 10 and 50 GeV and negative pions at 2, 10 and 50 GeV enter the EM barrel at normal incidence:
  * electrons: depth of the maximum of the mean longitudinal profile against t_max = ln(E/Ec) - 0.5 [X0] (the
    PDG review's electron value), fraction of the energy inside a cylinder of one Moliere radius around the
    axis (about 90%), the energy resolution's stochastic term from a fit of sigma/E = a/sqrt(E) (+) b against
    the configured sampling term;
  * pions: mean depth of the first interaction (exponential in lambda_I, truncated by the calorimeter depth),
    energy-weighted mean shower depth in lambda_I against the model's expectation, mean pi0 fraction;
  * every particle: deposited + leaked = incident energy.
The tolerances below are the ones tests/test_calo_sim.py applies to a smaller sample.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from k4mlinference.algorithms.sim.hits import sampling_response
from k4mlinference.algorithms.sim.showers import ShowerParameters, mean_em_fraction, simulate
from k4mlinference.detector import CalorimeterGeometry

TOLERANCES = {
    "t_max_abs_X0": 1.0,  # |measured - (ln(E/Ec) - 0.5)|
    "containment_1RM": (0.85, 0.95),  # about 90%
    "stochastic_rel": 0.15,  # |a_fit / a_configured - 1|
    "pion_start_abs_lambda": 0.08,
    "pion_depth_rel": 0.12,  # the expectation ignores leakage out of the back (~9% shallower at 50 GeV)
    "conservation_abs_GeV": 1e-6,
}


def gun(n: int, energy: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n particles from the origin at theta = 90 deg, random phi: (vertex, unit direction)."""
    phi = rng.uniform(0, 2 * np.pi, n)
    return np.zeros((n, 3)), np.column_stack([np.cos(phi), np.sin(phi), np.zeros(n)])


def visible_per_particle(geo: CalorimeterGeometry, dep, n: int, rng: np.random.Generator) -> np.ndarray:
    """EM-scale energy seen per particle: deposits summed per (particle, cell), sampling fluctuations applied
    per cell as in deposits_to_hits, divided back by the sampling fraction."""
    cells, section = geo.locate(dep.positions)
    key = np.lexsort((cells, dep.particle))
    pc = np.column_stack([dep.particle[key], cells[key].astype(np.int64)])
    first = np.ones(len(pc), dtype=bool)
    first[1:] = np.any(pc[1:] != pc[:-1], axis=1)
    starts = np.nonzero(first)[0]
    e_cell = np.add.reduceat(dep.energies[key], starts)
    sec = section[key][starts]
    seen = sampling_response(geo, e_cell, sec, rng) / geo.material_constant(sec, "sampling_fraction")
    return np.bincount(pc[starts, 0], seen, n)


def electrons(geo: CalorimeterGeometry, energy: float, n: int, rng: np.random.Generator) -> dict:
    vertex, direction = gun(n, energy, rng)
    dep = simulate(geo, vertex, direction * energy, np.full(n, energy), np.full(n, 11), rng)
    mat = geo.sections[0].material
    entry = dep.truth["entry"][dep.particle]
    d = direction[dep.particle]
    along = np.sum((dep.positions - entry) * d, axis=1)
    radial = np.linalg.norm(dep.positions - entry - along[:, None] * d, axis=1)
    t = along / mat.X0
    bins = np.arange(0.0, 30.0, 0.5)
    profile, _ = np.histogram(t, bins, weights=dep.energies)
    profile /= profile.sum() * 0.5
    k = int(np.argmax(profile))
    lo, hi = max(k - 3, 0), min(k + 4, len(profile))  # parabola through the peak region
    centres = 0.5 * (bins[1:] + bins[:-1])
    c2, c1, _ = np.polyfit(centres[lo:hi], profile[lo:hi], 2)
    t_peak = float(-c1 / (2 * c2)) if c2 < 0 else float(centres[k])
    in_ecal = geo.section_of(dep.positions) == 0
    contained = float(dep.energies[in_ecal & (radial < mat.moliere_radius)].sum() / dep.energies[in_ecal].sum())
    seen = visible_per_particle(geo, dep, n, rng)
    return {
        "energy": energy,
        "showers": n,
        "t_max_measured_X0": t_peak,
        "t_max_expected_X0": float(np.log(energy / mat.critical_energy) - 0.5),
        "t_max_gflash_mean_X0": float(np.nanmean(dep.truth["t_max"])),
        "containment_1RM": contained,
        "response": float(seen.mean() / energy),
        "resolution": float(seen.std() / seen.mean()),
        "max_conservation_error_GeV": float(np.abs(dep.deposited + dep.leaked - dep.incident).max()),
        "mean_leakage_fraction": float(dep.leaked.mean() / energy),
        "_profile": (centres, profile),
        "_radial": radial[in_ecal] / mat.moliere_radius,
        "_radial_w": dep.energies[in_ecal],
    }


def fit_stochastic(points: list[dict]) -> tuple[float, float]:
    """(a, b) of sigma/E = a/sqrt(E) (+) b by least squares on (sigma/E)^2 = a^2/E + b^2."""
    e = np.array([p["energy"] for p in points])
    r2 = np.array([p["resolution"] for p in points]) ** 2
    (a2, b2), *_ = np.linalg.lstsq(np.column_stack([1 / e, np.ones_like(e)]), r2, rcond=None)
    return float(np.sqrt(max(a2, 0.0))), float(np.sqrt(max(b2, 0.0)))


def pions(geo: CalorimeterGeometry, energy: float, n: int, rng: np.random.Generator) -> dict:
    params = ShowerParameters()
    vertex, direction = gun(n, energy, rng)
    dep = simulate(geo, vertex, direction * energy, np.full(n, energy), np.full(n, -211), rng, params)
    ecal, hcal = geo.sections[0], geo.sections[2]
    total_lambda = ecal.depth / ecal.material.lambda_I + hcal.depth / hcal.material.lambda_I
    entry = dep.truth["entry"][dep.particle]
    along = np.sum((dep.positions - entry) * direction[dep.particle], axis=1)
    # depth in lambda_I through the sections crossed at normal incidence (gap between them: no material)
    in_hcal = along > (hcal.inner_radius - ecal.inner_radius)
    lam = np.where(
        in_hcal,
        ecal.depth / ecal.material.lambda_I
        + (along - (hcal.inner_radius - ecal.inner_radius)) / hcal.material.lambda_I,
        along / ecal.material.lambda_I,
    )
    w = dep.energies
    start = dep.truth["start_lambda"]
    f_em = dep.truth["em_fraction"]
    ln_e = np.log(energy)
    a, c = params.bock_a[0] + params.bock_a[1] * ln_e, params.bock_c[0] + params.bock_c[1] * ln_e
    mean_start = 1.0 - total_lambda * np.exp(-total_lambda) / (1.0 - np.exp(-total_lambda))
    mu = float(mean_em_fraction(np.array([energy]), params)[0])
    # the model's expectation, weighted like the measurement (visible energy): MIP track halfway to the
    # interaction, EM part at start + alpha/beta X0, non-EM part at start + a/c lambda_I seen with h/e
    s = np.nan_to_num(start)
    mip = np.nan_to_num(dep.truth["mip_energy"])
    rest = np.where(dep.truth["punch_through"] > 0, 0.0, energy - mip)
    f = np.nan_to_num(f_em)
    in_ecal_start = s < ecal.depth / ecal.material.lambda_I
    x0_per_lambda = np.where(
        in_ecal_start, ecal.material.X0 / ecal.material.lambda_I, hcal.material.X0 / hcal.material.lambda_I
    )
    em_depth = s + np.nan_to_num(dep.truth["em_mean_depth_X0"]) * x0_per_lambda
    h = np.where(in_ecal_start, ecal.material.hadronic_response, hcal.material.hadronic_response)
    num = mip * s / 2 + rest * f * em_depth + rest * (1 - f) * h * (s + a / c)
    den = mip + rest * f + rest * (1 - f) * h
    expected = float(num.sum() / den.sum())
    return {
        "energy": energy,
        "showers": n,
        "mean_start_lambda": float(np.mean(start[~np.isnan(start)])),
        "expected_mean_start_lambda": float(mean_start),
        "mean_depth_lambda": float(np.sum(w * lam) / np.sum(w)),
        "expected_mean_depth_lambda": float(expected),
        "mean_em_fraction": float(np.nanmean(f_em)),
        "expected_mean_em_fraction": mu,
        "punch_through_fraction": float(np.nanmean(dep.truth["punch_through"])),
        "max_conservation_error_GeV": float(np.abs(dep.deposited + dep.leaked - dep.incident).max()),
        "invisible_fraction": float(dep.invisible.mean() / energy),
        "_lam": lam,
        "_w": w,
    }


def validate(geometry: str = "toy_calo", showers: int = 2000, seed: int = 11) -> dict:
    """Run the validation; returns the report (private `_` entries hold arrays for the plot)."""
    geo = CalorimeterGeometry.load(geometry)
    rng = np.random.default_rng(seed)
    em = [electrons(geo, e, showers, rng) for e in (2.0, 10.0, 50.0)]
    had = [pions(geo, e, showers, rng) for e in (2.0, 10.0, 50.0)]
    a, b = fit_stochastic(em)
    configured = geo.sections[0].material.stochastic_term
    tol = TOLERANCES
    checks = {
        "t_max": all(abs(p["t_max_measured_X0"] - p["t_max_expected_X0"]) <= tol["t_max_abs_X0"] for p in em),
        "containment_1RM": all(
            tol["containment_1RM"][0] <= p["containment_1RM"] <= tol["containment_1RM"][1] for p in em
        ),
        "stochastic_term": abs(a / configured - 1) <= tol["stochastic_rel"],
        "pion_start": all(
            abs(p["mean_start_lambda"] - p["expected_mean_start_lambda"]) <= tol["pion_start_abs_lambda"] for p in had
        ),
        "pion_depth": all(
            abs(p["mean_depth_lambda"] / p["expected_mean_depth_lambda"] - 1) <= tol["pion_depth_rel"] for p in had
        ),
        "energy_conservation": all(p["max_conservation_error_GeV"] <= tol["conservation_abs_GeV"] for p in em + had),
    }
    return {
        "geometry": geometry,
        "seed": seed,
        "electrons": em,
        "pions": had,
        "stochastic_term_fit": a,
        "constant_term_fit": b,
        "stochastic_term_configured": configured,
        "tolerances": tol,
        "checks": checks,
        "passed": all(checks.values()),
    }


def public(report: dict) -> dict:
    """The report without the arrays kept for plotting."""
    if isinstance(report, dict):
        return {k: public(v) for k, v in report.items() if not k.startswith("_")}
    if isinstance(report, list):
        return [public(v) for v in report]
    return report


def label(ax, xlabel: str, ylabel: str, title: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 8))
    ax = axes[0, 0]
    for p in report["electrons"]:
        (line,) = ax.plot(*p["_profile"], label=f"e- {p['energy']:g} GeV")
        ax.axvline(p["t_max_expected_X0"], color=line.get_color(), ls=":")
    label(ax, "depth [X0]", "1/E dE/dt", "EM longitudinal profiles (dotted: ln(E/Ec) - 0.5)")
    ax = axes[0, 1]
    for p in report["electrons"]:
        order = np.argsort(p["_radial"])
        cum = np.cumsum(p["_radial_w"][order]) / p["_radial_w"].sum()
        step = max(len(order) // 5000, 1)  # a few thousand points draw the curve
        ax.plot(
            p["_radial"][order][::step],
            cum[::step],
            label=f"e- {p['energy']:g} GeV: {p['containment_1RM']:.3f} in 1 R_M",
        )
    ax.axvline(1.0, color="grey", ls=":")
    ax.axhline(0.9, color="grey", ls=":")
    ax.set_xlim(0, 3)
    label(ax, "distance from the shower axis [R_M]", "energy fraction inside", "EM lateral containment")
    ax = axes[1, 0]
    e = np.array([p["energy"] for p in report["electrons"]])
    res = np.array([p["resolution"] for p in report["electrons"]])
    grid = np.linspace(1.5, 60, 200)
    a, b = report["stochastic_term_fit"], report["constant_term_fit"]
    ax.plot(e, res, "o", label="simulated e-")
    ax.plot(grid, np.hypot(a / np.sqrt(grid), b), label=f"fit a={a:.3f}, b={b:.3f}")
    ax.plot(grid, report["stochastic_term_configured"] / np.sqrt(grid), ":", label="configured a/sqrt(E)")
    ax.set_xscale("log")
    ax.set_xticks([2, 5, 10, 20, 50], ["2", "5", "10", "20", "50"])
    ax.minorticks_off()
    label(ax, "E [GeV]", "sigma/E", "EM energy resolution")
    ax = axes[1, 1]
    for p in report["pions"]:
        ax.hist(
            p["_lam"],
            bins=np.linspace(0, 7, 71),
            weights=p["_w"] / p["_w"].sum(),
            histtype="step",
            label=f"pi- {p['energy']:g} GeV: <depth> {p['mean_depth_lambda']:.2f} lambda_I",
        )
    label(ax, "depth [lambda_I]", "energy fraction", "hadronic longitudinal profiles")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("validation"))
    ap.add_argument("--showers", type=int, default=2000)
    ap.add_argument("--geometry", default="toy_calo")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    report = validate(args.geometry, args.showers)
    plot(report, args.out / "calo_sim_validation.png")
    (args.out / "calo_sim_validation.json").write_text(json.dumps(public(report), indent=2) + "\n")
    print(json.dumps(public(report), indent=2))


if __name__ == "__main__":
    main()
