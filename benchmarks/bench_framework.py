"""The event loop's own cost (goal 2), a Producer that makes one Tensor per event, and `--ncpus 2` vs
`--ncpus 1` (goal 4).

    python -m benchmarks.bench_framework [--events 5000] [--chain 8] [--parallel-events 10000]

Loop cost: a producer makes one small collection per event; a chain of K trivial Transformers (each
returns an empty collection) runs after it. Per event and algorithm, the chain costs
(t(K) - t(0)) / (K * events); the loop's own cost is that minus the algorithm's body called directly
from Python on the same input (the anchor, measured in the same run): what the framework adds on top
of calling the algorithm yourself (reading inputs, the type check, storing the output in the frame,
bookkeeping). CPU time of this process decides (the machine is shared; wall time is reported beside).
Producer: a trivial Python Producer returning `tensor.from_array` of a (5, 11) float32 array, in the
loop, next to `from_array` alone and its parts. Speed-up: wall time of `k4run options/gun_digitize.py`
(a fresh process, start-up and merge included, as a user sees it) with --ncpus 1 and 2.
Writes benchmarks/results/framework.json.
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
    import numpy as np

    from k4mlinference import edm
    from k4mlinference.edm import tensor
    from k4mlinference.framework import Input, Output, Producer, Transformer

    hits_cls = edm.collection_class(HITS)
    features = np.zeros((5, 11), np.float32)

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

    class BenchTensorSource(Producer):
        OutputCollection = Output("Features", type="edm4eic::TensorCollection")

        def __call__(self):
            return tensor.from_array(features)

    return BenchSource, BenchTrivialPy, BenchTensorSource


def _clock(fn) -> tuple[float, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c0, time.perf_counter() - t0


def time_chain(make_alg, k: int, events: int, repeat: int = 3) -> tuple[float, float]:
    """Best-of-`repeat` (CPU, wall) seconds for `events` events of source + k algorithms."""
    from k4mlinference.framework import run
    from k4mlinference.framework.component import CONFIGURED

    source_cls = _classes()[0]
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        CONFIGURED.clear()
        algs = [source_cls("Source")] + [make_alg(f"T{i}", OutputCollection=f"Out{i}") for i in range(k)]
        run(algs, evt_max=min(50, events))  # warm-up: JIT, first-call costs
        CONFIGURED.clear()
        algs = [source_cls("Source")] + [make_alg(f"T{i}", OutputCollection=f"Out{i}") for i in range(k)]
        got = _clock(lambda algs=algs: run(algs, evt_max=events))
        best = (min(best[0], got[0]), min(best[1], got[1]))
    return best


def body_us(call, arg, n: int) -> float:
    """CPU microseconds of `call(arg)` from Python, best of 3 passes of n calls."""
    best = float("inf")
    for _ in range(3):
        c0 = time.process_time()
        for _ in range(n):
            call(arg)
        best = min(best, time.process_time() - c0)
    return 1e6 * best / n


def overhead(events: int, chain: int) -> dict:
    from k4mlinference.framework import cpp_algorithm

    source_cls, py_cls, _ = _classes()
    source = Path(tempfile.mkdtemp(prefix="k4ml-bench-")) / "bench_trivial.cpp"
    source.write_text(CPP_TRIVIAL)
    cpp_cls = cpp_algorithm("BenchTrivialCpp", source)
    hits = source_cls("BodySource")()
    py_alg = py_cls("BodyPy")
    cpp_alg = cpp_cls("BodyCpp")
    cpp_alg.initialize()
    # the anchor: each algorithm object called directly from Python (for C++: its Python face + the C++ call)
    bodies = {"python": body_us(py_alg, hits, events), "cpp": body_us(cpp_alg, hits, events)}
    base_cpu, base_wall = time_chain(py_cls, 0, events)
    out = {
        "events": events,
        "chain_length": chain,
        "block_events": 64,
        "source_only_us_per_event": 1e6 * base_cpu / events,
    }
    for label, cls in (("python", py_cls), ("cpp", cpp_cls)):
        cpu, wall = time_chain(cls, chain, events)
        per = 1e6 * (cpu - base_cpu) / (chain * events)
        out[label] = {
            "chain_us_per_event_per_algorithm": per,
            "chain_wall_us_per_event_per_algorithm": 1e6 * (wall - base_wall) / (chain * events),
            "body_called_directly_us": bodies[label],
            "loop_own_us_per_event_per_algorithm": per - bodies[label],
            "chain_events_per_s": events / cpu,
        }
    return out


def producer_tensor(events: int) -> dict:
    """A trivial Producer making one Tensor per event: its cost in the loop and where it goes."""
    import numpy as np

    from k4mlinference import edm
    from k4mlinference.edm import tensor
    from k4mlinference.framework import run
    from k4mlinference.framework.component import CONFIGURED

    _, _, tensor_source = _classes()
    a = np.zeros((5, 11), np.float32)
    CONFIGURED.clear()
    run([tensor_source("Warm")], evt_max=50)
    CONFIGURED.clear()
    res = run([tensor_source("Tensors")], evt_max=events)
    step = res.timing["Tensors"]
    c = tensor.from_array(a)
    parts = {
        "from_array": body_us(lambda _: tensor.from_array(a), None, events),
        "empty_TensorCollection": body_us(lambda _: edm.edm4eic.TensorCollection(), None, events),
        "data_view": body_us(lambda x: x.data_view(), c, events),
        "vector_view": body_us(lambda x: x.vector_view("shape"), c, events),
    }
    return {
        "events": events,
        "producer_step_in_loop_us_per_event": 1e6 * step[0] / step[1],
        "parts_us": parts,
        "why": "tensor.from_array builds one structured view and three vector views (each: two addressof calls, "
        "ctypes buffers, a weakref registration; about 4-5 us each) and writes ~12 single structured-array "
        "fields; the loop itself adds the loop's own cost measured above",
    }


def k4run_wall(ncpus: int, events: int, workdir: Path, report: Path | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of all processes) of one k4run (`report`: its timing table as JSON)."""
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
        *([f"--worker-report={report}"] if report else []),
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
    t1, c1 = k4run_wall(1, events, wd, wd / "timing.json")
    t2, c2 = k4run_wall(2, events, wd)
    timing = json.loads((wd / "timing.json").read_text())["timing"]
    return {
        "chain": "options/gun_digitize.py",
        "per_algorithm_us_per_event": {k: 1e6 * v[0] / v[1] for k, v in timing.items() if v[1]},
        "events": events,
        "load_average_before": load,
        "ncpus1_wall_s": t1,
        "ncpus1_cpu_s": c1,
        "ncpus2_wall_s": t2,
        "ncpus2_cpu_s": c2,
        "speedup": t1 / t2,
        "cpu_ratio": c2 / c1,
        "note": "wall time of a fresh k4run incl. start-up, the workers' chunk outputs and the merge; "
        "it cannot exceed the number of free cores",
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
        "producer_tensor": producer_tensor(args.events),
        "parallel": speedup(args.parallel_events) if args.parallel_events else {},
        "load_average_1min": os.getloadavg()[0],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
