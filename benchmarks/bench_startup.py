"""Start-up of a k4run process (goal 3): a one-algorithm, one-event options file, warm cache.

    python -m benchmarks.bench_startup [--repeat 5]

Wall time of fresh processes as a user sees them (median of `repeat`, interleaved with the anchors so
that the machine's load affects both alike), and their CPU time (user + system of the child, which
other processes on a shared machine do not inflate as much):
- `k4run benchmarks/options/one_algorithm.py` (EventHeaderCreator, 1 event, no output);
- the same with one k4FWCore-style C++ Producer instead (`--cpp-source benchmarks/options/EmptyCollectionProducer.cpp
  benchmarks/options/one_cpp_algorithm.py`, its library compiled before the timed runs);
- the anchors: `python -c "import ROOT"` (the issue's anchor; in ROOT 6.32+ this import is lazy) and
  `python -c "import ROOT; ROOT.TObject"` (ROOT's interpreter started, which every ROOT user pays).
Also the import-time breakdown of the k4run process (python -X importtime, top entries).
Writes benchmarks/results/startup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "startup.json"
OPTIONS = HERE / "options" / "one_algorithm.py"
K4RUN = [sys.executable, "-m", "k4mlinference.framework.cli", str(OPTIONS)]
CPP_SOURCE = HERE / "options" / "EmptyCollectionProducer.cpp"
K4RUN_CPP = [sys.executable, "-m", "k4mlinference.framework.cli", "--cpp-source", str(CPP_SOURCE),
             str(HERE / "options" / "one_cpp_algorithm.py")]  # fmt: skip
IMPORT_ROOT = [sys.executable, "-W", "ignore", "-c", "import ROOT"]
ROOT_STARTED = [sys.executable, "-W", "ignore", "-c", "import ROOT; ROOT.TObject"]


def timed(cmd: list[str], cwd: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one fresh process."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, env=dict(os.environ, CI="1"))
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def import_breakdown(cwd: str, top: int = 8) -> list[dict]:
    """The slowest imports (cumulative) of one k4run process."""
    res = subprocess.run(
        [sys.executable, "-X", "importtime", *K4RUN[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=dict(os.environ, CI="1"),
    )
    rows = []
    for line in res.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cum, name = (x.strip() for x in line[len("import time:") :].split("|"))
            if cum.isdigit():
                rows.append({"module": name, "cumulative_s": int(cum) / 1e6})
    tops = [r for r in rows if not r["module"].startswith(" ")]  # top-level imports only
    return sorted(tops, key=lambda r: -r["cumulative_s"])[:top]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as wd:
        timed(K4RUN, wd)  # warm the cache (compiles the datamodel once if needed) and the OS file cache
        timed(K4RUN_CPP, wd)  # compiles the C++ algorithm's library once
        runs: dict[str, list[tuple[float, float]]] = {
            "k4run": [],
            "k4run_cpp": [],
            "import_ROOT": [],
            "ROOT_started": [],
        }
        for _ in range(args.repeat):
            runs["k4run"].append(timed(K4RUN, wd))
            runs["k4run_cpp"].append(timed(K4RUN_CPP, wd))
            runs["import_ROOT"].append(timed(IMPORT_ROOT, wd))
            runs["ROOT_started"].append(timed(ROOT_STARTED, wd))
        breakdown = import_breakdown(wd)
    med = {
        k: {"wall_s": statistics.median(w for w, _ in v), "cpu_s": statistics.median(c for _, c in v)}
        for k, v in runs.items()
    }
    res = {
        "options": str(OPTIONS.relative_to(HERE.parent)),
        "repeat": args.repeat,
        "median": med,
        "runs": runs,
        "k4run_vs_import_ROOT": med["k4run"]["wall_s"] / med["import_ROOT"]["wall_s"],
        "k4run_vs_ROOT_started": med["k4run"]["wall_s"] / med["ROOT_started"]["wall_s"],
        "k4run_cpu_vs_ROOT_started_cpu": med["k4run"]["cpu_s"] / med["ROOT_started"]["cpu_s"],
        "slowest_imports": breakdown,
        "load_average_1min": os.getloadavg()[0],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps({k: v for k, v in res.items() if k != "runs"}, indent=2))
    return res


if __name__ == "__main__":
    main()
