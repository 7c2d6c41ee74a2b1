"""EDM start-up and view costs.

- import + datamodel compile time with a cold cache (fresh cache folder: rootcling + g++) and a
  warm one (load the cached library), each in a fresh interpreter;
- building a numpy view of `momentum.x` over a 1M-element MCParticle collection versus reading
  the same values with a Python loop over the objects.

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

    edm.load()
    n = 1_000_000
    coll = edm.edm4hep.MCParticleCollection()
    coll.m_data.resize(n)  # C++ side fill: the benchmark is about reading
    data = coll.data_view()
    data["momentum"]["x"] = np.arange(n, dtype=np.float64)
    del data

    t0 = time.perf_counter()
    for _ in range(100):
        v = coll.view("momentum.x")
    t_view = (time.perf_counter() - t0) / 100
    assert v[n - 1] == n - 1
    del v

    m = 100_000  # the loop is slow: time a tenth and scale
    t0 = time.perf_counter()
    vals = [coll[i].getMomentum().x for i in range(m)]
    t_loop = (time.perf_counter() - t0) * (n / m)
    assert vals[-1] == m - 1

    res = {
        "startup_cold_cache_s": round(cold, 2),
        "startup_warm_cache_s": round(warm, 2),
        "view_1M_momentum_x_s": t_view,
        "python_loop_1M_momentum_x_s": round(t_loop, 2),
        "view_speedup": round(t_loop / t_view),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "edm.json").write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
