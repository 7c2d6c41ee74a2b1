"""A generator's particle record as an EDM4hep MCParticleCollection.

Pythia 8 (generator.py) and HepMC3 files (hepmc.py) reach the chain through this one conversion, so
both produce the same collection layout: units GeV and mm, time in ns, parents/daughters as
OneToMany relations into the same collection.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from k4mlinference.edm.fill import new_collection, set_relation

MM_PER_NS = 299.792458  # generators give times as lengths (mm/c)

#: Column order of the `rows` array taken by `mcparticles`.
COLUMNS = ("PDG", "status", "charge", "mass", "px", "py", "pz", "vx", "vy", "vz", "t_mm", "ex", "ey", "ez")


def mcparticles(rows: np.ndarray, mothers: list[list[int]], daughters: list[list[int]]) -> Any:
    """An MCParticleCollection from one row per particle (`COLUMNS`) and its mothers' and daughters'
    row indices; the collection's own ID is used for the relations, as podio does for self-links."""
    n = len(rows)
    coll, d = new_collection("edm4hep::MCParticleCollection", n)
    if n:
        d["PDG"] = rows[:, 0]
        d["generatorStatus"] = rows[:, 1].astype(np.int32)
        d["charge"] = rows[:, 2]
        d["mass"] = rows[:, 3]
        for k, a in enumerate("xyz"):
            d["momentum"][a] = rows[:, 4 + k]
            d["momentumAtEndpoint"][a] = rows[:, 4 + k]
            d["vertex"][a] = rows[:, 7 + k]
            d["endpoint"][a] = rows[:, 11 + k]
        d["time"] = rows[:, 10] / MM_PER_NS
        for rel, lists in (("parents", mothers), ("daughters", daughters)):
            counts = np.array([len(x) for x in lists], np.uint32)
            end = np.cumsum(counts, dtype=np.uint32)
            d[rel + "_begin"] = end - counts
            d[rel + "_end"] = end
    del d
    for rel, lists in (("parents", mothers), ("daughters", daughters)):
        flat = np.fromiter((i for x in lists for i in x), np.int32)
        set_relation(coll, rel, flat, int(coll.getID()))
    return coll
