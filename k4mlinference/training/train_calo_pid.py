"""Reproducible training of the calorimeter PID model (electron vs charged pion).

    python -m k4mlinference.training.train_calo_pid --data calo_pid_train.h5 --out calo_pid.onnx

Reads the features and truth classes that `CaloPIDFeatures` exported (through `TrainingExport`),
trains a small MLP with a fixed seed, and writes `calo_pid.onnx` plus its sidecar `calo_pid.json`
(feature names, per-feature centre/scale used with MLInference's `Preprocess=True`, class names).
The network outputs class probabilities (softmax), as the Post-ML step expects.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from k4mlinference.algorithms.pid.calo_pid import CLASS_PDG, FEATURE_NAMES
from k4mlinference.training.dataset import HDF5RowDataset

CLASS_NAMES = ["electron", "pion"]


class PIDNet(nn.Module):
    """8 standardized shower features -> 2 class probabilities."""

    def __init__(self, n_in: int = len(FEATURE_NAMES), hidden: int = 32, n_out: int = len(CLASS_PDG)) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, n_out)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x), dim=-1)


def load_rows(path: Path, features: str, targets: str) -> tuple[np.ndarray, np.ndarray]:
    ds = HDF5RowDataset(path, inputs=[features], targets=[targets])
    x = np.stack([ds[i][0].numpy() for i in range(len(ds))]) if len(ds) else np.zeros((0, len(FEATURE_NAMES)))
    y = np.array([int(ds[i][1]) for i in range(len(ds))], np.int64)
    keep = y >= 0  # clusters without a known truth class
    return x[keep].astype(np.float32), y[keep]


def train(
    data: Path,
    out: Path,
    epochs: int = 40,
    seed: int = 1,
    features: str = "CaloPIDFeatures",
    targets: str = "CaloPIDTargets",
) -> dict:
    """Train, export ONNX + sidecar, return a summary (accuracy on a held-out quarter)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x, y = load_rows(data, features, targets)
    if len(x) < 20:
        raise ValueError(f"{data}: only {len(x)} labelled rows of {features!r}; generate more events")
    order = rng.permutation(len(x))
    n_test = len(x) // 4
    test, fit = order[:n_test], order[n_test:]
    centre = x[fit].mean(axis=0)
    scale = x[fit].std(axis=0) + 1e-6
    xs = torch.from_numpy((x - centre) / scale)
    yt = torch.from_numpy(y)
    net = PIDNet()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    fit_t = torch.from_numpy(fit)
    for _ in range(epochs):
        for batch in torch.split(fit_t[torch.randperm(len(fit_t))], 64):
            opt.zero_grad()
            loss = loss_fn(net.logits(xs[batch]), yt[batch])
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        acc = float((net(xs[test]).argmax(dim=1) == yt[test]).float().mean()) if n_test else float("nan")
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (xs[:2],),
            str(out),
            input_names=["features"],
            output_names=["probabilities"],
            dynamic_axes={"features": {0: "batch"}, "probabilities": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    sidecar = {
        "description": "k4mlinference calorimeter PID (electron vs charged pion), trained by train_calo_pid.py",
        "inputs": {
            "features": {
                "features": FEATURE_NAMES,
                "centre": centre.tolist(),
                "scale": scale.tolist(),
                "clip": [-10.0, 10.0],
                "shape": ["batch", len(FEATURE_NAMES)],
                "dtype": "float32",
            }
        },
        "outputs": {"probabilities": {"classes": CLASS_NAMES, "pdg": CLASS_PDG, "shape": ["batch", 2]}},
        "training": {"rows": int(len(fit)), "test_rows": int(n_test), "test_accuracy": acc, "seed": seed},
    }
    out.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n")
    return {"model": str(out), "train_rows": int(len(fit)), "test_rows": int(n_test), "test_accuracy": acc}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="HDF5 file written by TrainingExport")
    ap.add_argument("--out", type=Path, default=Path("calo_pid.onnx"))
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(json.dumps(train(args.data, args.out, args.epochs, args.seed), indent=2))


if __name__ == "__main__":
    main()
