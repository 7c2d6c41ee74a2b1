"""Inference throughput: MLInference's batching across events against onnxruntime called directly.

Model: an MLP with 11 inputs, two hidden layers of 64 and 2 outputs (torch -> ONNX, TorchScript).
Data: 20,000 events of 5 rows each, one edm4eic::Tensor collection per event.

Measured in one run (single-threaded backends everywhere: 1 intra-op, 1 inter-op thread):
- onnxruntime direct on all 100,000 rows in one call (the limit: no per-call or per-event cost);
- onnxruntime direct on the same rows cut into 256-event batches (1,280 rows per call);
- MLInference on Tensor collections with BatchSize 1, 16, 256 and all events, driven the way the
  event loop drives it (process_batch on consecutive blocks of BatchSize events); both the whole
  algorithm (gather from the collections, model call, scatter into new output collections) and the
  inference step inside it (Model.run: contract checks + backend call) are timed;
- torch (TorchScript, inference_mode) on all rows and on the same 256-event batches;
- if the framework's event loop is importable, MLInference with BatchSize 256 inside
  `k4mlinference.framework.run` (a producer makes the input tensors; the loop's own timing of the
  MLInference step is reported).

Targets: with BatchSize=256 the inference step within 10% of onnxruntime direct on the same batches;
BatchSize=256 at least 10x the per-event throughput of BatchSize=1.

    python -m benchmarks.bench_inference [--events N]      -> benchmarks/results/inference.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
ROWS_PER_EVENT = 5
N_FEATURES = 11
_names = itertools.count()


def build_model(folder: Path) -> tuple[Path, Path, Any]:
    import torch

    torch.manual_seed(0)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(N_FEATURES, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 2),
    ).eval()
    x = torch.randn(4, N_FEATURES)
    onnx_path = folder / "mlp.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(mlp, (x,), str(onnx_path), input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=17, dynamo=False)  # fmt: skip
        ts = torch.jit.trace(mlp, x)
    ts_path = folder / "mlp.pt"
    ts.save(str(ts_path))
    return onnx_path, ts_path, mlp


def _best(fn, reps: int) -> float:
    """Smallest wall time of `reps` runs (the machine is shared: the minimum is the least disturbed)."""
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


class _Timed:
    """Wraps a callable and sums the time spent in it (to time the inference step inside MLInference)."""

    def __init__(self, fn) -> None:
        self.fn = fn
        self.seconds = 0.0
        self.cpu_seconds = 0.0  # this thread's CPU time: blind to other processes taking the core
        self.calls = 0

    def __call__(self, *a, **k):
        c0 = time.thread_time()
        t0 = time.perf_counter()
        try:
            return self.fn(*a, **k)
        finally:
            self.seconds += time.perf_counter() - t0
            self.cpu_seconds += time.thread_time() - c0
            self.calls += 1


def bench_mlinference(onnx_path: Path, colls: list, batch_size: int, reps: int, direct_session: Any = None) -> dict:
    """MLInference over `colls` in blocks of `batch_size` events. With `direct_session`, the model call
    inside the chain is replaced by onnxruntime's own `InferenceSession.run` on the same gathered
    batch (no contract checks, no IO binding): the direct call under the same cache conditions."""
    from k4mlinference.inference.algorithm import MLInference

    alg = MLInference(f"BenchInference{next(_names)}", ModelPath=str(onnx_path), InputCollections=["X"],
                      OutputCollections=["Y"], BatchSize=batch_size, SharedSession=False)  # fmt: skip
    alg.initialize()
    events = [([c], []) for c in colls]
    k = batch_size if batch_size > 0 else len(events)
    blocks = [events[a : a + k] for a in range(0, len(events), k)]
    alg.process_batch(blocks[0])  # warm-up
    fn = alg.model.run
    if direct_session is not None:
        names = alg.model.output_names

        def fn(feeds, out=None, check=True, **_):
            return dict(zip(names, direct_session.run(None, feeds)))

    timer = _Timed(fn)
    alg.model.run = timer  # instance attribute: the engine calls self.model.run

    best_total, best_step, best_cpu, calls = float("inf"), float("inf"), float("inf"), 0
    for _ in range(reps):
        timer.seconds, timer.cpu_seconds, timer.calls = 0.0, 0.0, 0
        t0 = time.perf_counter()
        for block in blocks:
            alg.process_batch(block)
        total = time.perf_counter() - t0
        if total < best_total:
            best_total, calls = total, timer.calls
        best_step = min(best_step, timer.seconds)
        best_cpu = min(best_cpu, timer.cpu_seconds)
    n = len(events)
    return {
        "batch_size": k,
        "events": n,
        "model_calls": calls,
        "total_s": best_total,
        "per_event_us": best_total / n * 1e6,
        "events_per_s": n / best_total,
        "inference_step_s": best_step,
        "inference_step_per_call_us": best_step / max(calls, 1) * 1e6,
        "inference_step_cpu_per_call_us": best_cpu / max(calls, 1) * 1e6,
        "edm_overhead_per_event_us": (best_total - best_step) / n * 1e6,
    }


def bench_event_loop(onnx_path: Path, x_all: np.ndarray, n_events: int, batch_size: int) -> dict | None:
    """MLInference inside the framework's event loop (if the framework is importable)."""
    try:
        from k4mlinference.framework import Output, Producer, run
    except ImportError as e:
        return {"skipped": f"framework not importable: {e}"}
    from k4mlinference.edm import tensor
    from k4mlinference.inference.algorithm import MLInference

    class BenchTensors(Producer):
        """Puts event i's rows of the benchmark data as a Tensor collection."""

        OutputCollection = Output("X", type="edm4eic::TensorCollection")

        def __call__(self):
            i = self.event_number
            return tensor.from_array(x_all[i * ROWS_PER_EVENT : (i + 1) * ROWS_PER_EVENT])

    gen = BenchTensors(f"BenchTensors{next(_names)}")
    name = f"LoopInference{next(_names)}"
    alg = MLInference(name, ModelPath=str(onnx_path), InputCollections=["X"], OutputCollections=["Y"],
                      BatchSize=batch_size, SharedSession=False)  # fmt: skip
    result = run([gen, alg], evt_max=n_events)
    secs, events, calls = result.timing[name]
    return {
        "batch_size": batch_size,
        "events": int(events),
        "mlinference_s": secs,
        "mlinference_per_event_us": secs / max(events, 1) * 1e6,
        "whole_loop_s": result.seconds,
    }


def main(n_events: int = 20_000, reps: int = 3, loop_events: int = 2560) -> dict:
    import onnxruntime as ort
    import torch

    from k4mlinference import edm
    from k4mlinference.edm import tensor

    edm.load()
    torch.set_num_threads(1)
    rng = np.random.default_rng(42)
    x_all = rng.standard_normal((n_events * ROWS_PER_EVENT, N_FEATURES)).astype(np.float32)
    colls = [tensor.from_array(x_all[i * ROWS_PER_EVENT : (i + 1) * ROWS_PER_EVENT]) for i in range(n_events)]
    out: dict[str, Any] = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "onnxruntime": ort.__version__,
            "torch": torch.__version__,
            "threads": "1 intra-op, 1 inter-op (onnxruntime); torch.set_num_threads(1)",
        },
        "model": "MLP 11 -> 64 -> 64 -> 2 (ReLU), float32",
        "events": n_events,
        "rows_per_event": ROWS_PER_EVENT,
        "repetitions": f"best of {reps}",
    }
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path, ts_path, _ = build_model(Path(tmp))
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
        sess.run(None, {"x": x_all[:10]})

        # 1. the limit: every row in one call
        t = _best(lambda: sess.run(None, {"x": x_all}), reps)
        out["ort_direct_all_rows"] = {"calls": 1, "total_s": t, "per_event_us": t / n_events * 1e6}

        # 2. onnxruntime direct on the same 256-event batches (arrays prepared beforehand: no EDM work)
        k = 256
        batches = [x_all[a * ROWS_PER_EVENT : min(a + k, n_events) * ROWS_PER_EVENT] for a in range(0, n_events, k)]

        def direct_batches():
            for b in batches:
                sess.run(None, {"x": b})

        t = _best(direct_batches, reps)
        out["ort_direct_256_event_batches"] = {
            "calls": len(batches),
            "total_s": t,
            "per_call_us": t / len(batches) * 1e6,
            "per_event_us": t / n_events * 1e6,
        }

        # 3. MLInference on Tensor collections. The 256 case alternates with the direct 256-batch loop so
        # that both see the same machine state (the host is shared; the best of each is kept).
        out["mlinference"] = {}
        for bs in (1, 16, 0):
            r = bench_mlinference(onnx_path, colls, bs, reps if bs != 1 else max(1, reps - 1))
            out["mlinference"]["all" if bs == 0 else str(bs)] = r
        best256 = chain_direct = None
        for _ in range(max(reps, 5)):  # alternate, keep the least disturbed round of each
            r = bench_mlinference(onnx_path, colls, 256, 1)
            if best256 is None:
                best256 = r
            else:
                for key in (
                    "total_s",
                    "inference_step_s",
                    "inference_step_per_call_us",
                    "inference_step_cpu_per_call_us",
                ):
                    best256[key] = min(best256[key], r[key])
            r = bench_mlinference(onnx_path, colls, 256, 1, direct_session=sess)
            if chain_direct is None:
                chain_direct = r
            else:
                for key in ("inference_step_per_call_us", "inference_step_cpu_per_call_us", "total_s"):
                    chain_direct[key] = min(chain_direct[key], r[key])
            t = _best(direct_batches, 1)
            d = out["ort_direct_256_event_batches"]
            if t < d["total_s"]:
                d.update(total_s=t, per_call_us=t / len(batches) * 1e6, per_event_us=t / n_events * 1e6)
        best256["per_event_us"] = best256["total_s"] / n_events * 1e6
        best256["events_per_s"] = n_events / best256["total_s"]
        best256["edm_overhead_per_event_us"] = (best256["total_s"] - best256["inference_step_s"]) / n_events * 1e6
        out["mlinference"]["256"] = best256
        out["ort_direct_in_chain_256"] = {
            "what": "the same MLInference chain with BatchSize=256, its model call replaced by InferenceSession.run",
            "calls": chain_direct["model_calls"],
            "per_call_us": chain_direct["inference_step_per_call_us"],
            "cpu_per_call_us": chain_direct["inference_step_cpu_per_call_us"],
            "total_s": chain_direct["total_s"],
        }
        out["mlinference"] = {k: out["mlinference"][k] for k in ("1", "16", "256", "all")}

        # 4. torch on the same rows
        ts = torch.jit.load(str(ts_path))
        xt = torch.from_numpy(x_all)

        def torch_all():
            with torch.inference_mode():
                ts(xt)

        def torch_batches():
            with torch.inference_mode():
                for b in batches:
                    ts(torch.from_numpy(b))

        torch_all()
        t_all = _best(torch_all, reps)
        t_b = _best(torch_batches, reps)
        out["torch_all_rows"] = {"total_s": t_all, "per_event_us": t_all / n_events * 1e6}
        out["torch_256_event_batches"] = {"total_s": t_b, "per_call_us": t_b / len(batches) * 1e6,
                                          "per_event_us": t_b / n_events * 1e6}  # fmt: skip

        # 5. through the framework's event loop
        try:
            # the loop's producer builds every input tensor in Python: a fraction of the events is enough
            out["event_loop_batch256"] = bench_event_loop(onnx_path, x_all, min(n_events, loop_events), 256)
        except Exception as e:  # the framework is developed in parallel: report, do not fail the benchmark
            out["event_loop_batch256"] = {"skipped": f"{type(e).__name__}: {e}"}

    m = out["mlinference"]
    direct = out["ort_direct_256_event_batches"]["per_call_us"]
    in_chain = out["ort_direct_in_chain_256"]["per_call_us"]
    step = m["256"]["inference_step_per_call_us"]
    cpu_ratio = m["256"]["inference_step_cpu_per_call_us"] / out["ort_direct_in_chain_256"]["cpu_per_call_us"]
    out["targets"] = {
        "inference_step_vs_direct_at_256": {
            "mlinference_step_per_call_us": step,
            "ort_direct_in_same_chain_per_call_us": in_chain,
            "ratio": step / in_chain,
            "ratio_cpu_time": cpu_ratio,
            "target": "<= 1.10",
            "met": step / in_chain <= 1.10,
            "ort_direct_standalone_loop_per_call_us": direct,
            "ratio_vs_standalone_loop": step / direct,
            "note": "the standalone loop runs back to back with warm caches; inside the chain the EDM work "
            "between calls evicts the weights and activations from the caches, which slows any model call",
        },
        "whole_algorithm_vs_direct_at_256": {
            "ratio": m["256"]["total_s"] / out["ort_direct_256_event_batches"]["total_s"],
            "note": "includes gathering rows from 20,000 Tensor collections and creating 20,000 output collections",
        },
        "throughput_256_vs_1": {
            "ratio": m["1"]["per_event_us"] / m["256"]["per_event_us"],
            "target": ">= 10",
            "met": m["1"]["per_event_us"] / m["256"]["per_event_us"] >= 10,
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "inference.json").write_text(json.dumps(out, indent=2) + "\n")
    return out


def _print(out: dict) -> None:
    n = out["events"]
    print(f"{n} events x {out['rows_per_event']} rows, {out['model']}, {out['machine']['threads']}")
    d = out["ort_direct_all_rows"]
    print(
        f"  onnxruntime direct, all rows in 1 call      : {d['total_s'] * 1e3:8.1f} ms  {d['per_event_us']:7.2f} us/event"
    )
    d = out["ort_direct_256_event_batches"]
    print(f"  onnxruntime direct, 256-event batches       : {d['total_s'] * 1e3:8.1f} ms  {d['per_event_us']:7.2f} us/event"
          f"  ({d['per_call_us']:.1f} us/call)")  # fmt: skip
    for key, r in out["mlinference"].items():
        print(
            f"  MLInference BatchSize={key:>4} ({r['model_calls']:5d} calls) : {r['total_s'] * 1e3:8.1f} ms  "
            f"{r['per_event_us']:7.2f} us/event  (inference step {r['inference_step_per_call_us']:.1f} us/call, "
            f"EDM gather/scatter {r['edm_overhead_per_event_us']:.2f} us/event)"
        )
    for key in ("torch_all_rows", "torch_256_event_batches"):
        r = out[key]
        print(f"  torch {key[6:]:<36}: {r['total_s'] * 1e3:8.1f} ms  {r['per_event_us']:7.2f} us/event")
    loop = out.get("event_loop_batch256") or {}
    if "mlinference_s" in loop:
        print(f"  event loop, MLInference BatchSize=256       : {loop['mlinference_per_event_us']:7.2f} us/event over "
              f"{loop['events']} events (whole loop incl. producer {loop['whole_loop_s']:.2f} s)")  # fmt: skip
    else:
        print(f"  event loop: {loop.get('skipped', 'not run')}")
    t = out["targets"]
    d = out["ort_direct_in_chain_256"]
    print(f"  onnxruntime direct inside the same chain, 256 : {d['per_call_us']:.1f} us/call "
          f"(CPU {d['cpu_per_call_us']:.1f}); MLInference step {out['mlinference']['256']['inference_step_per_call_us']:.1f} "
          f"(CPU {out['mlinference']['256']['inference_step_cpu_per_call_us']:.1f})")  # fmt: skip
    a = t["inference_step_vs_direct_at_256"]
    print(f"  target: inference step / direct (same chain) at 256 = {a['ratio']:.3f} wall, {a['ratio_cpu_time']:.3f} CPU "
          f"(<= 1.10: {'met' if a['met'] else 'NOT met'}); vs standalone loop {a['ratio_vs_standalone_loop']:.3f}")  # fmt: skip
    b = t["throughput_256_vs_1"]
    print(f"  target: per-event throughput 256 vs 1 = {b['ratio']:.1f}x (>= 10: {'met' if b['met'] else 'NOT met'})")
    print(f"  whole algorithm / direct at 256 = {t['whole_algorithm_vs_direct_at_256']['ratio']:.2f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--loop-events", type=int, default=2560, help="events for the framework event-loop figure")
    args = ap.parse_args()
    _print(main(args.events, args.reps, args.loop_events))
    print(f"written {RESULTS / 'inference.json'}")
