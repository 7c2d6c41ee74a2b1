"""Flavour-tagging performance on an independent sample: network (through JetTagger's own code path:
WeaverPreprocessor + ONNX Runtime) versus the LCFIPlus-like BDT, b-vs-light and c-vs-light.

    python benchmarks/flavour_metrics.py --test flavour_test.root --train flavour_train.root \
        --model k4mlinference/models/flavour_particlenet

Writes benchmarks/results/flavour_tagging.json (AUCs, light-jet mistag rates at 50/70/80/90/95/98% b and c
efficiency, sample sizes, timings; at 70% b also the number of mistagged light jets and the binomial
uncertainty of the rate, sqrt(r (1 - r) / n_light); "network_beats_bdt_b_vs_light": no worse at any of these
points and no worse at 70%, better at one at least; "network_vs_bdt_70pct_b_significance": the BDT-minus-network
difference at 70% b over the two binomial uncertainties added in quadrature) and benchmarks/results/flavour_roc.png. The BDT is trained here on the
training ntuple (fixed seed) with the variables of k4mlinference.training.train_flavour.BDT_VARIABLES.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from k4mlinference.inference import WeaverPreprocessor, load_model
from k4mlinference.training.train_flavour import bdt_variables, labels, load_ntuple, train_bdt

RESULTS = Path(__file__).resolve().parent / "results"
WORKING_POINTS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98)  # signal efficiencies at which the light-jet mistag rate is reported


def discriminant(prob: np.ndarray, signal: int, background: int = 2) -> np.ndarray:
    """p_signal / (p_signal + p_background), the usual two-class discriminant from a multi-class output."""
    return prob[:, signal] / np.maximum(prob[:, signal] + prob[:, background], 1e-12)


def roc(score: np.ndarray, y: np.ndarray, signal: int, background: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(signal efficiency, background efficiency) scanning the threshold from high to low score."""
    sel = (y == signal) | (y == background)
    s, is_sig = score[sel], y[sel] == signal
    order = np.argsort(-s, kind="stable")
    sig = np.cumsum(is_sig[order]) / max(is_sig.sum(), 1)
    bkg = np.cumsum(~is_sig[order]) / max((~is_sig).sum(), 1)
    return sig, bkg


def mistag_at(sig: np.ndarray, bkg: np.ndarray, eff: float) -> float:
    return float(bkg[min(np.searchsorted(sig, eff), len(bkg) - 1)])


def auc(sig: np.ndarray, bkg: np.ndarray) -> float:
    return float(np.trapezoid(sig, bkg))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--test", required=True)
    ap.add_argument("--train", required=True, help="training ntuple (for the BDT)")
    ap.add_argument("--model", required=True, help="model stem: <model>.onnx and <model>.json")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default=str(RESULTS / "flavour_tagging.json"))
    a = ap.parse_args(argv)
    t0 = time.time()
    test, test_scalars = load_ntuple(a.test)
    y = labels(test_scalars["jet_flavour"])
    stem = Path(a.model)
    pre = WeaverPreprocessor.from_json(stem.with_suffix(".json"))
    model = load_model(str(stem.with_suffix(".onnx")))
    pre.check_model(model.inputs, str(stem.with_suffix(".onnx")))
    t1 = time.time()
    feeds = pre(test)
    prob_nn = np.concatenate(
        [np.asarray(next(iter(model.run({k: v[i : i + 4096] for k, v in feeds.items()}).values())))
         for i in range(0, len(y), 4096)]
    )  # fmt: skip
    t_nn = time.time() - t1
    train, train_scalars = load_ntuple(a.train)
    t2 = time.time()
    bdt = train_bdt(bdt_variables(train, train_scalars), labels(train_scalars["jet_flavour"]), a.seed)
    t_bdt = time.time() - t2
    prob_bdt = bdt.predict_proba(bdt_variables(test, test_scalars))

    metrics: dict = {
        "test_jets": int(len(y)),
        "test_jets_per_class": {"b": int((y == 0).sum()), "c": int((y == 1).sum()), "light": int((y == 2).sum())},
        "train_jets": int(len(train_scalars["jet_e"])),
        "network_inference_seconds": round(t_nn, 2),
        "bdt_training_seconds": round(t_bdt, 2),
    }
    curves = {}
    for tagger, prob in (("network", prob_nn), ("bdt", prob_bdt)):
        for name, cls in (("b_vs_light", 0), ("c_vs_light", 1)):
            sig, bkg = roc(discriminant(prob, cls), y, cls)
            curves[(tagger, name)] = (sig, bkg)
            metrics[f"{tagger}_{name}_auc"] = round(auc(sig, bkg), 4)
            for eff in WORKING_POINTS:
                metrics[f"{tagger}_{name}_light_mistag_at_{round(eff * 100)}pct"] = round(mistag_at(sig, bkg, eff), 6)
    n_light = int((y == 2).sum())
    for tagger in ("network", "bdt"):
        rate = metrics[f"{tagger}_b_vs_light_light_mistag_at_70pct"]
        metrics[f"{tagger}_b_vs_light_light_mistag_at_70pct_count"] = int(round(rate * n_light))
        metrics[f"{tagger}_b_vs_light_light_mistag_at_70pct_binomial_error"] = round(
            float(np.sqrt(rate * (1.0 - rate) / max(n_light, 1))), 6
        )
    err = np.hypot(*(metrics[f"{t}_b_vs_light_light_mistag_at_70pct_binomial_error"] for t in ("network", "bdt")))
    diff = metrics["bdt_b_vs_light_light_mistag_at_70pct"] - metrics["network_b_vs_light_light_mistag_at_70pct"]
    metrics["network_vs_bdt_70pct_b_significance"] = round(float(diff / err), 2) if err > 0 else None
    # with zero mistagged light jets the rate is only bounded: 3 / n_light at 95% CL (Poisson)
    metrics["light_mistag_95cl_limit_when_zero"] = round(3.0 / max(n_light, 1), 6)
    nn, bdt = (
        [metrics[f"{t}_b_vs_light_light_mistag_at_{round(e * 100)}pct"] for e in WORKING_POINTS]
        for t in ("network", "bdt")
    )
    metrics["network_beats_bdt_b_vs_light"] = bool(
        nn[1] <= bdt[1] and all(a <= b for a, b in zip(nn, bdt)) and nn != bdt
    )
    metrics["seconds"] = round(time.time() - t0, 1)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(metrics, indent=2) + "\n")
    plot(curves, out.with_name("flavour_roc.png"), metrics)
    print(json.dumps(metrics, indent=2))


def plot(curves: dict, path: Path, metrics: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, (name, title) in zip(axes, (("b_vs_light", "b vs light"), ("c_vs_light", "c vs light"))):
        for tagger, style in (("network", "-"), ("bdt", "--")):
            sig, bkg = curves[(tagger, name)]
            label = f"{'ParticleNet-like' if tagger == 'network' else 'LCFIPlus-like BDT'} (AUC {metrics[f'{tagger}_{name}_auc']:.3f})"
            ax.plot(sig, np.maximum(bkg, 1e-5), style, label=label)
        ax.axvline(0.7, color="grey", lw=0.5)
        ax.set_yscale("log")
        ax.set_xlim(0.2, 1.0)
        ax.set_ylim(1e-5, 1.0)
        ax.set_xlabel(f"{name[0]}-jet efficiency")
        ax.set_ylabel("light-jet mistag rate")
        ax.set_title(f"{title}, Z -> qq at 91.2 GeV ({metrics['test_jets']} test jets)")
        ax.legend(loc="upper left", fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
