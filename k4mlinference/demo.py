"""The demo chain (`make demo`): calorimeter particle ID from simulation to a trained model in a k4run chain.

1. `k4run options/calo_pid_data.py`: particle gun (e-, pi-, 2-20 GeV) -> parametrised calorimeter simulation
   (GFlash EM showers, hadronic showers with a fluctuating pi0 fraction) -> C++ CaloDigitizer -> clustering ->
   truth links -> Pre-ML features + targets -> HDF5 training file;
2. `train_calo_pid`: a small MLP trained on it (fixed seed), exported to ONNX with a JSON sidecar; by default on
   EICrecon's CalorimeterParticleIDPreML layout (`--feature-set k4ml` for ours, which separates so well that a
   demo-sized sample often has no misidentified pion at all);
3. `k4run options/calo_pid_inference.py`: new events through the same chain, configured for that model
   (FeatureSet, ModelPath), MLInference (ONNX Runtime, 256 events per model call) and Post-ML
   ReconstructedParticles + ParticleIDs;
4. the output file is read back: pion rejection at 95% electron efficiency (with its bootstrap uncertainty)
   against the ClusterMCParticleLinks, ROC curve in demo_output/calo_pid_roc.png. The figures of the shipped
   model (trained and evaluated on larger samples) are printed beside them.

Everything is written under demo_output/ (or --workdir); the data are made by the package itself.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from k4mlinference.algorithms.pid.metrics import pion_rejection, plot_roc, roc_curve

REPO = Path(__file__).resolve().parents[1]
SHIPPED_REPORT = Path(__file__).resolve().parent / "models" / "calo_pid_report.json"


def k4run(options: Path, workdir: Path, *args: str) -> None:
    cmd = [sys.executable, "-m", "k4mlinference.framework.cli", str(options), *args]
    print("$ k4run", " ".join([str(options.relative_to(REPO)), *args]), flush=True)
    subprocess.run(cmd, cwd=workdir, check=True)


def read_scores(output: Path) -> tuple[np.ndarray, np.ndarray]:
    """(electron likelihood, is electron) per cluster of `output`, truth from the ClusterMCParticleLinks."""
    from k4mlinference import edm
    from k4mlinference.io import Reader

    scores, truth = [], []
    for frame in Reader(str(output)).get("events"):
        clusters, pids = frame.get("CaloClusters"), frame.get("CaloPIDs")
        if len(clusters) == 0:
            continue
        best, _ = edm.best_links(frame.get("CaloClusterMCLinks"), len(clusters))
        pdg = np.array(frame.get("MCParticles").view("PDG"))[best]
        hyp = np.array(pids.view("PDG")).reshape(len(clusters), -1)
        lik = np.array(pids.view("likelihood")).reshape(len(clusters), -1)
        linked = best >= 0
        scores.append(lik[hyp == 11][linked])
        truth.append(pdg[linked] == 11)
    return np.concatenate(scores), np.concatenate(truth)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path, default=Path("demo_output"))
    ap.add_argument("--train-events", type=int, default=4000)
    ap.add_argument("--test-events", type=int, default=6000)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument(
        "--feature-set",
        default="eicrecon",
        choices=["eicrecon", "k4ml"],
        help="Pre-ML layout of the demo's model (eicrecon: EICrecon's contract, configured on the same chain)",
    )
    args = ap.parse_args(argv)
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    options = REPO / "options"

    k4run(
        options / "calo_pid_data.py",
        work,
        "-n",
        str(args.train_events),
        "--Export.OutputFile=calo_pid_train.h5",
        "--IOSvc.Output=",  # the HDF5 training file is all the demo needs from this run
    )

    from k4mlinference.training.train_calo_pid import train

    print(
        "$ python -m k4mlinference.training.train_calo_pid --data calo_pid_train.h5 --out calo_pid.onnx "
        f"--feature-set {args.feature_set}",
        flush=True,
    )
    summary = train(work / "calo_pid_train.h5", work / "calo_pid.onnx", args.feature_set, epochs=args.epochs)
    print(json.dumps(summary, indent=2))

    k4run(
        options / "calo_pid_inference.py",
        work,
        "-n",
        str(args.test_events),
        f"--PIDInference.ModelPath={work / 'calo_pid.onnx'}",
        f"--PIDFeatures.FeatureSet={args.feature_set}",
    )
    score, is_e = read_scores(work / "calo_pid_reco.root")
    rej = pion_rejection(score, is_e)
    plot_roc({"demo model": roc_curve(score, is_e)}, str(work / "calo_pid_roc.png"), "k4mlinference demo: e- vs pi-")
    result = {
        "clusters": int(len(score)),
        "electrons": rej.electrons,
        "pions": rej.pions,
        "pion_rejection_at_95pct_electron_efficiency": rej.rejection,
        "uncertainty": rej.uncertainty,
        "pions_taken_for_electrons": f"{rej.pions_passing} of {rej.pions}",
        "roc": str(work / "calo_pid_roc.png"),
    }
    (work / "demo_summary.json").write_text(json.dumps({"training": summary, "inference": result}, indent=2) + "\n")
    print("demo result:", json.dumps(result, indent=2))
    print(
        f"pion rejection at 95% electron efficiency (demo model, FeatureSet={args.feature_set}, "
        f"{rej.pions} pions, {rej.electrons} electrons): {rej.rejection:.1f} +- {rej.uncertainty:.1f}"
    )
    if SHIPPED_REPORT.exists():
        shipped = json.loads(SHIPPED_REPORT.read_text())
        for fs in ("k4ml", "eicrecon"):
            o = shipped[fs]["evaluation"]["overall"]
            print(
                f"shipped models, independent sample of {o['pions']} pions and {o['electrons']} electrons, "
                f"FeatureSet={fs}: {o['rejection']:.1f} +- {o['uncertainty']:.1f}"
            )
    return result


if __name__ == "__main__":
    main()
