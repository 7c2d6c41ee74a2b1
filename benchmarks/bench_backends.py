"""Events/s against BatchSize: MLInference in the event loop next to onnxruntime and torch called directly.

    python -m benchmarks.bench_backends [--events 10240]

The network of bench_inference (MLP 11-64-64-2, float32, 5 rows per event), one intra-op and one
inter-op thread everywhere. For each BatchSize K in 1, 16, 256 and all events:
- onnxruntime direct: `InferenceSession.run` on the same rows cut into K-event batches (the anchor);
- torch direct: the same network (TorchScript, `inference_mode`) on the same batches (backends side by side);
- MLInference in the event loop: `framework.run([tensor producer, MLInference(BatchSize=K)])`; the step's
  time as the loop records it (wall), and the CPU time of the run minus that of the producer-only run.
Writes benchmarks/results/backends.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks.bench_inference import N_FEATURES, ROWS_PER_EVENT, build_model

RESULTS = Path(__file__).resolve().parent / "results" / "backends.json"
BATCHES = [1, 16, 256, 0]  # 0: all events in one call


def _per_event(fn, batches: list[np.ndarray], events: int, repeat: int = 3) -> dict:
    best_wall, best_cpu = float("inf"), float("inf")
    fn(batches[0])  # warm-up
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        for b in batches:
            fn(b)
        best_wall = min(best_wall, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return {
        "per_event_us": 1e6 * best_wall / events,
        "per_event_cpu_us": 1e6 * best_cpu / events,
        "events_per_s": events / best_wall,
        "events_per_cpu_s": events / best_cpu,
        "model_calls": len(batches),
    }


def in_loop(onnx: Path, x: np.ndarray, events: int, k: int) -> dict:
    from k4mlinference.edm import tensor
    from k4mlinference.framework import Output, Producer, run
    from k4mlinference.framework.component import CONFIGURED
    from k4mlinference.inference.algorithm import MLInference

    class Rows(Producer):
        OutputCollection = Output("X", type="edm4eic::TensorCollection")

        def __call__(self):
            i = self.event_number
            return tensor.from_array(x[i * ROWS_PER_EVENT : (i + 1) * ROWS_PER_EVENT])

    def once(with_ml: bool) -> tuple[float, float, float]:
        CONFIGURED.clear()
        algs = [Rows("Rows")]
        if with_ml:
            algs.append(
                MLInference(
                    "ML",
                    ModelPath=str(onnx),
                    InputCollections=["X"],
                    OutputCollections=["Y"],
                    BatchSize=k or events,
                    SharedSession=False,
                )  # fmt: skip
            )
        run(algs, evt_max=min(events, 300))  # warm-up
        CONFIGURED.clear()
        algs = [type(a)(a.name, **a.property_values()) for a in algs]
        c0 = time.process_time()
        res = run(algs, evt_max=events)
        cpu = time.process_time() - c0
        step = res.timing["ML"][0] if with_ml else 0.0
        return cpu, step, res.seconds

    cpu_ml, step, _ = min(once(True) for _ in range(2))
    cpu_base = min(once(False)[0] for _ in range(2))
    return {
        "step_per_event_us": 1e6 * step / events,
        "step_events_per_s": events / step,
        "step_cpu_per_event_us": 1e6 * (cpu_ml - cpu_base) / events,
        "step_events_per_cpu_s": events / max(cpu_ml - cpu_base, 1e-9),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10240)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    import onnxruntime as ort
    import torch

    from k4mlinference.framework import messages

    messages.set_level(messages.WARNING)
    torch.set_num_threads(1)
    n = args.events
    rng = np.random.default_rng(42)
    x = rng.standard_normal((n * ROWS_PER_EVENT, N_FEATURES)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        onnx, ts_path, _ = build_model(Path(tmp))
        so = ort.SessionOptions()
        so.intra_op_num_threads = so.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(onnx), so, providers=["CPUExecutionProvider"])
        ts = torch.jit.load(str(ts_path)).eval()

        def run_torch(b):
            with torch.inference_mode():
                return ts(torch.from_numpy(b)).numpy()

        rows = {}
        for k in BATCHES:
            kk = k or n
            batches = [x[a * ROWS_PER_EVENT : (a + kk) * ROWS_PER_EVENT] for a in range(0, n, kk)]
            rows[str(k or "all")] = {
                "batch_events": kk,
                "onnxruntime_direct": _per_event(lambda b: sess.run(None, {"x": b}), batches, n),
                "torch_direct": _per_event(run_torch, batches, n),
                "mlinference_in_loop": in_loop(onnx, x, n, k),
            }
    res = {
        "events": n,
        "rows_per_event": ROWS_PER_EVENT,
        "model": "MLP 11-64-64-2 (ReLU), float32",
        "threads": "1 intra-op, 1 inter-op; torch.set_num_threads(1)",
        "onnxruntime": ort.__version__,
        "torch": torch.__version__,
        "batch_size": rows,
        "load_average_1min": os.getloadavg()[0],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
