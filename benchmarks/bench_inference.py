"""Inference throughput: MLInference's batching across events against onnxruntime called directly.

Model: an MLP with 11 inputs, two hidden layers of 64 and 2 outputs (torch -> ONNX, TorchScript).
Data: 20,000 events of 5 rows each, one edm4eic::Tensor collection per event.

Measured in one run (single-threaded backends everywhere: 1 intra-op, 1 inter-op thread):
- onnxruntime direct on all 100,000 rows in one call (no per-call or per-event cost, but the 256-event batches below are faster: they stay in cache);
- onnxruntime direct on the same rows cut into 256-event batches (1,280 rows per call);
- MLInference on Tensor collections with BatchSize 1, 16, 256 and all events, driven the way the
  event loop drives it (process_batch on consecutive blocks of BatchSize events); both the whole
  algorithm (gather from the collections, model call, scatter into new output collections) and the
  inference step inside it (Model.run: contract checks + backend call) are timed;
- torch (TorchScript, inference_mode) on all rows and on the same 256-event batches;
- MLInference at BatchSize 1 and 256 with the ONNX Runtime backend's IO binding through onnxruntime's
  public Python API instead of its compiled layer (`native_binding`), to show what that path costs;
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


class _Timed:
    """Wraps a callable and sums the time spent in it (to time the inference step inside MLInference)."""

    def __init__(self, fn) -> None:
        self.fn = fn
        self.reset()

    def reset(self) -> None:
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


class Case:
    """One measured configuration; `once()` runs it over all events and returns its timings."""

    def __init__(self, name: str, body, timer: _Timed | None = None, calls: int = 0) -> None:
        self.name, self.body, self.timer, self.calls = name, body, timer, calls
        self.best: dict[str, float] = {}

    def once(self) -> None:
        if self.timer is not None:
            self.timer.reset()
        c0 = time.thread_time()
        t0 = time.perf_counter()
        self.body()
        got = {"total_s": time.perf_counter() - t0, "total_cpu_s": time.thread_time() - c0}
        if self.timer is not None:
            got.update(step_s=self.timer.seconds, step_cpu_s=self.timer.cpu_seconds)
            self.calls = self.timer.calls
        for k, v in got.items():  # the least disturbed round of each figure (the host is shared)
            self.best[k] = min(self.best.get(k, float("inf")), v)


def mlinference_case(
    name: str,
    onnx_path: Path,
    colls: list,
    batch_size: int,
    direct_session: Any = None,
    nan_policy: str = "raise",
    native_binding: bool = True,
) -> Case:
    """MLInference over `colls` in blocks of `batch_size` events, as the event loop calls process_batch.
    With `direct_session`, the model call inside the chain is replaced by onnxruntime's own
    `InferenceSession.run` on the same gathered batch (no contract checks, no IO binding): the direct
    call under the same cache conditions as MLInference's. `native_binding=False`: the backend's IO binding
    through onnxruntime's public Python API instead of its compiled layer."""
    from k4mlinference.inference.algorithm import MLInference

    alg = MLInference(f"BenchInference{next(_names)}", ModelPath=str(onnx_path), InputCollections=["X"],
                      OutputCollections=["Y"], BatchSize=batch_size, SharedSession=False, NanPolicy=nan_policy)  # fmt: skip
    alg.initialize()
    alg.model.backend.native_binding = native_binding
    events = [([c],) for c in colls]
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

    def body() -> None:
        for block in blocks:
            alg.process_batch(block)

    case = Case(name, body, timer)
    case.batch_size = k
    return case


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


def _cpu_us(fn, n: int = 4000, repeat: int = 3) -> float:
    """Best-of-`repeat` CPU microseconds per call of fn()."""
    best = float("inf")
    for _ in range(repeat):
        c0 = time.thread_time()
        for _ in range(n):
            fn()
        best = min(best, time.thread_time() - c0)
    return best / n * 1e6


def per_event_parts(onnx_path: Path, colls: list, sess: Any) -> dict:
    """What bounds MLInference: the per-event steps it cannot skip, each timed alone (CPU us per call) next to
    onnxruntime's own `InferenceSession.run` on one event (the BatchSize=1 anchor)."""
    from k4mlinference.edm import tensor
    from k4mlinference.inference.model import load_model

    model = load_model(str(onnx_path))
    coll = colls[0]
    x = tensor.view(coll)
    feeds = {"x": x}
    model.run(feeds)  # confirms the output plan
    model.check(feeds)  # the contract, once per signature
    shape = model.backend.planned_output_shapes(feeds)
    out_name = model.output_names[0]
    y = np.empty(shape[out_name], np.float32)
    block = np.zeros((256 * ROWS_PER_EVENT, 2), np.float32)
    rows = np.full(256, ROWS_PER_EVENT, np.int64)
    return {
        "onnxruntime_session_run_one_event": _cpu_us(lambda: sess.run(None, feeds)),
        "input_view_of_the_collection": _cpu_us(lambda: tensor.view(coll)),
        "output_collection_made_and_sized": _cpu_us(lambda: tensor.new_emplaced(shape[out_name], np.float32)),
        "nan_scan_inputs_and_outputs": _cpu_us(lambda: (model.check(feeds), model.check_outputs({out_name: y}))),
        "backend_run_io_binding_into_buffer": _cpu_us(lambda: model.backend.run(feeds, out={out_name: y})),
        "per_event_share_of_256_output_collections": _cpu_us(lambda: tensor.scatter_new(block, rows), n=200) / 256,
        "per_event_share_of_256_input_descriptions": _cpu_us(lambda: tensor.describe_many(colls[:256]), n=200) / 256,
    }


def main(n_events: int = 20_000, rounds: int = 5, loop_events: int = 2560) -> dict:
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
        "method": f"{rounds} rounds, every configuration once per round (round robin); the minimum per figure is kept. "
        "Wall times (perf_counter) and this thread's CPU times (thread_time) are both given: the host's 2 cores are "
        "shared with other jobs, and CPU time is blind to them taking the core.",
    }
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path, ts_path, _ = build_model(Path(tmp))
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
        sess.run(None, {"x": x_all[:10]})
        k = 256
        batches = [x_all[a * ROWS_PER_EVENT : min(a + k, n_events) * ROWS_PER_EVENT] for a in range(0, n_events, k)]
        ts = torch.jit.load(str(ts_path))
        xt = torch.from_numpy(x_all)

        def direct_all():
            sess.run(None, {"x": x_all})

        def direct_batches():
            for b in batches:
                sess.run(None, {"x": b})

        def torch_all():
            with torch.inference_mode():
                ts(xt)

        def torch_batches():
            with torch.inference_mode():
                for b in batches:
                    ts(torch.from_numpy(b))

        torch_all()
        cases = [
            Case("ort_direct_all_rows", direct_all, calls=1),
            Case("ort_direct_256_event_batches", direct_batches, calls=len(batches)),
            Case("torch_all_rows", torch_all, calls=1),
            Case("torch_256_event_batches", torch_batches, calls=len(batches)),
            mlinference_case("mlinference_1", onnx_path, colls, 1),
            mlinference_case("mlinference_16", onnx_path, colls, 16),
            mlinference_case("mlinference_256", onnx_path, colls, 256),
            mlinference_case("mlinference_all", onnx_path, colls, 0),
            mlinference_case("ort_direct_in_chain_256", onnx_path, colls, 256, direct_session=sess),
            mlinference_case("mlinference_256_no_nan_scan", onnx_path, colls, 256, nan_policy="ignore"),
            mlinference_case("public_binding_1", onnx_path, colls, 1, native_binding=False),
            mlinference_case("public_binding_256", onnx_path, colls, 256, native_binding=False),
        ]
        for _ in range(rounds):
            for case in cases:
                case.once()
        for case in cases:
            b = case.best
            r: dict[str, Any] = {
                "model_calls": case.calls,
                "total_s": b["total_s"],
                "per_event_us": b["total_s"] / n_events * 1e6,
                "per_event_cpu_us": b["total_cpu_s"] / n_events * 1e6,
                "events_per_s": n_events / b["total_s"],
            }
            if case.calls:
                r["per_call_us"] = b.get("step_s", b["total_s"]) / case.calls * 1e6
            if case.timer is not None:
                r.update(
                    batch_size=case.batch_size,
                    inference_step_per_call_us=b["step_s"] / case.calls * 1e6,
                    inference_step_cpu_per_call_us=b["step_cpu_s"] / case.calls * 1e6,
                    edm_overhead_per_event_us=(b["total_s"] - b["step_s"]) / n_events * 1e6,
                )
            key = case.name
            if key == "mlinference_256_no_nan_scan":
                out[key] = r
            elif key.startswith("public_binding_"):
                out.setdefault("onnxruntime_public_binding", {})[key.rsplit("_", 1)[1]] = r
            elif key.startswith("mlinference_"):
                out.setdefault("mlinference", {})[key.split("_", 1)[1]] = r
            else:
                out[key] = r
        out["ort_direct_in_chain_256"]["what"] = (
            "the MLInference chain with BatchSize=256, its model call replaced by InferenceSession.run"
        )
        out["per_event_parts_cpu_us"] = per_event_parts(onnx_path, colls, sess)
        try:
            # the loop's producer builds every input tensor in Python: a fraction of the events is enough
            out["event_loop_batch256"] = bench_event_loop(onnx_path, x_all, min(n_events, loop_events), 256)
        except Exception as e:  # the framework is developed in parallel: report, do not fail the benchmark
            out["event_loop_batch256"] = {"skipped": f"{type(e).__name__}: {e}"}

    m = out["mlinference"]
    chain = out["ort_direct_in_chain_256"]
    step, step_cpu = m["256"]["inference_step_per_call_us"], m["256"]["inference_step_cpu_per_call_us"]
    ratio = step / chain["inference_step_per_call_us"]
    ratio_cpu = step_cpu / chain["inference_step_cpu_per_call_us"]
    no_scan = out["mlinference_256_no_nan_scan"]["inference_step_per_call_us"]
    tput = m["1"]["per_event_us"] / m["256"]["per_event_us"]
    tput_cpu = m["1"]["per_event_cpu_us"] / m["256"]["per_event_cpu_us"]
    out["targets"] = {
        "inference_step_vs_direct_at_256": {
            "mlinference_step_per_call_us": step,
            "ort_direct_in_same_chain_per_call_us": chain["inference_step_per_call_us"],
            "ratio": ratio,
            "ratio_cpu_time": ratio_cpu,
            "ort_direct_standalone_loop_per_call_us": out["ort_direct_256_event_batches"]["per_call_us"],
            "ratio_vs_standalone_loop": step / out["ort_direct_256_event_batches"]["per_call_us"],
            "ratio_without_nan_scan": no_scan / chain["inference_step_per_call_us"],
            "target": "<= 1.10",
            "met": ratio <= 1.10,
            "note_nan_scan": "the default NanPolicy=raise scans every input value for NaN/inf before the call; "
            "NanPolicy=ignore skips that pass",
            "note": "the standalone loop runs back to back with warm caches; inside the chain the EDM work "
            "between calls evicts weights and activations from the caches, which slows any model call",
        },
        "whole_algorithm_vs_direct_at_256": {
            "ratio": m["256"]["total_s"] / out["ort_direct_256_event_batches"]["total_s"],
            "note": "includes gathering rows from 20,000 Tensor collections and creating 20,000 output collections",
        },
        "throughput_256_vs_1": {"ratio": tput, "ratio_cpu_time": tput_cpu, "target": ">= 10", "met": tput >= 10},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "inference.json").write_text(json.dumps(out, indent=2) + "\n")
    return out


def _print(out: dict) -> None:
    print(f"{out['events']} events x {out['rows_per_event']} rows, {out['model']}, {out['machine']['threads']}")

    def line(label: str, r: dict, extra: str = "") -> None:
        print(f"  {label:<44}: {r['total_s'] * 1e3:8.1f} ms {r['per_event_us']:7.2f} us/event "
              f"(CPU {r['per_event_cpu_us']:6.2f}){extra}")  # fmt: skip

    line("onnxruntime direct, all rows in 1 call", out["ort_direct_all_rows"])
    d = out["ort_direct_256_event_batches"]
    line("onnxruntime direct, 256-event batches", d, f"  {d['per_call_us']:.1f} us/call")
    for key, r in out["mlinference"].items():
        line(
            f"MLInference BatchSize={key} ({r['model_calls']} calls)",
            r,
            f"  step {r['inference_step_per_call_us']:.1f} us/call (CPU {r['inference_step_cpu_per_call_us']:.1f}), "
            f"EDM {r['edm_overhead_per_event_us']:.2f} us/event",
        )
    c = out["ort_direct_in_chain_256"]
    line("chain with onnxruntime direct, 256", c, f"  step {c['inference_step_per_call_us']:.1f} us/call "
         f"(CPU {c['inference_step_cpu_per_call_us']:.1f})")  # fmt: skip
    c = out["mlinference_256_no_nan_scan"]
    line("MLInference 256, NanPolicy=ignore", c, f"  step {c['inference_step_per_call_us']:.1f} us/call "
         f"(CPU {c['inference_step_cpu_per_call_us']:.1f})")  # fmt: skip
    for key, r in out.get("onnxruntime_public_binding", {}).items():
        line(f"same, public IO-binding API, BatchSize={key}", r,
             f"  step {r['inference_step_per_call_us']:.1f} us/call (CPU {r['inference_step_cpu_per_call_us']:.1f})")  # fmt: skip
    line("torch, all rows in 1 call", out["torch_all_rows"])
    line("torch, 256-event batches", out["torch_256_event_batches"])
    loop = out.get("event_loop_batch256") or {}
    if "mlinference_s" in loop:
        print(f"  event loop, MLInference BatchSize=256       : {loop['mlinference_per_event_us']:7.2f} us/event over "
              f"{loop['events']} events (whole loop incl. producer {loop['whole_loop_s']:.2f} s)")  # fmt: skip
    else:
        print(f"  event loop: {loop.get('skipped', 'not run')}")
    t = out["targets"]
    a = t["inference_step_vs_direct_at_256"]
    print(f"  target: inference step / direct (same chain) at 256 = {a['ratio']:.3f} wall, {a['ratio_cpu_time']:.3f} CPU "
          f"(<= 1.10: {'met' if a['met'] else 'NOT met'}); vs standalone direct loop {a['ratio_vs_standalone_loop']:.3f}; "
          f"without the NaN/inf scan {a['ratio_without_nan_scan']:.3f}")  # fmt: skip
    b = t["throughput_256_vs_1"]
    print(f"  target: per-event throughput 256 vs 1 = {b['ratio']:.1f}x wall, {b['ratio_cpu_time']:.1f}x CPU "
          f"(>= 10: {'met' if b['met'] else 'NOT met'})")  # fmt: skip
    print(f"  whole algorithm / direct at 256 = {t['whole_algorithm_vs_direct_at_256']['ratio']:.2f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--loop-events", type=int, default=2560, help="events for the framework event-loop figure")
    args = ap.parse_args()
    _print(main(args.events, args.rounds, args.loop_events))
    print(f"written {RESULTS / 'inference.json'}")
