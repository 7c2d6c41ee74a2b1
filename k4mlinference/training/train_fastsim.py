"""Reproducible training of the fast-simulation shower model (a conditional VAE, Geant4 Par04 style).

    python -m k4mlinference.training.train_fastsim --out k4mlinference/models/fastsim_toy_calo.onnx

1. Simulates electron and photon showers with the parametrised ("full") simulation of the toy calorimeter,
   from the origin into the barrel and the endcaps, 1-100 GeV (log-uniform), and bins each shower's deposits
   on the cylindrical mesh around the particle direction from its calorimeter entry point (the same frame the
   fast simulation places voxels in, `algorithms.fastsim.geometry`).
2. Trains a conditional VAE: encoder (voxels + condition -> 10 latent values), decoder (latent + condition ->
   voxel energy fractions). The decoder gives a shower shape (softmax over the voxels) times a total visible
   fraction, so the energy response is learnt as a number rather than as a sum of 3,200 small outputs.
3. Exports the decoder to ONNX with a dynamic batch and Par04's input layout ([batch, 14] = 10 latent values,
   log(E / 100 GeV), polar angle / 90 deg, geometry one-hot [barrel, endcap]) and writes the sidecar JSON.
   The sidecar asks for each generated shower to be deposited as 400 equal-energy spots drawn from the voxel
   energies, the granularity of the parametrised simulation's showers (so cells hit compare like for like).

Why a VAE: one decoder pass per shower (a diffusion model needs tens of passes, a flow over 3,200 voxels is
large), it trains in minutes on two CPU cores, and it is the model kind Par04 and DDFastShowerML run, so the
same runtime path serves their model and ours. Fixed seeds; about 3 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from k4mlinference.algorithms.fastsim.geometry import entry_angles, shower_frame
from k4mlinference.algorithms.fastsim.model import Mesh
from k4mlinference.algorithms.sim.showers import simulate
from k4mlinference.detector import CalorimeterGeometry

MESH = Mesh(n_r=20, n_phi=8, n_z=25, size_r=5.0, size_z=10.0, order=("r", "phi", "z"), phi_offset=-np.pi)
SPOTS = 400  # the parametrised simulation makes each EM shower of 400 equal-energy spots
LATENT = 10
SECTIONS = ["ECalBarrel", "ECalEndcap"]
E_MIN, E_MAX, E_NORM = 1.0, 100.0, 100.0


def sidecar(description: str) -> dict:
    """The sidecar of the exported model (the format is in the README, 'Fast shower simulation')."""
    return {
        "description": description,
        "fastsim": {
            "mesh": {
                "size": {"r": MESH.n_r, "phi": MESH.n_phi, "z": MESH.n_z},
                "cell_size_mm": {"r": MESH.size_r, "z": MESH.size_z},
                "order": list(MESH.order),
                "phi_offset_deg": float(np.degrees(MESH.phi_offset)),
            },
            "latent": {"size": LATENT, "distribution": "normal"},
            "energy": {"unit": "GeV", "divide_by": E_NORM, "transform": "log", "quantity": "kinetic"},
            "angle": {"definition": "polar", "unit": "deg", "divide_by": 90.0},
            "geometry": {"one_hot": {"ECalBarrel": [1, 0], "ECalEndcap": [0, 1]}},
            "inputs": [{"name": "input", "content": ["latent", "energy", "angle", "geometry"]}],
            "output": {
                "name": "output",
                "kind": "fractions",
                "scale": 1.0,
                "spots_per_shower": SPOTS,
            },
        },
    }


def gun(n: int, rng: np.random.Generator, region: str | None = None) -> tuple[np.ndarray, ...]:
    """n electrons/photons from the origin: (pdg, energy [GeV], direction [n,3]); region barrel/endcap/None."""
    pdg = rng.choice([11, -11, 22], size=n)
    energy = np.exp(rng.uniform(np.log(E_MIN), np.log(E_MAX), n))
    if region == "barrel":
        cos_t = rng.uniform(-0.6, 0.6, n)
    elif region == "endcap":
        cos_t = rng.uniform(0.8, 0.97, n) * rng.choice([-1, 1], n)
    else:
        cos_t = np.where(
            rng.random(n) < 0.5, rng.uniform(-0.7, 0.7, n), rng.uniform(0.72, 0.98, n) * rng.choice([-1, 1], n)
        )
    phi = rng.uniform(0, 2 * np.pi, n)
    sin_t = np.sqrt(1 - cos_t**2)
    return pdg, energy, np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1)


def mesh_showers(geometry, pdg, energy, direction, rng, chunk: int = 500) -> dict[str, np.ndarray]:
    """Full-simulation showers binned on MESH: deposited-energy fractions of the kinetic energy [n, r, phi, z]
    (before the readout's sampling fraction and fluctuations, which deposits_to_hits applies to both simulations),
    and the condition (energy, polar angle, section name) of each shower that enters an EM section."""
    mass = np.where(np.abs(pdg) == 11, 0.000511, 0.0)
    vertex = np.zeros((len(pdg), 3))
    point, section, _ = geometry.entry(vertex, direction)
    ok = np.nonzero(section >= 0)[0]
    voxels = np.zeros((len(ok), MESH.n_r, MESH.n_phi, MESH.n_z), np.float32)
    for start in range(0, len(ok), chunk):
        sel = ok[start : start + chunk]
        dep = simulate(geometry, vertex[sel], direction[sel] * energy[sel, None], energy[sel], pdg[sel], rng)
        pos, e, owner = dep.positions, dep.energies, dep.particle
        x, y, z = shower_frame(direction[sel])
        rel = pos - point[sel][owner]
        lz = np.sum(rel * z[owner], axis=1)
        lr = np.hypot(np.sum(rel * x[owner], axis=1), np.sum(rel * y[owner], axis=1))
        lphi = np.mod(
            np.arctan2(np.sum(rel * y[owner], axis=1), np.sum(rel * x[owner], axis=1)) - MESH.phi_offset, 2 * np.pi
        )
        ir = np.floor(lr / MESH.size_r).astype(np.int64)
        ip = np.minimum(np.floor(lphi / (2 * np.pi) * MESH.n_phi).astype(np.int64), MESH.n_phi - 1)
        iz = np.floor(lz / MESH.size_z).astype(np.int64)
        inside = (ir < MESH.n_r) & (iz >= 0) & (iz < MESH.n_z)
        kin = (energy[sel] - mass[sel])[owner]
        np.add.at(voxels, (start + owner[inside], ir[inside], ip[inside], iz[inside]), (e / kin)[inside])
    angle = 90.0 - entry_angles(geometry, section[ok], point[ok], direction[ok])
    names = np.array([geometry.sections[s].name for s in section[ok]])
    return {"voxels": voxels, "energy": energy[ok] - mass[ok], "angle": angle, "section": names}


def condition(data: dict[str, np.ndarray]) -> np.ndarray:
    geo = np.stack([data["section"] == s for s in SECTIONS], axis=1).astype(np.float32)
    return np.concatenate(
        [np.log(data["energy"] / E_NORM)[:, None], (data["angle"] / 90.0)[:, None], geo], axis=1
    ).astype(np.float32)


class ShowerVAE(nn.Module):
    """Conditional VAE; the decoder alone is exported (input: latent + condition, output: voxel fractions)."""

    def __init__(self, n_voxels: int, n_cond: int = 4, latent: int = LATENT, hidden: int = 128) -> None:
        super().__init__()
        self.latent = latent
        self.enc = nn.Sequential(nn.Linear(n_voxels + 1 + n_cond, hidden), nn.ReLU(), nn.Linear(hidden, 64), nn.ReLU())
        self.mu, self.logvar = nn.Linear(64, latent), nn.Linear(64, latent)
        self.dec = nn.Sequential(
            nn.Linear(latent + n_cond, 64), nn.ReLU(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, n_voxels + 1)
        )

    def decode_parts(self, zc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.dec(zc)
        return torch.log_softmax(h[:, :-1], dim=1), h[:, -1]  # log shape, log total fraction

    def forward(self, zc: torch.Tensor) -> torch.Tensor:  # exported: [batch, 14] -> [batch, n_voxels]
        log_shape, log_total = self.decode_parts(zc)
        return torch.exp(log_shape + log_total[:, None])


def train(out: Path, n_train: int = 16000, epochs: int = 40, seed: int = 3, threads: int = 1) -> dict:
    """Simulate, train, export ONNX + sidecar; returns a summary."""
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    geometry = CalorimeterGeometry.load("toy_calo")
    data = mesh_showers(geometry, *gun(n_train, rng), rng)
    t_sim = time.perf_counter() - t0
    vox = data["voxels"].reshape(len(data["voxels"]), -1)
    total = vox.sum(axis=1)
    keep = total > 0
    vox, total, cond = vox[keep], total[keep], condition({k: v[keep] for k, v in data.items()})
    shape = vox / total[:, None]
    log_total = np.log(total)
    lt_mean, lt_std = float(log_total.mean()), float(log_total.std())
    enc_in = np.concatenate([np.sqrt(shape) * 4.0, ((log_total - lt_mean) / lt_std)[:, None], cond], axis=1)
    x_enc, x_shape = torch.tensor(enc_in, dtype=torch.float32), torch.tensor(shape, dtype=torch.float32)
    x_lt, x_cond = torch.tensor(log_total, dtype=torch.float32), torch.tensor(cond, dtype=torch.float32)
    model = ShowerVAE(vox.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    n = len(x_enc)
    beta = 0.02
    for epoch in range(epochs):
        perm = torch.randperm(n)
        tot = 0.0
        for b in range(0, n, 256):
            i = perm[b : b + 256]
            h = model.enc(x_enc[i])
            mu, logvar = model.mu(h), model.logvar(h).clamp(-8, 4)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            log_shape, lt = model.decode_parts(torch.cat([z, x_cond[i]], dim=1))
            rec_shape = -(x_shape[i] * log_shape).sum(1).mean()
            rec_total = (((lt - x_lt[i]) / 0.02) ** 2).mean() * 0.5
            kl = (-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(1)).mean()
            loss = rec_shape + 0.01 * rec_total + beta * kl
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * len(i)
        sched.step()
        print(f"epoch {epoch + 1}/{epochs}: loss {tot / n:.4f}", flush=True)
    model.eval()
    with torch.no_grad():
        m = min(n, 4000)
        gen = model(torch.cat([torch.randn(m, LATENT), x_cond[:m]], dim=1)).numpy()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    torch.onnx.export(
        model,
        torch.zeros(1, LATENT + 4),
        str(tmp),
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    tmp.replace(out)
    desc = (
        f"Conditional VAE decoder (toy calorimeter, e+-/gamma, {E_MIN:g}-{E_MAX:g} GeV, barrel + endcaps), "
        f"train_fastsim.py seed {seed}, {n} showers, {epochs} epochs"
    )
    side = out.with_suffix(".json")
    side.write_text(json.dumps(sidecar(desc), indent=2) + "\n")
    summary = {
        "showers": int(n),
        "epochs": epochs,
        "seed": seed,
        "simulation_s": round(t_sim, 1),
        "total_s": round(time.perf_counter() - t0, 1),
        "mean_visible_fraction_train": float(total.mean()),
        "mean_visible_fraction_generated": float(gen.sum(1).mean()),
    }
    print(json.dumps(summary, indent=1))
    return summary


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("k4mlinference/models/fastsim_toy_calo.onnx"))
    ap.add_argument("--showers", type=int, default=16000)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core machine)")
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args(argv)
    train(a.out, a.showers, a.epochs, a.seed, a.threads)


if __name__ == "__main__":
    main()
