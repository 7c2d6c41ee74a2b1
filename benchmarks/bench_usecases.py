"""Use-case chains end to end (goal 5): events/s and peak memory, with and without the ML step.

    python -m benchmarks.bench_usecases [--events 2000]

For each chain whose options file exists (options/calo_pid_inference.py; options/flavour_tagging.py and
options/fastsim.py once those chains land), a fresh `k4run` process runs it as is and once more with
benchmarks/options/without_ml.py appended (the MLInference steps and what consumes their outputs removed).
Reported: wall time, events/s, CPU time and the process's peak resident memory, and the ML step's share.
The PID chain needs a model: one is trained here on a small sample (calo_pid_data.py + train_calo_pid,
a few epochs: speed, not accuracy, is measured). Writes benchmarks/results/usecases.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results" / "usecases.json"
WITHOUT_ML = HERE / "options" / "without_ml.py"
CHAINS = {
    "calo_pid": REPO / "options" / "calo_pid_inference.py",
    "flavour_tagging": REPO / "options" / "flavour_tagging.py",
    "fastsim": REPO / "options" / "fastsim.py",
}


def k4run(args: list[str], cwd: Path) -> dict:
    """Wall, CPU and peak RSS of one k4run process (os.wait4: this child's own usage)."""
    cmd = [sys.executable, "-m", "k4mlinference.framework.cli", *args]
    t0 = time.perf_counter()
    with open(cwd / "k4run.log", "a") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, CI="1"))
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        tail = (cwd / "k4run.log").read_text(errors="replace").strip().splitlines()[-3:]
        return {"error": f"k4run {' '.join(args)} exited with {rc}: {' / '.join(tail)}"}
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_MB": usage.ru_maxrss / 1024}


def per_algorithm(timing: dict) -> dict:
    """name -> microseconds per event, from the loop's timing table ([seconds, events, calls])."""
    return {k: 1e6 * v[0] / v[1] for k, v in timing.items() if v[1]}


def pid_model(work: Path, events: int, epochs: int) -> None:
    """A calo-PID model for the chain (small sample, few epochs)."""
    r = k4run([str(REPO / "options" / "calo_pid_data.py"), "-n", str(events), "--Export.OutputFile=train.h5"], work)
    if "error" in r:
        raise RuntimeError(r["error"])
    from k4mlinference.training.train_calo_pid import train

    train(work / "train.h5", work / "calo_pid.onnx", epochs=epochs)


def measure(options: Path, events: int, work: Path, repeat: int = 2) -> dict:
    base = [str(options), "-n", str(events), "--IOSvc.Output=out.root"]
    k4run(base[:1] + ["-n", "20"], work)  # warm: caches, OS file cache
    runs: dict[str, list[dict]] = {"with": [], "without": []}
    for i in range(repeat):  # interleaved, least disturbed run of each (the machine is shared)
        report = work / f"timing{i}.json"  # the loop's own timing table of this run
        run = k4run([*base, f"--worker-report={report}"], work)
        if "error" not in run:
            run["per_algorithm_us_per_event"] = per_algorithm(json.loads(report.read_text())["timing"])
        runs["with"].append(run)
        runs["without"].append(k4run([*base[:1], str(WITHOUT_ML), *base[1:]], work))
    with_ml, without = (min(r, key=lambda x: x.get("cpu_s", float("inf"))) for r in runs.values())
    out: dict = {"options": str(options.relative_to(REPO)), "events": events, "with_ml": with_ml, "without_ml": without}
    for side in (with_ml, without):
        if "wall_s" in side:
            side["events_per_s"] = events / side["wall_s"]
            side["events_per_cpu_s"] = events / side["cpu_s"]
    if "wall_s" in with_ml and "wall_s" in without:
        out["ml_share_of_cpu"] = 1 - without["cpu_s"] / with_ml["cpu_s"]
        out["ml_step_cpu_us_per_event"] = 1e6 * (with_ml["cpu_s"] - without["cpu_s"]) / events
        out["peak_rss_difference_MB"] = with_ml["peak_rss_MB"] - without["peak_rss_MB"]
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--train-events", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    res: dict = {"chains": {}, "missing": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, options in CHAINS.items():
            if not options.exists():
                res["missing"].append(str(options.relative_to(REPO)))
                continue
            try:
                if name == "calo_pid":
                    pid_model(work, args.train_events, args.epochs)
                res["chains"][name] = measure(options, args.events, work, args.repeat)
            except Exception as exc:  # one chain failing must not hide the others
                res["chains"][name] = {"error": f"{type(exc).__name__}: {exc}"}
    res["load_average_1min"] = os.getloadavg()[0]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
