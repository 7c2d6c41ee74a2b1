"""`make bench`: run every benchmark (each in its own interpreter), then write the report.

Each benchmark writes its own JSON file under benchmarks/results/; this script then gathers them into
benchmarks/results/<date>.json, writes the Markdown table (<date>.md), the plots (<date>-*.png) and the
README's performance section (benchmarks/report.py; `python -m benchmarks.report` redoes that part from
the latest results file). Sizes are chosen so that the whole suite takes under 15 minutes on the
project's 2-core machine; `--quick` makes every benchmark smaller (a smoke run, figures not for the README).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# (module, arguments, arguments with --quick)
BENCHES = [
    ("bench_startup", ["--repeat", "5"], ["--repeat", "2"]),
    ("bench_edm", [], []),
    (
        "bench_framework",
        ["--events", "5000", "--parallel-events", "10000"],
        ["--events", "1000", "--parallel-events", "1000"],
    ),
    ("bench_backends", ["--events", "10240"], ["--events", "1024"]),
    ("bench_inference", [], ["--events", "2000"]),
    ("bench_io", ["--events", "10000", "--repeat", "3"], ["--events", "1000", "--repeat", "1", "--repeat-write", "1"]),
    (
        "bench_usecases",
        ["--events", "2000"],
        ["--events", "200", "--train-events", "300", "--epochs", "1", "--repeat", "1"],
    ),
]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="only these benchmarks (default: all)")
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run of the whole suite")
    args = ap.parse_args(argv)
    durations = {}
    t_all = time.perf_counter()
    for name, full, quick in BENCHES:
        if args.names and name not in args.names:
            continue
        t0 = time.perf_counter()
        print(f"== {name}", flush=True)
        rc = subprocess.run(
            [sys.executable, "-m", f"benchmarks.{name}", *(quick if args.quick else full)], cwd=HERE.parent
        ).returncode
        durations[name] = round(time.perf_counter() - t0, 1)
        print(f"== {name} {'done' if rc == 0 else f'FAILED ({rc})'} in {durations[name]:.0f} s", flush=True)
    from benchmarks import report

    path = report.gather(durations, time.perf_counter() - t_all, quick=args.quick)
    report.write_all(path)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
