"""FastCaloSim: ML fast shower simulation in the DDFastShowerML / Geant4 Par04 style.

    MCParticles --Trigger--> triggered: condition + latent (Model) --one model call for K events (Inference)-->
    voxels on the r x phi x z mesh --> global positions --> cells (Geometry) --> SimCalorimeterHits
    untriggered: the parametrised simulation's deposits ------------------------^

Both kinds of deposits go through the same `deposits_to_hits`, so the hits, their CaloHitContributions (one
per cell and particle, linked to the MCParticle) and everything downstream are those of the parametrised
("full") simulation.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from k4mlinference.algorithms.fastsim.geometry import entry_angles, voxels_to_deposits
from k4mlinference.algorithms.fastsim.model import FastSimSpec, load_fastsim_sidecar
from k4mlinference.algorithms.fastsim.trigger import Trigger
from k4mlinference.algorithms.sim.hits import deposits_to_hits
from k4mlinference.algorithms.sim.showers import ShowerParameters, simulate
from k4mlinference.detector import GeometryUser, encoding_key
from k4mlinference.framework import Input, MultiTransformer, Output, Property
from k4mlinference.framework.seeding import event_rng
from k4mlinference.inference import InferenceEngine, load_model

C_MM_PER_NS = 299.792458
MODELS = Path(__file__).resolve().parents[2] / "models"
DEFAULT_MODEL = MODELS / "fastsim_toy_calo.onnx"


class ParticleKinematics:
    """Columns of an MCParticle collection the simulations need (numpy, one pass over the data view)."""

    def __init__(self, particles) -> None:
        n = len(particles)
        if n == 0:
            self.pdg = np.zeros(0, np.int32)
            self.p = self.vertex = np.zeros((0, 3))
            self.mass = self.energy = np.zeros(0)
            self.status = np.zeros(0, np.int32)
        else:
            d = particles.data_view()
            self.pdg = np.array(d["PDG"])
            self.p = np.stack([d["momentum"][a] for a in "xyz"], axis=1).astype(float)
            self.vertex = np.stack([d["vertex"][a] for a in "xyz"], axis=1).astype(float)
            self.mass = np.array(d["mass"], float)
            self.status = np.array(d["generatorStatus"])
            self.energy = np.sqrt(np.sum(self.p**2, axis=1) + self.mass**2)

    @property
    def kinetic(self) -> np.ndarray:
        return self.energy - self.mass


class FastCaloSim(GeometryUser, MultiTransformer):
    """ML fast shower simulation (DDFastShowerML / Par04 style): triggered particles (PDG, kinetic-energy window,
    entering the listed calorimeter sections) get showers from a generative model declared by its sidecar JSON,
    all triggered particles of a block of BatchSize events in one model call; voxels of the r x phi x z mesh are
    placed along the particle direction from its entry point and summed into the geometry's cells. Untriggered
    particles go to the parametrised simulation (FullSimUntriggered). Output: SimCalorimeterHits +
    CaloHitContributions linked to the MCParticles, as the parametrised simulation makes them."""

    InputCollection = Input("MCParticles", type="edm4hep::MCParticleCollection", doc="particles to shower")
    OutputHits = Output("SimCalorimeterHits", type="edm4hep::SimCalorimeterHitCollection", doc="cells")
    OutputContributions = Output(
        "SimCaloHitContributions", type="edm4hep::CaloHitContributionCollection", doc="per-particle contributions"
    )
    ModelPath = Property("", doc="shower model (.onnx / .pt / .pt2); empty: the shipped fastsim_toy_calo.onnx")
    SidecarPath = Property("", doc="sidecar JSON with the 'fastsim' section; empty: <model>.json")
    Device = Property("cpu", doc="cpu | cuda | cuda:N: where the model runs (falls back to CPU with a warning)")
    PDG = Property([11, -11, 22], doc="PDG codes simulated fast (empty: all)")
    EnergyMin = Property(1.0, doc="trigger: minimum kinetic energy [GeV]")
    EnergyMax = Property(100.0, doc="trigger: maximum kinetic energy [GeV]")
    Sections = Property(["ECalBarrel", "ECalEndcap"], element_type=str, doc="trigger: sections entered (empty: any)")
    FullSimUntriggered = Property(True, doc="simulate untriggered particles with the parametrised simulation")
    GeneratorStatus = Property(1, doc="only MCParticles with this generatorStatus are simulated (-1: all)")
    SamplingFluctuations = Property(True, doc="apply the readout's sampling fluctuations to the cells (as full sim)")
    BatchSize = Property(64, doc="events per block: all their triggered particles go to the model in one call")
    Seed = Property(11, doc="random seed (combined with the event number)")

    def initialize(self) -> None:
        model_path = Path(self.ModelPath) if self.ModelPath else DEFAULT_MODEL
        sidecar = Path(self.SidecarPath) if self.SidecarPath else model_path.with_suffix(".json")
        self.spec: FastSimSpec = load_fastsim_sidecar(sidecar)
        self.model = load_model(str(model_path), sidecar=False, shared=True, device=str(self.Device))
        self.output_name = self.spec.check_model(self.model)
        self.engine = InferenceEngine(self.model, batch_size=0)  # the whole block in one call
        # the parametrised simulation of untriggered particles, with SimpleCalorimeterSim's defaults
        self.params = ShowerParameters()
        self.trigger = Trigger(list(self.PDG), float(self.EnergyMin), float(self.EnergyMax), list(self.Sections))
        self.showers = 0  # fast showers made (for timing per shower)
        self.inference_seconds = 0.0  # time inside the model calls

    def file_metadata(self) -> dict[str, str]:
        return {encoding_key(self.OutputHits): self.geometry.encoding}

    def __call__(self, particles):
        return self.process_batch([(particles,)])[0]

    def process_batch(self, events: list[tuple]) -> list:
        numbers = self.event_numbers if len(self.event_numbers) == len(events) else [self.event_number] * len(events)
        kin = [ParticleKinematics(ev[0]) for ev in events]
        decisions = [self.trigger.decide(self.geometry, k.pdg, k.kinetic, k.vertex, k.p) for k in kin]
        if int(self.GeneratorStatus) >= 0:  # as the parametrised simulation: only particles of that status
            decisions = [(m & (k.status == int(self.GeneratorStatus)), p, s) for k, (m, p, s) in zip(kin, decisions)]
        # Model: condition + latent for every triggered particle of the block; Inference: one call
        feeds, shower_sets = [], []
        for number, k, (mask, point, section) in zip(numbers, kin, decisions):
            idx = np.nonzero(mask)[0]
            angle = entry_angles(self.geometry, section[idx], point[idx], k.p[idx])
            if self.spec.angle_definition == "polar":
                angle = 90.0 - angle
            names = [self.geometry.sections[s].name for s in section[idx]]
            feeds.append(
                self.spec.build_inputs(
                    k.energy[idx], k.mass[idx], angle, names, event_rng(self.Seed, number), counts=[len(idx)]
                )
            )
            shower_sets.append(idx)
        t0 = time.perf_counter()
        outputs = self.engine.run_events(feeds) if any(len(i) for i in shower_sets) else [None] * len(events)
        self.inference_seconds += time.perf_counter() - t0
        results = []
        for number, ev, k, (mask, point, _), idx, out in zip(numbers, events, kin, decisions, shower_sets, outputs):
            results.append(self.hits_for_event(ev[0], number, k, mask, point, idx, out))
        self.showers += sum(len(i) for i in shower_sets)
        return results

    def hits_for_event(self, particles, number: int, k: ParticleKinematics, mask, point, idx, out):
        """Geometry: voxels of this event's fast showers (+ parametrised deposits of the rest) -> hits."""
        pos, e, owner = np.zeros((0, 3)), np.zeros(0), np.zeros(0, np.int64)
        if len(idx):
            voxels = self.spec.voxel_energies(out[self.output_name], k.kinetic[idx])
            spots = self.spec.spots_per_shower
            rng = event_rng(self.Seed + 3, number) if spots else None
            pos, e, shower = voxels_to_deposits(self.spec.mesh, point[idx], k.p[idx], voxels, spots, rng)
            owner = idx[shower]
        if self.FullSimUntriggered:
            rest = np.nonzero(~mask)[0]
            if int(self.GeneratorStatus) >= 0:
                rest = rest[k.status[rest] == int(self.GeneratorStatus)]
            if len(rest):
                dep = simulate(
                    self.geometry,
                    k.vertex[rest],
                    k.p[rest],
                    k.energy[rest],
                    k.pdg[rest],
                    event_rng(self.Seed + 1, number),
                    self.params,
                )
                pos = np.concatenate([pos, dep.positions])
                e = np.concatenate([e, dep.energies])
                owner = np.concatenate([owner, rest[dep.particle]])
        times = np.linalg.norm(pos, axis=1) / C_MM_PER_NS
        rng = event_rng(self.Seed + 2, number) if self.SamplingFluctuations else None
        return deposits_to_hits(self.geometry, pos, e, owner, times, k.pdg[owner], particles=particles, rng=rng)
