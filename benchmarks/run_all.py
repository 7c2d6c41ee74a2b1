"""`make bench`: run every benchmark (each in its own interpreter) and summarise the figures.

Each benchmark writes its own JSON file under benchmarks/results/; this script then writes
benchmarks/results/SUMMARY.md with the headline numbers that the README quotes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BENCHES = ["bench_edm", "bench_io", "bench_framework", "bench_inference"]


def _load(name: str) -> dict:
    p = RESULTS / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else {}


def summary() -> str:
    edm, io, fw, inf = _load("edm"), _load("io"), _load("framework"), _load("inference")
    lines = ["# Benchmark summary (2-core CPU machine)", ""]
    if edm:
        lines += [
            "## EDM",
            f"- import + datamodel load: cold cache {edm['startup_cold_cache_s']} s (rootcling + g++), "
            f"warm cache {edm['startup_warm_cache_s']} s",
            f"- view of `momentum.x` over 1M MCParticles: {edm['view_1M_momentum_x_s'] * 1e6:.1f} µs; "
            f"Python loop over the objects: {edm['python_loop_1M_momentum_x_s']} s",
            "",
        ]
    if io:
        lines += [
            "## I/O (10,000 events x 50 MCParticles)",
            f"- read (our Reader, whole collections + relations): {io['read_k4ml']['events_per_s']:,} events/s, "
            f"{io['read_k4ml']['MB_per_s']} MB/s",
            f"- uproot, same branches into awkward: {io['read_uproot_awkward']['events_per_s']:,} events/s",
            f"- write: {io['write']['events_per_s']:,} events/s, {io['write']['MB_per_s']} MB/s",
            "",
        ]
    if fw:
        ov, par = fw.get("overhead", {}), fw.get("parallel", {})
        lines += [
            "## Framework",
            f"- overhead per event per algorithm: Python Transformer "
            f"{ov.get('python_transformer_us_per_event_per_algorithm', float('nan')):.1f} µs, C++ Transformer "
            f"{ov.get('cpp_transformer_us_per_event_per_algorithm', float('nan')):.1f} µs",
            f"- `--ncpus 2` vs `--ncpus 1` speed-up: {par.get('speedup', float('nan')):.2f} "
            f"({par.get('events', '?')} events, wall time incl. start-up and merge)",
            "",
        ]
    if inf:
        ml, t = inf.get("mlinference", {}), inf.get("targets", {})
        lines += ["## Inference (MLP 11-64-64-2, 5 rows per event)"]
        lines.append(
            f"- onnxruntime direct, all rows in one call: {inf['ort_direct_all_rows']['events_per_s']:,.0f} events/s; "
            f"on 256-event batches: {inf['ort_direct_256_event_batches']['events_per_s']:,.0f} events/s"
        )
        for k, v in ml.items():
            lines.append(f"- MLInference BatchSize={k}: {v['events_per_s']:,.0f} events/s")
        if "torch_all_rows" in inf:
            lines.append(f"- torch, all rows: {inf['torch_all_rows']['events_per_s']:,.0f} events/s")
        step = t.get("inference_step_vs_direct_at_256", {})
        thr = t.get("throughput_256_vs_1", {})
        if step:
            lines.append(
                f"- inference step at BatchSize=256 / onnxruntime direct on the same batches: {step['ratio']:.3f}"
            )
        if thr:
            lines.append(f"- throughput BatchSize=256 / BatchSize=1: {thr['ratio']:.1f}x")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    for name in sys.argv[1:] or BENCHES:
        t0 = time.perf_counter()
        print(f"== {name}", flush=True)
        subprocess.run([sys.executable, "-m", f"benchmarks.{name}"], check=True, cwd=HERE.parent)
        print(f"== {name} done in {time.perf_counter() - t0:.0f} s", flush=True)
    text = summary()
    (RESULTS / "SUMMARY.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
