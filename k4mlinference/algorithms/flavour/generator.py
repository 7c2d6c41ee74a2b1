"""Pythia 8 as a k4Gen-like Producer: e+e- events straight into `MCParticles`.

Cards (a name below, or a file of Pythia command strings) and extra `Commands` configure Pythia. The
random engine is re-seeded for every event from (Seed, event number), so `--ncpus N` runs equal serial
ones event by event. Unstable hadrons decay inside Pythia with their lifetimes and their decay vertices (b and
c hadrons fly). `ParticleDecays:limitTau0 = on` with `tau0Max = 1000` (mm/c) decays every particle with
c*tau0 below 1 m, so K0S (27 mm), Lambda (79 mm), Sigma+- (24, 44 mm), Xi (49-87 mm) and Omega (25 mm) decay
in the detector volume, while pi+- (7.8 m), K+- (3.7 m), K0L (15 m), muons and neutrons stay stable, as a
detector simulation would leave them to Geant4; the detector response decides which daughters are seen.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from k4mlinference.framework import Output, Producer, Property

from .record import mcparticles

COMMON = [
    "Beams:idA = 11",
    "Beams:idB = -11",
    "PDF:lepton = off",  # no ISR photons: the jets carry the full energy (simpler truth)
    "ParticleDecays:limitTau0 = on",
    "ParticleDecays:tau0Max = 1000",  # mm/c: K0S, Lambda, hyperons decay; pi, K, K0L stay
    "Next:numberCount = 0",
    "Print:quiet = on",
]
CARDS = {
    # Z/gamma* -> q qbar, all five quark flavours, at the Z pole
    "Zqq91": [
        "Beams:eCM = 91.188",
        "WeakSingleBoson:ffbar2gmZ = on",
        "23:onMode = off",
        "23:onIfAny = 1 2 3 4 5",
    ],
    # ZH at 240 GeV, Z -> nu nu (two jets from the Higgs), H -> bb, cc, gg
    "ZH240": [
        "Beams:eCM = 240.0",
        "HiggsSM:ffbar2HZ = on",
        "23:onMode = off",
        "23:onIfAny = 12 14 16",
        "25:onMode = off",
        "25:onIfAny = 5 4 21",
    ],
}


def card_commands(card: str) -> list[str]:
    """The Pythia command strings of a named card or a card file (one command per line, '!'/'#' comments)."""
    if card in CARDS:
        return COMMON + CARDS[card]
    path = Path(card)
    if not path.is_file():
        raise ValueError(f"Card {card!r} is neither a known card ({', '.join(CARDS)}) nor a file")
    lines = [ln.split("!")[0].split("#")[0].strip() for ln in path.read_text().splitlines()]
    return [ln for ln in lines if ln]


def pythia_seed(seed: int, event_number: int) -> int:
    """A Pythia seed (1..900,000,000) for one event, independent of how events are split into jobs."""
    mixed = np.random.default_rng([int(seed) & 0xFFFFFFFF, max(int(event_number), 0)]).integers(1, 900_000_000)
    return int(mixed)


class PythiaGenerator(Producer):
    """Pythia 8 events (pythia8mc) as `MCParticles`: PDG, generatorStatus (HepMC convention: 1 final,
    2 decayed, 4 beam), charge, mass, momentum [GeV], vertex and endpoint [mm], time [ns], parents and
    daughters. `Card`: "Zqq91" (Z -> qq, five flavours), "ZH240" (ZH, H -> bb/cc/gg) or a file;
    `Commands` are applied after the card."""

    OutputCollection = Output("MCParticles", type="edm4hep::MCParticleCollection", doc="generated particles")
    Card = Property("Zqq91", doc="card name (Zqq91, ZH240) or a file of Pythia commands")
    Commands = Property([], doc="extra Pythia command strings, applied after the card")
    Seed = Property(4711, doc="random seed (combined with the event number)")

    def initialize(self) -> None:
        import pythia8mc

        self.pythia = pythia8mc.Pythia("", False)
        for cmd in card_commands(self.Card) + list(self.Commands):
            if not self.pythia.readString(cmd):
                raise ValueError(f"{self.name}: Pythia rejected the command {cmd!r}")
        if not self.pythia.init():
            raise RuntimeError(f"{self.name}: Pythia failed to initialise with card {self.Card!r}")

    def __call__(self):
        py = self.pythia
        py.rndm.init(pythia_seed(self.Seed, self.event_number))
        for _ in range(10):
            if py.next():
                break
        else:
            raise RuntimeError(f"{self.name}: Pythia failed 10 times in event {self.event_number}")
        return event_to_mcparticles(py.event)


def event_to_mcparticles(event) -> object:
    """Pythia's event record (without its 'system' entry 0) as an MCParticleCollection."""
    parts = [event[i] for i in range(1, event.size())]
    n = len(parts)
    cols = np.array(
        [
            (
                p.id(),
                p.statusHepMC(),
                p.charge(),
                p.m(),
                p.px(),
                p.py(),
                p.pz(),
                p.xProd(),
                p.yProd(),
                p.zProd(),
                p.tProd(),
                p.xDec(),
                p.yDec(),
                p.zDec(),
            )
            for p in parts
        ],
        np.float64,
    ).reshape(n, 14)
    mothers = [[m - 1 for m in p.motherList() if m > 0] for p in parts]
    daughters = [[d - 1 for d in p.daughterList() if d > 0] for p in parts]
    status = cols[:, 1]
    cols[status == 1, 11:14] = 0.0  # stable: no end point known here
    return mcparticles(cols, mothers, daughters)
