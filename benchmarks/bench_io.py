"""Read/write throughput of the podio ROOT I/O, side by side with uproot (same run, same file).

    python -m benchmarks.bench_io [--events 10000] [--particles 50]

Writes a file of N events x M MCParticles (with parent/daughter relations) through our Writer,
reads it back whole-collection per event through our Reader (MCParticles with both relation
branches, into the collection's own vectors), and reads the same branches with uproot into
awkward arrays. Figures go to benchmarks/results/io.json and stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "io.json"
BRANCHES = ["MCParticles", "_MCParticles_parents", "_MCParticles_daughters"]


def make_frames(n_events: int, n_particles: int, seed: int = 1):
    """Yield frames of `n_particles` MCParticles: a chain where particle i>0 has parent i-1."""
    from k4mlinference import edm
    from k4mlinference.io import Frame

    rng = np.random.default_rng(seed)
    mc_cls = edm.edm4hep.MCParticleCollection
    n = n_particles
    for _ in range(n_events):
        mc = mc_cls()
        frame = Frame()
        frame.put(mc, "MCParticles")  # the ID (hash of the name) is known from here on
        mc.m_data.resize(n)  # n default-initialized elements (what create() appends)
        # a decay chain: particle i > 0 has parent i - 1; filled through the zero-copy views
        mc.m_rel_parents.resize(n - 1)
        mc.m_rel_daughters.resize(n - 1)
        d = mc.data_view()
        d["PDG"] = rng.integers(-300, 300, n)
        for c in "xyz":
            d["momentum"][c] = rng.normal(size=n)
        d["mass"] = 0.139
        idx = np.arange(n, dtype=np.uint32)
        d["parents_begin"] = np.maximum(idx, 1) - 1
        d["parents_end"] = idx
        d["daughters_begin"] = np.minimum(idx, n - 1)
        d["daughters_end"] = np.minimum(idx + 1, n - 1)
        for rel, targets in (("parents", idx[:-1]), ("daughters", idx[1:])):
            r = mc.relation_view(rel)
            r["index"] = targets
            r["collectionID"] = mc.getID()
            del r
        del d
        frame.putParameter("seed", seed)
        yield frame


def bench_write(path: str, frames: list) -> float:
    from k4mlinference.io import Writer

    t0 = time.perf_counter()
    with Writer(path) as w:
        for f in frames:
            w.write_frame(f, "events")
    return time.perf_counter() - t0


def bench_read_ours(path: str) -> tuple[float, int]:
    from k4mlinference.io import Reader

    t0 = time.perf_counter()
    n = 0
    with Reader(path) as r:
        for frame in r.get("events", collections=["MCParticles"]):
            n += len(frame.get("MCParticles"))
    return time.perf_counter() - t0, n


def bench_read_uproot(path: str) -> tuple[float, int]:
    import uproot

    t0 = time.perf_counter()
    with uproot.open(path) as f:
        arrays = f["events"].arrays(
            filter_name=[b + "*" for b in BRANCHES] + [b + "/*" for b in BRANCHES], library="ak"
        )
    import awkward as ak

    n = int(ak.sum(ak.num(arrays["MCParticles.PDG"])))
    return time.perf_counter() - t0, n


def _rates(seconds: float, events: int, file_mb: float, payload_mb: float) -> dict:
    return {
        "seconds": round(seconds, 3),
        "events_per_s": round(events / seconds),
        "MB_per_s": round(file_mb / seconds, 1),
        "payload_MB_per_s": round(payload_mb / seconds, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--particles", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5, help="read passes (best is reported)")
    ap.add_argument("--repeat-write", type=int, default=2, help="write passes (best is reported)")
    args = ap.parse_args()
    warnings.simplefilter("ignore", UserWarning)
    from k4mlinference import edm
    from k4mlinference.io import Reader

    edm.load()
    Reader  # noqa: B018  (import cost outside the timings)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench_io.root")
        t0 = time.perf_counter()
        frames = list(make_frames(args.events, args.particles))
        t_make = time.perf_counter() - t0
        bench_write(path, frames[:10])  # warm-up: JIT of the writer helper
        t_write = min(bench_write(path, frames) for _ in range(args.repeat_write))
        mc0 = frames[0].get("MCParticles")
        payload_mb = (
            args.events
            * (len(mc0) * mc0.data_view().dtype.itemsize + 8 * (len(mc0.relation_view("parents")) * 2))
            / 1e6
        )
        del frames
        size_mb = os.path.getsize(path) / 1e6
        _, n_ours = bench_read_ours(path)  # warm-up: JIT of the helper, dictionaries, OS cache
        _, n_up = bench_read_uproot(path)
        ours_t, up_t = [], []
        for _ in range(args.repeat):  # interleaved, best of each: the machine is shared
            ours_t.append(bench_read_ours(path)[0])
            up_t.append(bench_read_uproot(path)[0])
        ours, up = min(ours_t), min(up_t)
        assert n_ours == n_up == args.events * args.particles, (n_ours, n_up)
    ev = args.events
    res = {
        "events": ev,
        "particles_per_event": args.particles,
        "file_MB": round(size_mb, 2),
        "payload_MB": round(payload_mb, 2),
        "write": _rates(t_write, ev, size_mb, payload_mb),
        "read_k4ml": _rates(ours, ev, size_mb, payload_mb),
        "read_uproot_awkward": _rates(up, ev, size_mb, payload_mb),
        "read_speedup_vs_uproot": round(up / ours, 2),
        "frame_building_seconds_not_timed": round(t_make, 2),
        "notes": "read = whole MCParticles collection + parents/daughters per event into our collections; "
        "uproot = the same branches into awkward arrays; MB_per_s = file (compressed) MB per second, "
        "payload_MB_per_s = in-memory MCParticleData + ObjectID bytes per second; best of the passes",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
