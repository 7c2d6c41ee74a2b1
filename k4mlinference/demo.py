"""The demo chain (`make demo`): calorimeter particle ID from simulation to a trained model in a k4run chain.

1. `k4run options/calo_pid_data.py`: particle gun (e-, pi-) -> toy calorimeter simulation -> C++ CaloDigitizer
   -> clustering -> Pre-ML shower features + MC-truth class -> HDF5 training file (and a podio ROOT file);
2. `train_calo_pid`: a small MLP trained on it (fixed seed), exported to ONNX with a JSON sidecar;
3. `k4run options/calo_pid_inference.py`: new events through the same chain, MLInference (ONNX Runtime,
   256 events per model call, preprocessing from the sidecar) and Post-ML ReconstructedParticles + ParticleIDs;
4. the output file is read back with k4mlinference.io.Reader: accuracy against MC truth, and a plot of the
   electron probability per true class (demo_output/calo_pid_probabilities.png).

Everything is written under demo_output/ (or --workdir); the data are made by the package itself.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def k4run(options: Path, workdir: Path, *args: str) -> None:
    cmd = [sys.executable, "-m", "k4mlinference.framework.cli", str(options), *args]
    print("$ k4run", " ".join([str(options.relative_to(REPO)), *args]), flush=True)
    subprocess.run(cmd, cwd=workdir, check=True)


def evaluate(output: Path) -> dict:
    """Accuracy of the PID written in `output` against the MC truth stored beside it."""
    from k4mlinference.io import Reader

    truth, p_electron = [], []
    for frame in Reader(str(output)).get("events"):
        mcps, particles, pids = frame.get("MCParticles"), frame.get("CaloPIDParticles"), frame.get("CaloPIDs")
        if len(particles) == 0:
            continue
        pdg = abs(int(mcps.view("PDG")[0]))
        lik, hyp = pids.view("likelihood"), pids.view("PDG")
        truth.append(pdg)
        p_electron.append(float(lik[hyp == 11][0]))
    truth_arr, pe = np.array(truth), np.array(p_electron)
    is_e = truth_arr == 11
    predicted_e = pe > 0.5
    return {
        "events_with_a_cluster": int(len(truth_arr)),
        "accuracy": float(np.mean(predicted_e == is_e)) if len(truth_arr) else float("nan"),
        "electron_efficiency": float(np.mean(predicted_e[is_e])) if is_e.any() else float("nan"),
        "pions_taken_for_electrons": f"{int(predicted_e[~is_e].sum())} of {int((~is_e).sum())}",
        "_p_electron": pe,
        "_is_electron": is_e,
    }


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(0, 1, 41)
    pe, is_e = result["_p_electron"], result["_is_electron"]
    ax.hist(pe[is_e], bins=bins, histtype="step", lw=2, label="true electrons")
    ax.hist(pe[~is_e], bins=bins, histtype="step", lw=2, label="true pions")
    ax.set_xlabel("model electron probability (ParticleID likelihood, PDG 11)")
    ax.set_ylabel("clusters")
    ax.set_yscale("log")
    ax.set_title(f"k4mlinference demo: calorimeter PID, accuracy {result['accuracy']:.3f}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path, default=Path("demo_output"))
    ap.add_argument("--train-events", type=int, default=3000)
    ap.add_argument("--test-events", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=40)
    args = ap.parse_args(argv)
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    options = REPO / "options"

    k4run(options / "calo_pid_data.py", work, "-n", str(args.train_events), "--Export.OutputFile=calo_pid_train.h5")

    from k4mlinference.training.train_calo_pid import train

    print("$ python -m k4mlinference.training.train_calo_pid --data calo_pid_train.h5 --out calo_pid.onnx", flush=True)
    summary = train(work / "calo_pid_train.h5", work / "calo_pid.onnx", epochs=args.epochs)
    print(json.dumps(summary, indent=2))

    k4run(
        options / "calo_pid_inference.py",
        work,
        "-n",
        str(args.test_events),
        f"--PIDInference.ModelPath={work / 'calo_pid.onnx'}",
    )
    result = evaluate(work / "calo_pid_reco.root")
    plot(result, work / "calo_pid_probabilities.png")
    public = {k: v for k, v in result.items() if not k.startswith("_")}
    public["plot"] = str(work / "calo_pid_probabilities.png")
    (work / "demo_summary.json").write_text(json.dumps({"training": summary, "inference": public}, indent=2) + "\n")
    print("demo result:", json.dumps(public, indent=2))
    return public


if __name__ == "__main__":
    main()
