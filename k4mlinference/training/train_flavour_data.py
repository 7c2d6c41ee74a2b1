"""Training and test ntuples for the flavour tagger: the chain of options/flavour_tagging.py up to the jets,
then JetObservablesWriter (k4MLJetTagger's writeJetConstObs role), in parallel chunks of events.

    python -m k4mlinference.training.train_flavour_data --events 15000 --first 0 --out train.root --ncpus 2

Events are seeded by their number, so a chunked run equals a serial one; the test sample starts at a
different first event number and is therefore independent of the training sample.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from pathlib import Path


def chain(out: str, card: str = "Zqq91") -> list:
    """The algorithms from generator to the ntuple writer."""
    from k4mlinference.algorithms.flavour import (
        FlavourDetectorResponse,
        JetClustering,
        JetMCTagger,
        JetObservablesWriter,
        PythiaGenerator,
        VertexFinder,
    )

    return [
        PythiaGenerator("Generator", Card=card),
        FlavourDetectorResponse("Detector"),
        VertexFinder("Vertexing"),
        JetClustering("JetClustering"),
        JetMCTagger("JetMCTagger"),
        JetObservablesWriter("JetObsWriter", OutputFile=out),
    ]


def run_chunk(args: tuple[int, int, str, str]) -> str:
    first, n, out, card = args
    from k4mlinference.framework import run

    run(chain(out, card), evt_max=n, first_entry=first)
    return out


def merge(parts: list[str], out: str) -> None:
    """Concatenate chunk ntuples into one (same tree and branches)."""
    import awkward as ak
    import numpy as np
    import uproot

    from k4mlinference.algorithms.flavour.tagger import jagged, write_ntuple

    arrays = [uproot.open(p)["JetTags"].arrays(library="ak") for p in parts]
    merged = ak.concatenate(arrays)
    scalars = {k: np.asarray(merged[k]) for k in merged.fields if k.startswith(("jet_", "event_"))}
    rows = {}
    for k in merged.fields:
        if k.startswith(("pfcand_", "sv_")):
            counts = np.asarray(ak.num(merged[k]))
            flat = np.asarray(ak.flatten(merged[k]))
            rows[k] = np.split(flat, np.cumsum(counts)[:-1])
    assert jagged  # the writer builds the jagged branches again
    write_ntuple(out, rows, scalars)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=15000)
    ap.add_argument("--first", type=int, default=0, help="first event number (the seed of each event)")
    ap.add_argument("--out", default="flavour_train.root")
    ap.add_argument("--card", default="Zqq91")
    ap.add_argument("--ncpus", type=int, default=2)
    a = ap.parse_args(argv)
    t0 = time.time()
    k = max(1, a.ncpus)
    edges = [a.first + (a.events * i) // k for i in range(k + 1)]
    out = Path(a.out)
    parts = [str(out.with_name(f".{out.stem}.part{i}.root")) for i in range(k)]
    jobs = [(edges[i], edges[i + 1] - edges[i], parts[i], a.card) for i in range(k)]
    if k == 1:
        run_chunk(jobs[0])
    else:
        with mp.get_context("spawn").Pool(k) as pool:
            pool.map(run_chunk, jobs)
    merge(parts, str(out))
    for p in parts:
        Path(p).unlink()
    print(f"wrote {out} from {a.events} events in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
