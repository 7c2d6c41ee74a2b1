"""Reproducible training and evaluation of the calorimeter PID models (electron vs negative pion).

    # everything from nothing: samples (bulk generator; --with-k4run for the k4run chain), both feature sets
    # trained, metrics on 20,000 e- + 20,000 pi-, ROC, and (--install) the shipped model
    python -m k4mlinference.training.train_calo_pid --generate --workdir calo_pid_work --install
    # or on existing HDF5 files written by options/calo_pid_data.py (TrainingExport)
    python -m k4mlinference.training.train_calo_pid --data train.h5 --eval-data eval.h5 --out calo_pid.onnx

Training rows are the Pre-ML features and EICrecon-style targets (is pion, is electron) that CaloPIDFeatures
wrote, so training and inference share one feature path. The network (MLP, standardisation built in, softmax
output [n, 2] = (pion, electron)) needs no sidecar preprocessing; its sidecar JSON records feature names, class
PDG codes, the training settings and the evaluation. Seeds are fixed (sample generation, weight initialisation,
batch order); with the default sizes (30,000 training events, 2 x 20,000 evaluation events) the whole run
takes a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import nn

from k4mlinference.algorithms.pid.calo_pid import CLASS_PDG, FEATURE_SETS
from k4mlinference.algorithms.pid.metrics import pion_rejection, plot_roc, rejection_by_bin, roc_curve

REPO = Path(__file__).resolve().parents[2]
MODELS = Path(__file__).resolve().parents[1] / "models"
FEATURE_TENSORS = {"k4ml": "CaloPIDFeatures", "eicrecon": "CaloPIDFeaturesEICrecon"}
ENERGY_BINS = [2.0, 5.0, 10.0, 15.0, 20.0]  # GeV (true momentum; p = E within 0.1% here)
CLASS_NAMES = ["pion", "electron"]


class PIDNet(nn.Module):
    """Features -> (pion, electron) probabilities; the standardisation is part of the model."""

    def __init__(self, centre: np.ndarray, scale: np.ndarray, hidden: int = 64) -> None:
        super().__init__()
        self.register_buffer("centre", torch.as_tensor(centre, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        n_in = len(centre)
        self.body = nn.Sequential(
            nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2)
        )

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(torch.clamp((x - self.centre) / self.scale, -10.0, 10.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x), dim=-1)


def load_rows(path: Path, features: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features [n, F], is_electron [n], true momentum [n]) of the clusters with a truth link, from an HDF5 file
    written by TrainingExport with `features`, CaloPIDFeaturesEICrecon (column 0: the linked MCParticle's
    momentum) and CaloPIDTargets."""
    with h5py.File(path, "r") as f:
        for group in (features, FEATURE_TENSORS["eicrecon"], "CaloPIDTargets"):
            if group not in f:
                raise KeyError(f"{path}: no group {group!r}; groups: {sorted(f)}")
        x = f[features]["data"][...]
        momentum = f[FEATURE_TENSORS["eicrecon"]]["data"][:, 0].astype(np.float64)
        y = f["CaloPIDTargets"]["data"][...]
    keep = y.sum(axis=1) == 1  # clusters with a truth link
    return x[keep].astype(np.float32), y[keep, 1] == 1, momentum[keep]


def train(data: Path, out: Path, feature_set: str = "k4ml", epochs: int = 30, seed: int = 1, hidden: int = 64) -> dict:
    """Train on `data`, write `out` (ONNX) and its sidecar; return a summary."""
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # small network: one thread is fastest and never oversubscribes shared cores
    rng = np.random.default_rng(seed)
    x, is_e, _ = load_rows(data, FEATURE_TENSORS[feature_set])
    if len(x) < 50:
        raise ValueError(f"{data}: only {len(x)} labelled rows of {FEATURE_TENSORS[feature_set]!r}; generate more")
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    centre, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    net = PIDNet(centre, scale, hidden)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(is_e.astype(np.int64))
    for _ in range(epochs):
        for batch in np.array_split(rng.permutation(len(x)), max(len(x) // 256, 1)):
            idx = torch.from_numpy(batch)
            opt.zero_grad()
            loss_fn(net.logits(xt[idx]), yt[idx]).backward()
            opt.step()
        sched.step()
    net.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (xt[:2],),
            str(out),
            input_names=["features"],
            output_names=["probabilities"],
            dynamic_axes={"features": {0: "batch"}, "probabilities": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    names = FEATURE_SETS[feature_set]
    sidecar = {
        "description": f"k4mlinference calorimeter PID (e- vs pi-), FeatureSet={feature_set!r}, train_calo_pid.py",
        "inputs": {"features": {"features": names, "shape": ["batch", len(names)], "dtype": "float32"}},
        "outputs": {"probabilities": {"classes": CLASS_NAMES, "pdg": CLASS_PDG, "shape": ["batch", 2]}},
        "training": {
            "feature_set": feature_set,
            "rows": int(len(x)),
            "electrons": int(is_e.sum()),
            "epochs": epochs,
            "seed": seed,
            "hidden": hidden,
            "seconds": round(time.perf_counter() - t0, 1),
        },
    }
    out.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n")
    return {"model": str(out), **sidecar["training"]}


def electron_scores(model: Path, x: np.ndarray) -> np.ndarray:
    """The model's electron probability (output column 1) for feature rows x, with ONNX Runtime."""
    from k4mlinference.inference import load_model

    m = load_model(str(model))
    return m.run({"features": np.ascontiguousarray(x, dtype=np.float32)})["probabilities"][:, 1]


def evaluate(model: Path, data: Path, feature_set: str) -> tuple[dict, tuple[np.ndarray, np.ndarray]]:
    """Pion rejection at 95% electron efficiency (overall and per energy bin) and the ROC curve on `data`."""
    x, is_e, momentum = load_rows(data, FEATURE_TENSORS[feature_set])
    score = electron_scores(model, np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0))
    overall = pion_rejection(score, is_e).as_dict()
    return (
        {
            "feature_set": feature_set,
            "electron_efficiency": 0.95,
            "overall": overall,
            "by_momentum": rejection_by_bin(score, is_e, momentum, ENERGY_BINS),
        },
        roc_curve(score, is_e),
    )


def k4run_data(workdir: Path, n: int, output: str, pdg: list[int], seed: int, ncpus: int) -> None:
    """Run options/calo_pid_data.py: n events of particles `pdg`, both feature sets, into workdir/output."""
    cmd = [
        sys.executable,
        "-m",
        "k4mlinference.framework.cli",
        str(REPO / "options" / "calo_pid_data.py"),
        "-n",
        str(n),
        f"--Export.OutputFile={output}",
        "--Gun.PDG",
        *[str(p) for p in pdg],
        f"--Gun.Seed={seed}",
        f"--CaloSim.Seed={seed + 1}",
        f"--Digitizer.Seed={seed + 2}",
        "--IOSvc.Output=",
    ]
    if ncpus > 1:
        cmd += ["--ncpus", str(ncpus)]
    print("$", " ".join(cmd[2:]), flush=True)
    subprocess.run(cmd, cwd=workdir, check=True)


def make_samples(workdir: Path, train_events: int, eval_events: int, ncpus: int, with_k4run: bool) -> None:
    """train.h5 (mixed e-/pi-) and eval.h5 (eval_events e- and eval_events pi-, other seeds) in workdir: with the
    bulk generator (default) or with k4run and options/calo_pid_data.py."""
    if with_k4run:
        k4run_data(workdir, train_events, "train.h5", [11, -211], 1000, ncpus)
        k4run_data(workdir, eval_events, "eval_e.h5", [11], 2000, ncpus)
        k4run_data(workdir, eval_events, "eval_pi.h5", [-211], 3000, ncpus)
        merge_h5([workdir / "eval_e.h5", workdir / "eval_pi.h5"], workdir / "eval.h5")
        return
    from k4mlinference.training.calo_pid_samples import generate, write_h5

    write_h5(generate(train_events, [11, -211], 1000), workdir / "train.h5")
    e, pi = generate(eval_events, [11], 2000), generate(eval_events, [-211], 3000)
    write_h5({k: np.concatenate([e[k], pi[k]]) for k in e}, workdir / "eval.h5")


def run_all(
    workdir: Path,
    train_events: int,
    eval_events: int,
    epochs: int,
    ncpus: int,
    install: bool,
    with_k4run: bool,
    reuse: bool = False,
) -> dict:
    """Samples, both feature sets trained and evaluated on the independent sample, ROC PNG and JSON report; with
    `install`, the better model is copied into k4mlinference/models/ as calo_pid.onnx (+ .json) and the other
    one beside it (calo_pid_<set>.onnx)."""
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    reused = reuse and (workdir / "train.h5").exists() and (workdir / "eval.h5").exists()
    if not reused:
        make_samples(workdir, train_events, eval_events, ncpus, with_k4run)
    source = "k4run options/calo_pid_data.py" if with_k4run else "k4mlinference.training.calo_pid_samples"
    report: dict = {
        "samples": f"reused from {workdir}" if reused else source,
        "samples_seconds": round(time.perf_counter() - t0, 1),
        "train_events": train_events,
        "eval_events_each": eval_events,
    }
    curves = {}
    for fs in ("k4ml", "eicrecon"):
        summary = train(workdir / "train.h5", workdir / f"calo_pid_{fs}.onnx", fs, epochs)
        metrics, curves[f"FeatureSet={fs}"] = evaluate(workdir / f"calo_pid_{fs}.onnx", workdir / "eval.h5", fs)
        report[fs] = {"training": summary, "evaluation": metrics}
        sidecar_path = workdir / f"calo_pid_{fs}.json"
        sidecar = json.loads(sidecar_path.read_text())
        sidecar["evaluation"] = metrics
        sidecar_path.write_text(json.dumps(sidecar, indent=2) + "\n")
    best = max(("k4ml", "eicrecon"), key=lambda fs: report[fs]["evaluation"]["overall"]["rejection"])
    report["better_feature_set"] = best
    plot_roc(curves, str(workdir / "calo_pid_roc.png"), "calorimeter PID, 2-20 GeV e- / pi- (independent sample)")
    report["seconds"] = round(time.perf_counter() - t0, 1)
    (workdir / "calo_pid_report.json").write_text(json.dumps(report, indent=2) + "\n")
    if install:
        MODELS.mkdir(exist_ok=True)
        for fs in ("k4ml", "eicrecon"):
            name = "calo_pid" if fs == best else f"calo_pid_{fs}"
            for suffix in (".onnx", ".json"):
                (MODELS / (name + suffix)).write_bytes((workdir / f"calo_pid_{fs}{suffix}").read_bytes())
        (MODELS / "calo_pid_report.json").write_text(json.dumps(report, indent=2) + "\n")
        (MODELS / "calo_pid_roc.png").write_bytes((workdir / "calo_pid_roc.png").read_bytes())
    return report


def merge_h5(inputs: list[Path], output: Path) -> None:
    """Concatenate TrainingExport files (same groups): data rows appended, offsets continued."""
    with h5py.File(output, "w") as out:
        groups: dict[str, dict[str, list]] = {}
        for path in inputs:
            with h5py.File(path, "r") as f:
                for g in f:
                    for name, ds in f[g].items():
                        groups.setdefault(g, {}).setdefault(name, []).append(ds[...])
        for g, datasets in groups.items():
            grp = out.create_group(g)
            for name, parts in datasets.items():
                if name == "offsets":
                    shifted, base = [parts[0]], parts[0][-1]
                    for p in parts[1:]:
                        shifted.append(p[1:] + base)
                        base += p[-1]
                    grp.create_dataset(name, data=np.concatenate(shifted))
                else:
                    grp.create_dataset(name, data=np.concatenate(parts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--generate", action="store_true", help="make the samples with k4run, train and evaluate both")
    ap.add_argument("--workdir", type=Path, default=Path("calo_pid_work"))
    ap.add_argument("--train-events", type=int, default=30000)
    ap.add_argument("--eval-events", type=int, default=20000, help="electrons and pions each")
    ap.add_argument("--ncpus", type=int, default=2, help="k4run processes (with --with-k4run)")
    ap.add_argument("--with-k4run", action="store_true", help="make the samples with the k4run chain (slower)")
    ap.add_argument("--reuse-samples", action="store_true", help="keep train.h5/eval.h5 already in --workdir")
    ap.add_argument("--install", action="store_true", help="copy the better model into k4mlinference/models/")
    ap.add_argument("--data", type=Path, help="HDF5 training file (without --generate)")
    ap.add_argument("--eval-data", type=Path, help="HDF5 evaluation file (without --generate)")
    ap.add_argument("--feature-set", default="k4ml", choices=sorted(FEATURE_SETS))
    ap.add_argument("--out", type=Path, default=Path("calo_pid.onnx"))
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.generate:
        report = run_all(
            args.workdir,
            args.train_events,
            args.eval_events,
            args.epochs,
            args.ncpus,
            args.install,
            args.with_k4run,
            args.reuse_samples,
        )
    else:
        if args.data is None:
            ap.error("--data is required without --generate")
        report = {"training": train(args.data, args.out, args.feature_set, args.epochs, args.seed)}
        if args.eval_data is not None:
            report["evaluation"] = evaluate(args.out, args.eval_data, args.feature_set)[0]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
