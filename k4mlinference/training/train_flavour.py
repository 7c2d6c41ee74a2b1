"""Train the jet-flavour network (ParticleNet-like) on the JetObservablesWriter ntuple and export ONNX +
weaver's preprocess JSON; also the LCFIPlus-like BDT baseline used by the metrics script.

    python -m k4mlinference.training.train_flavour_data --events 20000 --out flavour_train.root
    python -m k4mlinference.training.train_flavour --train flavour_train.root --out k4mlinference/models/flavour_particlenet

Why our own script and not weaver-core: the whole chain (generation, training, evaluation) has to run from
scratch in minutes on two shared CPU cores; weaver-core's data loader and trainer need their own data YAML,
a pinned dependency set and multi-process loading that did not fit this budget. The network and the JSON
follow weaver: inputs `pf_points`, `pf_features`, `pf_mask`, `sv_features`, `sv_mask` as [N, vars, length],
softmax output, and the JSON is weaver's layout (median / norm_factor / bounds / pad per variable, as
weaver's auto-standardisation computes them: median, 1 / half the 16-84% spread, clip to [-5, 5]).
The inputs are built with `WeaverPreprocessor` from that JSON, so training and inference share one code path.
Seeds are fixed (torch, numpy), one torch thread by default, deterministic ops.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from k4mlinference.inference.weaver import NO_BOUND, WeaverPreprocessor, write_json

CLASSES = ["recojet_isB", "recojet_isC", "recojet_isQ"]
PF_POINTS = ["pfcand_thetarel", "pfcand_phirel"]
PF_FEATURES = [
    "pfcand_erel_log", "pfcand_thetarel", "pfcand_phirel",
    "pfcand_dptdpt", "pfcand_detadeta", "pfcand_dphidphi", "pfcand_dxydxy", "pfcand_dzdz", "pfcand_dxydz",
    "pfcand_dphidxy", "pfcand_dlambdadz", "pfcand_dxyc", "pfcand_dxyctgtheta", "pfcand_phic", "pfcand_phidz",
    "pfcand_phictgtheta", "pfcand_cdz", "pfcand_cctgtheta",
    "pfcand_mtof", "pfcand_dndx", "pfcand_charge",
    "pfcand_isMu", "pfcand_isEl", "pfcand_isChargedHad", "pfcand_isGamma", "pfcand_isNeutralHad",
    "pfcand_dxy", "pfcand_dz", "pfcand_btagSip2dVal", "pfcand_btagSip2dSig", "pfcand_btagSip3dVal",
    "pfcand_btagSip3dSig", "pfcand_btagJetDistVal", "pfcand_btagJetDistSig",
]  # fmt: skip
SV_FEATURES = ["sv_mass", "sv_ntracks", "sv_erel_log", "sv_dist3d", "sv_dist3dsig", "sv_dist2dsig", "sv_deltaR",
               "sv_costhetasvpv", "sv_chi2ndf"]  # fmt: skip
RAW = {
    "pfcand_mtof",
    "pfcand_dndx",
    "pfcand_charge",
    "pfcand_isMu",
    "pfcand_isEl",
    "pfcand_isChargedHad",
    "pfcand_isGamma",
    "pfcand_isNeutralHad",
    "pfcand_mask",
    "sv_mask",
}  # fmt: skip  (not standardised)
PF_LENGTH, SV_LENGTH = 32, 4
GROUPS = {
    "pf_points": (PF_POINTS, PF_LENGTH),
    "pf_features": (PF_FEATURES, PF_LENGTH),
    "pf_mask": (["pfcand_mask"], PF_LENGTH),
    "sv_features": (SV_FEATURES, SV_LENGTH),
    "sv_mask": (["sv_mask"], SV_LENGTH),
}


def labels(flavour: np.ndarray) -> np.ndarray:
    """Class index per jet: 0 b, 1 c, 2 light (u, d, s, g)."""
    return np.where(flavour == 5, 0, np.where(flavour == 4, 1, 2)).astype(np.int64)


def load_ntuple(path: str | Path) -> tuple[dict[str, list[np.ndarray]], dict[str, np.ndarray]]:
    """(per-jet arrays of every pfcand_/sv_ branch, per-jet scalars) from a JetObservablesWriter file."""
    import uproot

    tree = uproot.open(path)["JetTags"]
    scalars = {k: tree[k].array(library="np") for k in tree.keys() if k.startswith(("jet_", "event_"))}
    counts = {"pfcand": tree["npfcand"].array(library="np"), "sv": tree["nsv"].array(library="np")}
    per_jet = {}
    for k in tree.keys():
        if k.startswith(("pfcand_", "sv_")):
            import awkward as ak

            flat = np.asarray(ak.flatten(tree[k].array(library="ak")), np.float32)
            c = counts[k.split("_")[0]]
            per_jet[k] = np.split(flat, np.cumsum(c)[:-1])
    return per_jet, scalars


def standardisation(features: dict[str, list[np.ndarray]]) -> dict:
    """weaver's preprocess JSON content for GROUPS from the training features (auto-standardisation)."""
    groups = {}
    for name, (var_names, length) in GROUPS.items():
        infos = {}
        for v in var_names:
            if v in RAW:
                infos[v] = {"median": 0.0, "norm_factor": 1.0, "replace_inf_value": 0.0,
                            "lower_bound": -NO_BOUND, "upper_bound": NO_BOUND, "pad": 0.0}  # fmt: skip
                continue
            flat = np.concatenate(features[v]) if features[v] else np.zeros(1)
            lo, med, hi = np.percentile(flat, [16, 50, 84]) if len(flat) else (0.0, 0.0, 0.0)
            scale = max(hi - med, med - lo)
            norm = 1.0 / scale if scale > 0 else 1.0
            infos[v] = {"median": float(med), "norm_factor": float(norm), "replace_inf_value": 0.0,
                        "lower_bound": -5.0, "upper_bound": 5.0, "pad": 0.0}  # fmt: skip
        groups[name] = {"var_names": var_names, "var_infos": infos, "var_length": length}
    return groups


def build_model(n_pf: int, n_sv: int, n_classes: int, k: int = 8):
    """ParticleNet-like: two EdgeConv blocks (kNN in (theta, phi) then in feature space) on the constituents,
    a point MLP on the secondary vertices, masked mean pooling, a fully connected head with softmax."""
    import torch
    from torch import nn

    class EdgeConv(nn.Module):
        """EdgeConv on channel-last tensors ([N, P, C]: Linear layers, which CPUs run far faster than 1x1 convs)."""

        def __init__(self, c_in: int, c_out: int) -> None:
            super().__init__()
            self.k = k
            self.mlp = nn.Sequential(nn.Linear(2 * c_in, c_out), nn.ReLU(), nn.Linear(c_out, c_out), nn.ReLU())
            self.skip = nn.Linear(c_in, c_out, bias=False)

        def forward(self, points, x, mask):
            # points [N, P, D], x [N, P, C], mask [N, P, 1]; padded points are moved far away so that they
            # are nobody's neighbours
            pts = points + (1.0 - mask) * 1e9
            sq = torch.sum(pts * pts, dim=2, keepdim=True)
            dist = sq + sq.transpose(1, 2) - 2 * torch.matmul(pts, pts.transpose(1, 2))
            idx = torch.topk(-dist, self.k + 1, dim=-1)[1][:, :, 1:]  # [N, P, k], self excluded
            n, p, c = x.shape
            base = torch.arange(n, device=x.device).view(-1, 1, 1) * p
            nb = x.reshape(n * p, c)[(idx + base).reshape(-1)].view(n, p, self.k, c)
            centre = x.unsqueeze(2).expand(-1, -1, self.k, -1)
            out = self.mlp(torch.cat([centre, nb - centre], dim=-1)).mean(dim=2)
            return torch.relu(out + self.skip(x)) * mask

    class ParticleNetLite(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn_pf = nn.BatchNorm1d(n_pf)
            self.ec1 = EdgeConv(n_pf, 32)
            self.ec2 = EdgeConv(32, 48)
            self.sv = nn.Sequential(nn.Linear(n_sv, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
            self.head = nn.Sequential(nn.Linear(32 + 48 + 32, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, n_classes))

        def forward(self, pf_points, pf_features, pf_mask, sv_features, sv_mask):
            mask = pf_mask.transpose(1, 2)  # weaver's [N, vars, P] -> channel-last [N, P, vars]
            x = (self.bn_pf(pf_features) * pf_mask).transpose(1, 2)
            x1 = self.ec1(pf_points.transpose(1, 2), x, mask)
            x2 = self.ec2(x1, x1, mask)
            n_real = mask.sum(dim=1).clamp(min=1.0)
            pooled = torch.cat([x1.sum(1) / n_real, x2.sum(1) / n_real], dim=1)
            svm = sv_mask.transpose(1, 2)
            s = self.sv(sv_features.transpose(1, 2)) * svm
            pooled_sv = s.sum(1) / svm.sum(dim=1).clamp(min=1.0)
            return torch.softmax(self.head(torch.cat([pooled, pooled_sv], dim=1)), dim=1)

    return ParticleNetLite()


def train_network(inputs: dict[str, np.ndarray], y: np.ndarray, epochs: int, seed: int, threads: int = 1, log=print):
    import torch

    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)  # 1: on a shared machine extra threads spin rather than help
    names = list(GROUPS)
    model = build_model(len(PF_FEATURES), len(SV_FEATURES), len(CLASSES))
    tensors = [torch.from_numpy(inputs[n]) for n in names]
    target = torch.from_numpy(y)
    n = len(y)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_val = n // 10
    val, tr = order[:n_val], order[n_val:]
    batch = 256
    steps = epochs * ((len(tr) + batch - 1) // batch)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    for epoch in range(epochs):
        model.train()
        perm = tr[rng.permutation(len(tr))]
        total = 0.0
        for s in range(0, len(perm), batch):
            b = torch.from_numpy(perm[s : s + batch])
            prob = model(*(t[b] for t in tensors))
            loss = torch.nn.functional.nll_loss(torch.log(prob.clamp(min=1e-7)), target[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(b)
        model.eval()
        with torch.no_grad():
            vb = torch.from_numpy(val)
            acc = float((model(*(t[vb] for t in tensors)).argmax(1) == target[vb]).float().mean())
        log(f"epoch {epoch + 1}/{epochs}: loss {total / len(tr):.4f}, validation accuracy {acc:.4f}", flush=True)
    return model


def export_onnx(model, inputs: dict[str, np.ndarray], path: Path) -> None:
    import torch

    model.eval()
    names = list(GROUPS)
    example = tuple(torch.from_numpy(inputs[n][:4]) for n in names)
    dyn = {n: {0: "N"} for n in names}
    dyn["softmax"] = {0: "N"}
    torch.onnx.export(model, example, str(path), input_names=names, output_names=["softmax"],
                      dynamic_axes=dyn, opset_version=17, dynamo=False)  # fmt: skip


# ------------------------------------------------------------------ LCFIPlus-like BDT
BDT_VARIABLES = [
    "nsv", "sv1_mass", "sv1_ntracks", "sv1_dist3dsig", "sv1_energy_ratio", "sv2_mass", "sv2_dist3dsig",
    "trk1_sip3dsig", "trk2_sip3dsig", "trk3_sip3dsig", "trk1_sip2dsig", "trk2_sip2dsig",
    "trk1_z0sig", "n_sig3", "e_sig3_frac", "n_charged", "jet_mass",
]  # fmt: skip


def top(values: np.ndarray, k: int, default: float) -> float:
    """The k-th entry of `values` (already ordered), or `default` when there are fewer."""
    return float(values[k]) if len(values) > k else default


def bdt_variables(per_jet: dict[str, list[np.ndarray]], scalars: dict[str, np.ndarray]) -> np.ndarray:
    """Jet-level vertex and impact-parameter variables (LCFIPlus flavour-tag style), [n_jets, 17]:
    the two most significant secondary vertices, the three most significant tracks, displaced-track counts."""
    n = len(scalars["jet_e"])
    out = np.zeros((n, len(BDT_VARIABLES)), np.float32)
    for j in range(n):
        order = np.argsort(-per_jet["sv_dist3dsig"][j])
        sv = {name: per_jet[name][j][order] for name in ("sv_mass", "sv_ntracks", "sv_dist3dsig", "sv_energy_ratio")}
        charged = per_jet["pfcand_charge"][j] != 0
        s3 = np.sort(per_jet["pfcand_btagSip3dSig"][j][charged])[::-1]
        s2 = np.sort(per_jet["pfcand_btagSip2dSig"][j][charged])[::-1]
        z0 = per_jet["pfcand_dz"][j][charged] / np.sqrt(np.maximum(per_jet["pfcand_dzdz"][j][charged], 1e-12))
        z0 = np.sort(np.abs(z0))[::-1]
        sig3 = charged & (per_jet["pfcand_btagSip3dSig"][j] > 3)
        out[j] = [
            len(order), top(sv["sv_mass"], 0, -1), top(sv["sv_ntracks"], 0, -1), top(sv["sv_dist3dsig"], 0, -1),
            top(sv["sv_energy_ratio"], 0, -1), top(sv["sv_mass"], 1, -1), top(sv["sv_dist3dsig"], 1, -1),
            top(s3, 0, -10), top(s3, 1, -10), top(s3, 2, -10), top(s2, 0, -10), top(s2, 1, -10), top(z0, 0, -10),
            sig3.sum(), per_jet["pfcand_erel"][j][sig3].sum(), charged.sum(), scalars["jet_mass"][j],
        ]  # fmt: skip
    return out


def train_bdt(x: np.ndarray, y: np.ndarray, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier

    bdt = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.1, max_leaf_nodes=31, random_state=seed,
                                         early_stopping=True, validation_fraction=0.1)  # fmt: skip
    return bdt.fit(x, y)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True, help="JetObservablesWriter ntuple")
    ap.add_argument("--out", default="flavour_particlenet", help="output stem: <out>.onnx, <out>.json")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--bdt", default="", help="also train the BDT and save it here (joblib)")
    a = ap.parse_args(argv)
    t0 = time.time()
    per_jet, scalars = load_ntuple(a.train)
    y = labels(scalars["jet_flavour"])
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out.with_suffix(".json"), standardisation(per_jet), CLASSES)
    pre = WeaverPreprocessor.from_json(out.with_suffix(".json"))
    inputs = pre(per_jet)
    print(f"{len(y)} jets (b {np.mean(y == 0):.3f}, c {np.mean(y == 1):.3f}, light {np.mean(y == 2):.3f}); "
          f"inputs ready after {time.time() - t0:.1f} s")  # fmt: skip
    model = train_network(inputs, y, a.epochs, a.seed, a.threads)
    export_onnx(model, inputs, out.with_suffix(".onnx"))
    print(f"network: {out.with_suffix('.onnx')} + {out.with_suffix('.json')} after {time.time() - t0:.1f} s")
    if a.bdt:
        import joblib

        joblib.dump(train_bdt(bdt_variables(per_jet, scalars), y, a.seed), a.bdt)
        print(f"BDT: {a.bdt} after {time.time() - t0:.1f} s")
    print(json.dumps({"seconds": round(time.time() - t0, 1)}))


if __name__ == "__main__":
    main()
