"""Damaged real files never crash the process: every failure is a Python exception naming the
file, the collection and the entry.

The real podio 1.7 TTree file is overwritten (zeros, random bytes, 0xff) at several offsets and
truncated at several lengths; one subprocess (so that a crash fails the test instead of killing
pytest) reads every collection of every entry of each damaged copy. It runs under an address-space
limit, as a batch job does: a garbage size that asks ROOT for more memory than that becomes
std::bad_alloc, which is reported like any other read error.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

READ_ALL = textwrap.dedent(
    """
    import json, resource, sys, warnings
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
    warnings.simplefilter("ignore")
    from k4mlinference.io import PodioFileError, Reader

    results = {}
    for path in sys.argv[1:]:
        errors = []
        try:
            reader = Reader(path)
            for cat in reader.categories:
                for frame in reader.get(cat):
                    for name in frame.getAvailableCollections():
                        try:
                            frame.get(name)
                        except PodioFileError as exc:
                            errors.append(("collection", name, frame.entry, str(exc)))
            reader.close()
        except (PodioFileError, KeyError) as exc:
            errors.append(("file", "", -1, str(exc)))
        results[path] = errors
    print("RESULTS" + json.dumps(results))
    """
)


def damaged_copies(src: Path, folder: Path) -> dict[str, Path]:
    data = src.read_bytes()
    size = len(data)
    rnd = random.Random(13)
    out = {}
    for frac in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        off = int(size * frac)
        n = min(2000, size - off)
        for kind, fill in (
            ("zero", bytes(n)),
            ("random", bytes(rnd.getrandbits(8) for _ in range(n))),
            ("ff", b"\xff" * n),
        ):
            d = bytearray(data)
            d[off : off + n] = fill
            out[f"{kind}@{frac}"] = folder / f"{kind}_{int(frac * 100)}.root"
            out[f"{kind}@{frac}"].write_bytes(bytes(d))
    for frac in (0.3, 0.6, 0.95):
        out[f"truncated@{frac}"] = folder / f"trunc_{int(frac * 100)}.root"
        out[f"truncated@{frac}"].write_bytes(data[: int(size * frac)])
    return out


def test_damaged_files_raise_errors_naming_file_collection_entry(shared_data: Path, tmp_path: Path) -> None:
    cases = damaged_copies(shared_data / "edm4hep" / "edm4hep1_all_types_podio1.7.root", tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", READ_ALL, *map(str, cases.values())],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=1200,
    )
    assert proc.returncode == 0, f"the reading process died (rc {proc.returncode}):\n{proc.stderr[-3000:]}"
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULTS"))
    results = json.loads(line[len("RESULTS") :])
    failing = 0
    for case, path in cases.items():
        for what, name, entry, message in results[str(path)]:
            failing += 1
            assert str(path) in message, (case, message)
            if what == "collection":
                assert f"collection {name!r}" in message and f"entry {entry}" in message, (case, message)
    assert failing >= len(cases) // 2  # most damage is found (some only hits bytes never read)
    assert all(results[str(p)] for c, p in cases.items() if c.startswith("truncated"))
