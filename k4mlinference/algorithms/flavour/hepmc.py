"""HepMC3 event files (any format pyhepmc reads: HepMC3 and HepMC2 ASCII, HEPEVT, LHEF) as `MCParticles`,
so events from any generator (Whizard, MadGraph + Pythia, KKMC, ...) enter the same chain as PythiaGenerator's.

The columns are those PythiaGenerator writes: PDG, generatorStatus (the HepMC status as written), charge (from
Pythia 8's particle table, 0 for a code it does not know), mass (the generated mass when set, else from the
four-momentum), momentum [GeV], vertex = production vertex and endpoint = end vertex [mm] (origin when there is
none), time = production time [ns], parents = the particles entering the production vertex, daughters = those
leaving the end vertex. Units are converted from the file's (MeV/GeV, mm/cm) to GeV and mm.

pyhepmc (scikit-hep) is an optional dependency (`pip install pyhepmc`), imported when the reader initialises.
Event `n` of the job is the n-th event of the file: a worker that starts at a later event reads past the ones
before it, so `--ncpus N` gives the same events as a serial run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from k4mlinference.framework import Output, Producer, Property

from .record import COLUMNS, mcparticles


class HepMC3Reader(Producer):
    """Reads a HepMC3 (or other pyhepmc-readable) file into `MCParticles`, one event per call, with the
    columns, units and relations of PythiaGenerator (see k4mlinference.algorithms.flavour.hepmc)."""

    OutputCollection = Output("MCParticles", type="edm4hep::MCParticleCollection", doc="the file's particles")
    Input = Property("", doc="path of the HepMC3 file")

    def initialize(self) -> None:
        try:
            import pyhepmc
        except ImportError as exc:
            raise RuntimeError(f"{self.name}: reading {self.Input!r} needs pyhepmc (pip install pyhepmc)") from exc
        import pythia8mc

        if not Path(self.Input).is_file():
            raise FileNotFoundError(f"{self.name}: HepMC3 input file {self.Input!r} does not exist")
        self._pyhepmc = pyhepmc
        self._particle_data = pythia8mc.Pythia("", False).particleData
        self._charges: dict[int, float] = {}
        self._file: Any = None
        self._next = 0  # event index the open file would return next

    def finalize(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def charge(self, pdg: int) -> float:
        """Charge of a PDG code (Pythia's table; 0 for unknown codes such as generator-internal ones)."""
        if pdg not in self._charges:
            pd = self._particle_data
            self._charges[pdg] = float(pd.charge(pdg)) if pd.isParticle(pdg) else 0.0
        return self._charges[pdg]

    def __call__(self):
        target = max(int(self.event_number), 0)
        if self._file is None or target < self._next:
            if self._file is not None:
                self._file.close()
            self._file = self._pyhepmc.open(self.Input)
            self._next = 0
        event = None
        while self._next <= target:
            event = self._file.read()
            if event is None:
                raise EOFError(
                    f"{self.name}: {self.Input!r} has only {self._next} events, event {target} was requested"
                )
            self._next += 1
        return genevent_to_mcparticles(event, self.charge, self._pyhepmc.Units)


def genevent_to_mcparticles(event: Any, charge_of, units: Any) -> Any:
    """A pyhepmc GenEvent as an MCParticleCollection (module docstring), converted to GeV and mm."""
    event.set_units(units.GEV, units.MM)
    parts = list(event.particles)
    n = len(parts)
    row = {p.id: i for i, p in enumerate(parts)}  # HepMC ids are 1-based and need not be dense
    cols = np.zeros((n, len(COLUMNS)))
    mothers: list[list[int]] = []
    daughters: list[list[int]] = []
    for i, p in enumerate(parts):
        m = p.momentum
        prod, end = p.production_vertex, p.end_vertex
        pos = prod.position if prod is not None else None
        dec = end.position if end is not None else None
        mass = p.generated_mass if p.is_generated_mass_set() else np.sqrt(max(m.e**2 - m.px**2 - m.py**2 - m.pz**2, 0))
        cols[i] = (
            p.pid, p.status, charge_of(int(p.pid)), mass, m.px, m.py, m.pz,
            *((pos.x, pos.y, pos.z, pos.t) if pos is not None else (0.0, 0.0, 0.0, 0.0)),
            *((dec.x, dec.y, dec.z) if dec is not None else (0.0, 0.0, 0.0)),
        )  # fmt: skip
        mothers.append([row[q.id] for q in prod.particles_in] if prod is not None else [])
        daughters.append([row[q.id] for q in end.particles_out] if end is not None else [])
    return mcparticles(cols, mothers, daughters)
