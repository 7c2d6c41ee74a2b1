"""Memory soak: run a demo chain with output for many events and print the RSS as it goes.

    python benchmarks/soak_memory.py                      # gun_digitize.py, 200,000 events, with output
    python benchmarks/soak_memory.py -n 20000 --marks 2000,10000,20000
    python benchmarks/soak_memory.py --options options/calo_pid_inference.py --set PIDInference.ModelPath=m.onnx

Passes (exit 0) when the RSS at the end is within 5% (or 50 MB, whichever is larger) of the RSS
after the first 10,000 events (or the first mark), as the reliability issue asks. The output file
goes to a temporary folder and is deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def rss_mb(field: str = "VmRSS") -> float:
    """Resident set size of this process (or another /proc/self/status field, e.g. RssAnon: the
    heap and other private memory, without shared libraries the kernel may evict), in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def configure(options: str, n: int, output: str, settings: list[str]):
    """Run the options file as k4run does and return the configured application."""
    from k4mlinference.framework import app as appmod
    from k4mlinference.framework import cli
    from k4mlinference.framework.component import REGISTRY

    cli.install_shims()
    REGISTRY.clear()
    saved, sys.argv = sys.argv, ["k4run", options]
    try:
        runpy.run_path(options, run_name="__k4run__")
    finally:
        sys.argv = saved
    application = appmod.collect()
    application.app.EvtMax = n
    application.app.OutputLevel = 4  # WARNING: no per-run INFO lines in the soak's output
    application.iosvc.Output = output
    for item in settings:
        key, _, value = item.partition("=")
        comp, _, prop = key.partition(".")
        target = next(c for c in [application.app, application.iosvc, *application.algorithms] if c.name == comp)
        target.set_property(prop, type(target.get_property(prop))(value))
    return application


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--options", default=str(REPO / "options" / "gun_digitize.py"))
    ap.add_argument("-n", type=int, default=200_000)
    ap.add_argument("--marks", default="10000,100000,200000", help="event counts at which to print the RSS")
    ap.add_argument("--every", type=int, default=0, help="also print the RSS every N events")
    ap.add_argument("--set", action="append", default=[], help="Comp.Prop=value (repeatable)")
    args = ap.parse_args()
    marks = sorted({int(m) for m in args.marks.split(",") if int(m) <= args.n} | {args.n})

    from k4mlinference.framework import app as appmod

    with tempfile.TemporaryDirectory(prefix="k4ml-soak-") as tmp:
        output = os.path.join(tmp, "soak.root")
        application = configure(args.options, args.n, output, args.set)
        seen: dict[int, float] = {}
        last_every = [0]
        t0 = time.perf_counter()

        def progress(done: int) -> None:
            due = [m for m in marks if m <= done and m not in seen]
            step = done // args.every if args.every else 0
            for m in due:
                seen[m] = rss_mb()
                print(
                    f"{m:>9} events  RSS {seen[m]:8.1f} MB  (anonymous {rss_mb('RssAnon'):8.1f} MB)"
                    f"  {time.perf_counter() - t0:7.1f} s",
                    flush=True,
                )
            if args.every and not due and step > last_every[0]:
                print(f"{done:>9} events  RSS {rss_mb():8.1f} MB  (anonymous {rss_mb('RssAnon'):8.1f} MB)", flush=True)
            last_every[0] = step

        print(f"soak: {args.options}, {args.n} events, output {output}; RSS at start {rss_mb():.1f} MB", flush=True)
        appmod.run_application(application, progress=progress)
        size = os.path.getsize(output) / 1e6
    first, last = seen[marks[0]], seen[marks[-1]]
    limit = max(0.05 * first, 50.0)
    ok = abs(last - first) <= limit
    print(
        f"RSS {first:.1f} MB at {marks[0]} events -> {last:.1f} MB at {marks[-1]} events: "
        f"{last - first:+.1f} MB (limit {limit:.1f} MB) {'PASS' if ok else 'FAIL'}; output was {size:.0f} MB"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
