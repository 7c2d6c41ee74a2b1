"""EDM start-up, and a feature tensor built through the zero-copy view against a Python loop.

- import + datamodel compile time with a cold cache (fresh cache folder: rootcling + g++) and a
  warm one (load the cached library and C++ module), each in a fresh interpreter;
- the same (N, 4) float32 feature tensor (momentum x, y, z and mass of N MCParticles) built two ways
  on the same collection, touching the same N*4 elements: (a) numpy views of the columns copied into
  the edm4eic::Tensor (`tensor.from_array(np.stack(views))`), (b) a Python loop over the objects
  (`getMomentum()`, `getMass()`) into a list, then the same `from_array`. Both are timed on all N
  elements (no extrapolation) and reported per element; the first also with the view alone summed
  (`view.sum()`: the data read, nothing built).

Writes benchmarks/results/edm.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
STARTUP = (
    "import time; t=time.perf_counter(); from k4mlinference import edm; edm.load(); "
    "c=edm.edm4hep.MCParticleCollection(); c.create(PDG=1); print(time.perf_counter()-t)"
)


def _startup(cache: str) -> float:
    """Wall time of a fresh interpreter importing and loading the datamodel, seen from outside."""
    env = {**os.environ, "K4ML_CACHE_DIR": cache}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", STARTUP], check=True, env=env, capture_output=True)
    return time.perf_counter() - t0


def main() -> dict:
    with tempfile.TemporaryDirectory() as cache:
        cold = _startup(cache)
        warm = min(_startup(cache) for _ in range(3))

    import numpy as np

    from k4mlinference import edm
    from k4mlinference.edm import tensor

    edm.load()
    n = 200_000
    coll = edm.edm4hep.MCParticleCollection()
    coll.m_data.resize(n)  # C++ side fill: the benchmark is about reading
    data = coll.data_view()
    rng = np.random.default_rng(1)
    for c in "xyz":
        data["momentum"][c] = rng.normal(size=n)
    data["mass"] = rng.uniform(0.0, 1.0, n)
    del data

    def via_views():
        cols = [coll.view(f"momentum.{c}") for c in "xyz"] + [coll.view("mass")]
        return tensor.from_array(np.stack(cols, axis=1).astype(np.float32))

    def via_loop():
        rows = []
        for p in coll:
            m = p.getMomentum()
            rows.append((m.x, m.y, m.z, p.getMass()))
        return tensor.from_array(np.asarray(rows, dtype=np.float32))

    def view_sum():
        return sum(float(coll.view(f"momentum.{c}").sum()) for c in "xyz") + float(coll.view("mass").sum())

    def best(fn, repeat):
        t = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            out = fn()
            t = min(t, time.perf_counter() - t0)
        return t, out

    t_views, a = best(via_views, 5)
    t_loop, b = best(via_loop, 1)
    t_sum, total = best(view_sum, 5)
    assert np.array_equal(tensor.as_array(a), tensor.as_array(b))  # the same tensor both ways
    assert np.isclose(total, float(tensor.as_array(a).astype(np.float64).sum()), rtol=1e-4)
    elements = n * 4
    res = {
        "startup_cold_cache_s": round(cold, 2),
        "startup_warm_cache_s": round(warm, 2),
        "objects": n,
        "elements_touched": elements,
        "tensor_via_views_s": t_views,
        "tensor_via_python_loop_s": t_loop,
        "views_sum_only_s": t_sum,
        "ns_per_element_views": 1e9 * t_views / elements,
        "ns_per_element_python_loop": 1e9 * t_loop / elements,
        "ns_per_element_views_sum": 1e9 * t_sum / elements,
        "speedup_views_vs_loop": t_loop / t_views,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "edm.json").write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
