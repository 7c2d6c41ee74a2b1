"""Stopping k4run: SIGTERM, SIGINT, kill -9, and parallel runs, checked on the demo chain.

    python benchmarks/soak_signals.py            # all cases, a PASS/FAIL line each; exit 1 if any fails
    python benchmarks/soak_signals.py term int   # some of them (term, int, kill9, parallel, parallel-ok)

What each case expects:
- term / int: SIGTERM or SIGINT while events are processed -> exit 143 / 130, one line
  "k4run: stopped by SIG... after N events; OUT holds the N completed events", and OUT is a
  readable file with exactly N events (no temporary left);
- kill9: kill -9 leaves no file under the final name (only the hidden temporary); the next run
  removes that temporary (its process is gone) and succeeds;
- parallel: SIGTERM to a `--ncpus 2` driver -> its workers are gone within seconds, exit 143,
  no output, no chunk files, logs or temporaries;
- parallel-ok: a successful `--ncpus 2` run leaves only the merged output in its folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OPTIONS = str(REPO / "options" / "gun_digitize.py")


def k4run(out: Path, n: int, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "k4mlinference.framework.cli", OPTIONS, "-n", str(n), f"--IOSvc.Output={out}"]
    return subprocess.Popen(
        [*cmd, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def wait_for_events(folder: Path, pattern: str, min_bytes: int = 200_000, timeout: float = 600) -> None:
    """Until a temporary (or chunk temporary) matching `pattern` has grown past `min_bytes`."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if any(p.stat().st_size > min_bytes for p in folder.glob(pattern) if p.is_file()):
            return
        time.sleep(0.5)
    raise TimeoutError(f"no {pattern} in {folder} after {timeout} s")


def events_in(path: Path) -> int:
    from k4mlinference.io import Reader

    with Reader(str(path)) as r:
        return r.getEntries("events")


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def case_signal(tmp: Path, signum: int) -> tuple[bool, str]:
    out = tmp / "out.root"
    p = k4run(out, 1_000_000)
    wait_for_events(tmp, ".out.root.*.tmp")
    p.send_signal(signum)
    _, err = p.communicate(timeout=600)
    lines = [ln for ln in err.splitlines() if ln.startswith("k4run:")]
    n = events_in(out) if out.exists() else -1
    leftovers = [x.name for x in tmp.iterdir() if x.name != "out.root"]
    said = int(lines[-1].split(" after ")[1].split()[0]) if lines and " after " in lines[-1] else -2
    ok = p.returncode == 128 + signum and n == said and n > 0 and not leftovers and len(lines) == 1
    return ok, f"rc {p.returncode}, message {lines!r}, file holds {n} events, leftovers {leftovers}"


def case_kill9(tmp: Path) -> tuple[bool, str]:
    out = tmp / "out.root"
    p = k4run(out, 1_000_000)
    wait_for_events(tmp, ".out.root.*.tmp")
    p.kill()
    p.wait()
    stale = [x.name for x in tmp.glob(".out.root.*.tmp")]
    final_absent = not out.exists()
    q = k4run(out, 20)
    q.communicate(timeout=600)
    left = [x.name for x in tmp.glob(".out.root.*.tmp")]
    ok = final_absent and bool(stale) and q.returncode == 0 and not left and events_in(out) == 20
    return (
        ok,
        f"after kill -9: final file absent {final_absent}, temporaries {stale}; next run rc {q.returncode}, left {left}",
    )


def case_parallel(tmp: Path) -> tuple[bool, str]:
    out = tmp / "par.root"
    p = k4run(out, 1_000_000, "--ncpus", "2")
    wait_for_events(tmp, ".par.chunk*.tmp")
    workers = children_of(p.pid)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=600)
    time.sleep(2)
    alive = [w for w in workers if Path(f"/proc/{w}").exists()]
    left = sorted(x.name for x in tmp.iterdir())
    lines = [ln for ln in err.splitlines() if ln.startswith("k4run:")]
    ok = p.returncode == 143 and not alive and not left and bool(workers)
    return ok, f"rc {p.returncode}, workers {workers} alive after: {alive}, files left {left}, message {lines!r}"


def case_parallel_ok(tmp: Path) -> tuple[bool, str]:
    out = tmp / "par.root"
    p = k4run(out, 40, "--ncpus", "2")
    _, err = p.communicate(timeout=900)
    left = sorted(x.name for x in tmp.iterdir())
    ok = p.returncode == 0 and left == ["par.root"] and events_in(out) == 40
    return ok, f"rc {p.returncode}, files {left}" + ("" if p.returncode == 0 else f"; {err.strip()[-300:]}")


CASES = {
    "term": lambda t: case_signal(t, signal.SIGTERM),
    "int": lambda t: case_signal(t, signal.SIGINT),
    "kill9": case_kill9,
    "parallel": case_parallel,
    "parallel-ok": case_parallel_ok,
}


def main() -> int:
    names = sys.argv[1:] or list(CASES)
    failed = 0
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"k4ml-signals-{name}-") as tmp:
            ok, text = CASES[name](Path(tmp))
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'} {name}: {text}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
