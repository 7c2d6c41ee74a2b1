"""Fast versus full simulation: the shipped fast-simulation model against the parametrised simulation it learnt from.

For electrons at several energies, into the barrel (theta 70-110 deg) and into an endcap (theta 15-35 deg), on a
sample independent of the training one (other seeds), both simulations run in the same process through the same
chain (gun -> simulation -> digitization -> clustering -> PID) with `k4mlinference.framework.run`:

- total visible energy: response <E_vis>/E and resolution sigma/<E_vis>;
- longitudinal profile (energy versus depth along the particle axis from its calorimeter entry point) and
  radial profile (energy versus distance from that axis), from the hits' cell centres; summarised by the mean
  shower depth and mean radius per shower;
- number of cells hit;
- PID: mean electron probability, the fraction of showers identified as electrons (probability > 0.5), and the
  fraction of fast showers passing the cut that keeps 95% of the full-simulation electrons;
- time per shower of the simulation step (the algorithm's time in the event loop: showers, placement, cells),
  fast (BatchSize events per model call) and full, and the fast simulation's model calls alone.

Every difference fast - full comes with its statistical uncertainty (standard errors of both samples added in
quadrature; for a resolution sigma/mu the large-sample error sigma/mu * sqrt(1/(2(n-1)) + (sigma/mu)^2/n)).

    python -m benchmarks.validate_fastsim [--showers 400]   -> benchmarks/results/fastsim_validation.json + PNGs
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from k4mlinference.detector import CalorimeterGeometry

RESULTS = Path(__file__).resolve().parent / "results"
PID_MODEL = Path(__file__).resolve().parents[1] / "k4mlinference" / "models" / "calo_pid.onnx"
ELECTRON_COLUMN = 1  # the PID model's output [n, 2] = (pion, electron)
ENERGIES = [5.0, 20.0, 50.0]
REGIONS = {"barrel": (70.0, 110.0), "endcap": (15.0, 35.0)}
DEPTH_BINS = np.linspace(0.0, 250.0, 26)  # mm along the axis
RADIUS_BINS = np.linspace(0.0, 100.0, 21)  # mm from the axis


def run_sample(
    kind: str, energy: float, region: str, n: int, seed: int, batch: int, workdir: Path, pid_model: Path = PID_MODEL
) -> dict:
    """Simulate n electrons with the fast or full simulation + the reconstruction chain; per-shower observables."""
    from k4mlinference.algorithms.fastsim.algorithm import FastCaloSim
    from k4mlinference.algorithms.sim import ParticleGun, SimpleCalorimeterSim
    from k4mlinference.framework import run

    lo, hi = REGIONS[region]
    tag = f"{kind}_{region}_{energy:g}"
    gun = ParticleGun(f"Gun_{tag}", PDG=[11], EnergyMin=energy, EnergyMax=energy, ThetaMin=lo, ThetaMax=hi, Seed=seed)
    if kind == "fast":
        sim = FastCaloSim(f"Sim_{tag}", BatchSize=batch, Seed=seed + 1)
    else:
        sim = SimpleCalorimeterSim(f"Sim_{tag}", Seed=seed + 1)
    algs = [gun, sim, *reconstruction(tag, pid_model)]
    out = workdir / f"{tag}.root"
    res = run(algs, evt_max=n, output=str(out))
    obs = observables(out)
    obs["sim_seconds"] = float(res.timing[sim.name][0])
    obs["inference_seconds"] = float(getattr(sim, "inference_seconds", 0.0))
    return obs


def reconstruction(tag: str, pid_model: Path = PID_MODEL) -> list:
    """Digitization -> clustering -> truth links -> PID (Pre-ML, shipped model, Post-ML), as in options/fastsim.py."""
    from k4mlinference.algorithms.pid import CaloPIDFeatures
    from k4mlinference.algorithms.sim import CaloClusterTruthLinker, SimpleCaloClustering
    from k4mlinference.framework.registry import load
    from k4mlinference.inference.algorithm import MLInference

    return [
        load("CaloDigitizer")(
            f"Digitizer_{tag}",
            InputCollection="SimCalorimeterHits",
            OutputCollection="CalorimeterHits",
            Calibration=1.0,
            Stochastic=0.0,
            Constant=0.0,
            Noise=0.00002,
            Threshold=0.00006,
        ),
        SimpleCaloClustering(f"Clustering_{tag}", Geometry="toy_calo", OutputCollection="CaloClusters"),
        CaloClusterTruthLinker(f"TruthLinks_{tag}", OutputLinks="CaloClusterMCLinks"),
        CaloPIDFeatures(f"PIDFeatures_{tag}", FeatureSet="k4ml", OutputFeatures="CaloPIDFeatures"),
        MLInference(
            f"PIDInference_{tag}",
            ModelPath=str(pid_model),
            InputCollections=["CaloPIDFeatures"],
            OutputCollections=["CaloPIDProbabilities"],
            BatchSize=256,
        ),
    ]


def observables(path: Path) -> dict:
    import uproot

    tree = uproot.open(path)["events"]
    arr = {
        k: tree[f"{c}/{c}.{m}"].array(library="np")
        for k, c, m in (
            ("e", "SimCalorimeterHits", "energy"),
            ("x", "SimCalorimeterHits", "position.x"),
            ("y", "SimCalorimeterHits", "position.y"),
            ("z", "SimCalorimeterHits", "position.z"),
            ("px", "MCParticles", "momentum.x"),
            ("py", "MCParticles", "momentum.y"),
            ("pz", "MCParticles", "momentum.z"),
        )
    }
    geometry = CalorimeterGeometry.load("toy_calo")
    n = len(arr["e"])
    d = np.stack([np.array([p[0] for p in arr[k]]) for k in ("px", "py", "pz")], axis=1)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    entry, _, _ = geometry.entry(np.zeros((n, 3)), d)
    e_vis, depth, radius, ncells = (np.zeros(n) for _ in range(4))
    long_prof, rad_prof = np.zeros((n, len(DEPTH_BINS) - 1)), np.zeros((n, len(RADIUS_BINS) - 1))
    for i in range(n):
        e = arr["e"][i].astype(float)
        pos = np.stack([arr["x"][i], arr["y"][i], arr["z"][i]], axis=1) - entry[i]
        t = pos @ d[i]
        r = np.linalg.norm(pos - np.outer(t, d[i]), axis=1)
        tot = e.sum()
        e_vis[i], ncells[i] = tot, len(e)
        depth[i] = np.sum(e * t) / tot if tot > 0 else np.nan
        radius[i] = np.sum(e * r) / tot if tot > 0 else np.nan
        long_prof[i] = np.histogram(t, DEPTH_BINS, weights=e)[0] / max(tot, 1e-30)
        rad_prof[i] = np.histogram(r, RADIUS_BINS, weights=e)[0] / max(tot, 1e-30)
    prob = electron_probability(tree, n)
    return {
        "e_vis": e_vis,
        "depth": depth,
        "radius": radius,
        "ncells": ncells,
        "long": long_prof,
        "rad": rad_prof,
        "p_electron": prob,
    }


def electron_probability(tree, n: int) -> np.ndarray:
    """The PID model's electron probability of each event's (single) cluster; NaN for events without one."""
    data = tree["_CaloPIDProbabilities_floatData"].array(library="np")
    out = np.full(n, np.nan)
    for i, v in enumerate(data):
        if len(v) >= 2:
            out[i] = v[ELECTRON_COLUMN]
    return out


# ------------------------------------------------------------------ statistics
def mean_err(x: np.ndarray) -> tuple[float, float]:
    x = x[np.isfinite(x)]
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x)))


def resolution_err(x: np.ndarray) -> tuple[float, float]:
    x = x[np.isfinite(x)]
    n, mu, sd = len(x), x.mean(), x.std(ddof=1)
    res = sd / mu
    return float(res), float(res * np.sqrt(1 / (2 * (n - 1)) + res**2 / n))


def diff(a: tuple[float, float], b: tuple[float, float]) -> dict:
    d, e = a[0] - b[0], float(np.hypot(a[1], b[1]))
    return {
        "fast": a[0],
        "fast_err": a[1],
        "full": b[0],
        "full_err": b[1],
        "diff": d,
        "diff_err": e,
        "pull": d / e if e > 0 else 0.0,
    }


def compare(fast: dict, full: dict, energy: float) -> dict:
    cut95 = np.nanpercentile(full["p_electron"], 5)
    out = {
        "response": diff(mean_err(fast["e_vis"] / energy), mean_err(full["e_vis"] / energy)),
        "resolution": diff(resolution_err(fast["e_vis"]), resolution_err(full["e_vis"])),
        "mean_depth_mm": diff(mean_err(fast["depth"]), mean_err(full["depth"])),
        "mean_radius_mm": diff(mean_err(fast["radius"]), mean_err(full["radius"])),
        "cells_hit": diff(mean_err(fast["ncells"]), mean_err(full["ncells"])),
        "pid_mean_electron_probability": diff(mean_err(fast["p_electron"]), mean_err(full["p_electron"])),
        "pid_electron_efficiency": diff(
            mean_err((fast["p_electron"] > 0.5).astype(float)), mean_err((full["p_electron"] > 0.5).astype(float))
        ),
        # the cut that keeps 95% of the full-simulation electrons, applied to the fast ones
        "pid_efficiency_at_full_95": diff(
            mean_err((fast["p_electron"] >= cut95).astype(float)), mean_err((full["p_electron"] >= cut95).astype(float))
        ),
    }
    for key, bins in (("long", DEPTH_BINS), ("rad", RADIUS_BINS)):
        f_m, f_e = fast[key].mean(0), fast[key].std(0, ddof=1) / np.sqrt(len(fast[key]))
        g_m, g_e = full[key].mean(0), full[key].std(0, ddof=1) / np.sqrt(len(full[key]))
        out[f"{key}_profile"] = {
            "bin_edges_mm": bins.tolist(),
            "fast": f_m.tolist(),
            "fast_err": f_e.tolist(),
            "full": g_m.tolist(),
            "full_err": g_e.tolist(),
            "diff": (f_m - g_m).tolist(),
            "diff_err": np.hypot(f_e, g_e).tolist(),
        }
    return out


def plots(samples: dict, metrics: dict, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    fig, axes = plt.subplots(2, 3, figsize=(14, 8))
    for row, region in enumerate(REGIONS):
        for col, (key, label) in enumerate(
            (("response", "<E_vis>/E"), ("resolution", "sigma/<E_vis>"), ("cells_hit", "cells hit"))
        ):
            ax = axes[row, col]
            for kind, fmt in (("full", "o-"), ("fast", "s--")):
                y = [metrics[region][f"{e:g}"][key][kind] for e in ENERGIES]
                ye = [metrics[region][f"{e:g}"][key][f"{kind}_err"] for e in ENERGIES]
                ax.errorbar(ENERGIES, y, ye, fmt=fmt, label=kind, capsize=3)
            ax.set_xscale("log")
            ax.set_xlabel("electron energy [GeV]")
            ax.set_ylabel(label)
            ax.set_title(f"{region}: {label}")
            ax.legend()
    fig.tight_layout()
    files.append(out / "fastsim_response.png")
    fig.savefig(files[-1], dpi=90)
    plt.close(fig)
    for key, bins, xlabel, name in (
        ("long", DEPTH_BINS, "depth along the axis [mm]", "fastsim_longitudinal.png"),
        ("rad", RADIUS_BINS, "distance from the axis [mm]", "fastsim_radial.png"),
    ):
        fig, axes = plt.subplots(2, len(ENERGIES), figsize=(14, 7))
        centres = 0.5 * (bins[1:] + bins[:-1])
        for row, region in enumerate(REGIONS):
            for col, e in enumerate(ENERGIES):
                ax = axes[row, col]
                for kind, fmt in (("full", "o-"), ("fast", "s--")):
                    s = samples[(kind, region, e)][key]
                    ax.errorbar(centres, s.mean(0), s.std(0, ddof=1) / np.sqrt(len(s)), fmt=fmt, ms=3, label=kind)
                ax.set_title(f"{region}, {e:g} GeV")
                ax.set_xlabel(xlabel)
                ax.set_ylabel("energy fraction per bin")
                if key == "rad":
                    ax.set_yscale("log")
                ax.legend()
        fig.tight_layout()
        files.append(out / name)
        fig.savefig(files[-1], dpi=90)
        plt.close(fig)
    fig, axes = plt.subplots(2, len(ENERGIES), figsize=(14, 7))
    for row, region in enumerate(REGIONS):
        for col, e in enumerate(ENERGIES):
            ax = axes[row, col]
            bins = np.logspace(-7, 0, 29)
            for kind in ("full", "fast"):
                p = samples[(kind, region, e)]["p_electron"]
                ax.hist(np.clip(1.0 - p[np.isfinite(p)], 1e-7, 1.0), bins=bins, histtype="step", label=kind)
            ax.set_title(f"{region}, {e:g} GeV electrons: PID output")
            ax.set_xlabel("1 - electron probability")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.legend()
    fig.tight_layout()
    files.append(out / "fastsim_pid.png")
    fig.savefig(files[-1], dpi=90)
    plt.close(fig)
    return [str(f.name) for f in files]


def markdown_table(report: dict) -> str:
    """The README's table: fast - full per point, each with its statistical uncertainty."""
    keys = [
        ("response", "response (relative)", 1e2, "%"),
        ("resolution", "resolution", 1e2, "%"),
        ("mean_depth_mm", "mean depth", 1.0, " mm"),
        ("mean_radius_mm", "mean radius", 1.0, " mm"),
        ("cells_hit", "cells hit", 1.0, ""),
        ("pid_efficiency_at_full_95", "PID eff. at full's 95% cut", 1e2, "%"),
    ]
    lines = ["| region | E [GeV] | " + " | ".join(k[1] + " fast - full" for k in keys) + " |"]
    lines.append("|---" * (2 + len(keys)) + "|")
    for region, per_e in report["metrics"].items():
        for e, m in per_e.items():
            rel = {"response": 1.0 / m["response"]["full"]}  # response: relative difference
            cells = [
                f"{m[k]['diff'] * f * rel.get(k, 1.0):+.2f} +- {m[k]['diff_err'] * f * rel.get(k, 1.0):.2f}{u}"
                for k, _, f, u in keys
            ]
            lines.append(f"| {region} | {e} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--showers", type=int, default=400, help="electrons per energy, region and simulation")
    ap.add_argument("--batch", type=int, default=100, help="fast simulation: events per model call")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--pid-model", type=Path, default=PID_MODEL, help="PID model (default: the shipped one)")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    samples, metrics, timing = {}, {}, {"fast_s": 0.0, "full_s": 0.0, "fast_inference_s": 0.0, "showers": 0}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for region in REGIONS:
            metrics[region] = {}
            for k, e in enumerate(ENERGIES):
                seed = 9000 + 10 * k + (0 if region == "barrel" else 5)  # training used seed 3
                for kind in ("full", "fast"):
                    samples[(kind, region, e)] = s = run_sample(
                        kind, e, region, a.showers, seed, a.batch, Path(tmp), a.pid_model
                    )
                    timing[f"{kind}_s"] += s["sim_seconds"]
                    timing["fast_inference_s"] += s["inference_seconds"]
                timing["showers"] += a.showers
                metrics[region][f"{e:g}"] = compare(samples[("fast", region, e)], samples[("full", region, e)], e)
    report = {
        "description": __doc__.split("\n\n")[0],
        "showers_per_point": a.showers,
        "pid_model": a.pid_model.name,
        "energies_gev": ENERGIES,
        "regions_theta_deg": REGIONS,
        "timing": {
            "fast_ms_per_shower": 1e3 * timing["fast_s"] / timing["showers"],
            "full_ms_per_shower": 1e3 * timing["full_s"] / timing["showers"],
            "fast_model_inference_ms_per_shower": 1e3 * timing["fast_inference_s"] / timing["showers"],
            "speed_up": timing["full_s"] / max(timing["fast_s"], 1e-12),
            "fast_batch_events": a.batch,
        },
        "metrics": metrics,
        "wall_s": time.perf_counter() - t0,
    }
    report["plots"] = plots(samples, metrics, a.out)
    path = a.out / "fastsim_validation.json"
    tmp_path = path.with_name(path.name + ".tmp")
    tmp_path.write_text(json.dumps(report, indent=1) + "\n")
    tmp_path.replace(path)
    print(json.dumps({"timing": report["timing"], "wall_s": report["wall_s"]}, indent=1))
    print(markdown_table(report))
    return report


if __name__ == "__main__":
    main()
