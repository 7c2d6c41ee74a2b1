"""Framework overhead per event per algorithm (trivial Python and C++ Transformers), and the k4run
`--ncpus 1` vs `--ncpus 2` speed-up on the gun -> calo sim -> C++ digitizer -> clustering chain.

    python -m benchmarks.bench_framework [--events 5000] [--chain 8] [--parallel-events 10000]

Overhead: a producer makes one small collection per event; a chain of K trivial Transformers (each
returns an empty collection of its output type) runs after it. The overhead per algorithm and event is
(t(K) - t(0)) / (K * events): what the event loop, the type check, the call and storing the output
cost, with no work inside the algorithm. Speed-up: wall time of `k4run` (a fresh process, start-up
included, as a user sees it) with --ncpus 1 and 2; it cannot exceed the number of free cores.
Figures go to benchmarks/results/framework.json and stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "framework.json"
REPO = Path(__file__).resolve().parents[1]
HITS = "edm4hep::CalorimeterHitCollection"

CPP_TRIVIAL = """
#include "k4FWCore/Transformer.h"
#include "edm4hep/CalorimeterHitCollection.h"
/// Benchmark: returns an empty collection.
struct BenchTrivialCpp final
    : k4FWCore::Transformer<edm4hep::CalorimeterHitCollection(const edm4hep::CalorimeterHitCollection&)> {
  BenchTrivialCpp(const std::string& name, ISvcLocator* svcLoc)
      : Transformer(name, svcLoc, KeyValues("InputCollection", {"Hits"}), KeyValues("OutputCollection", {"Out"})) {}
  edm4hep::CalorimeterHitCollection operator()(const edm4hep::CalorimeterHitCollection&) const override { return {}; }
};
DECLARE_COMPONENT(BenchTrivialCpp)
"""


def _classes():
    from k4mlinference import edm
    from k4mlinference.framework import Input, Output, Producer, Transformer

    hits_cls = edm.collection_class(HITS)

    class BenchSource(Producer):
        OutputCollection = Output("Hits", type=HITS)

        def __call__(self):
            c = hits_cls()
            c.m_data.resize(10)
            return c

    class BenchTrivialPy(Transformer):
        InputCollection = Input("Hits", type=HITS)
        OutputCollection = Output("Out", type=HITS)

        def __call__(self, hits):
            return hits_cls()

    return BenchSource, BenchTrivialPy


def time_chain(make_alg, k: int, events: int, repeat: int = 3) -> float:
    """Best-of-`repeat` seconds for `events` events of source + k algorithms (each reads the source)."""
    from k4mlinference.framework import run
    from k4mlinference.framework.component import REGISTRY

    source_cls, _ = _classes()
    best = float("inf")
    for _ in range(repeat):
        REGISTRY.clear()
        algs = [source_cls("Source")] + [make_alg(f"T{i}", OutputCollection=f"Out{i}") for i in range(k)]
        run(algs, evt_max=min(50, events))  # warm-up: JIT, first-call costs
        REGISTRY.clear()
        algs = [source_cls("Source")] + [make_alg(f"T{i}", OutputCollection=f"Out{i}") for i in range(k)]
        t0 = time.perf_counter()
        run(algs, evt_max=events)
        best = min(best, time.perf_counter() - t0)
    return best


def overhead(events: int, chain: int) -> dict:
    from k4mlinference.framework import cpp_algorithm

    _, py_cls = _classes()
    source = Path(tempfile.mkdtemp(prefix="k4ml-bench-")) / "bench_trivial.cpp"
    source.write_text(CPP_TRIVIAL)
    cpp_cls = cpp_algorithm("BenchTrivialCpp", source)
    base = time_chain(py_cls, 0, events)
    out = {"events": events, "chain_length": chain, "source_only_us_per_event": 1e6 * base / events}
    for label, cls in (("python", py_cls), ("cpp", cpp_cls)):
        t = time_chain(cls, chain, events)
        out[f"{label}_transformer_us_per_event_per_algorithm"] = 1e6 * (t - base) / (chain * events)
        out[f"{label}_chain_events_per_s"] = events / t
    return out


def k4run_wall(ncpus: int, events: int, workdir: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of all processes) of one k4run."""
    cmd = [
        sys.executable,
        "-m",
        "k4mlinference.framework.cli",
        str(REPO / "options" / "gun_digitize.py"),
        "-n",
        str(events),
        f"--IOSvc.Output=ncpus{ncpus}.root",
        "--ncpus",
        str(ncpus),
    ]
    import resource

    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=workdir, check=True, capture_output=True, env=dict(os.environ, CI="1"))
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def speedup(events: int) -> dict:
    wd = Path(tempfile.mkdtemp(prefix="k4ml-bench-par-"))
    load = os.getloadavg()[0]
    t1, c1 = k4run_wall(1, events, wd)
    t2, c2 = k4run_wall(2, events, wd)
    return {
        "events": events,
        "load_average_before": load,
        "ncpus1_wall_s": t1,
        "ncpus1_cpu_s": c1,
        "ncpus2_wall_s": t2,
        "ncpus2_cpu_s": c2,
        "speedup": t1 / t2,
        "note": "wall time of a fresh k4run incl. start-up (about 3-5 s per process), workers' chunk outputs and the merge",
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=5000, help="events for the overhead measurement")
    ap.add_argument("--chain", type=int, default=8, help="trivial transformers in the chain")
    ap.add_argument("--parallel-events", type=int, default=10000, help="events for the --ncpus comparison")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)
    from k4mlinference.framework import messages

    messages.set_level(messages.WARNING)  # no per-run INFO lines in the timing loops
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "overhead": overhead(args.events, args.chain),
        "parallel": speedup(args.parallel_events),
        "load_average_1min": os.getloadavg()[0],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
