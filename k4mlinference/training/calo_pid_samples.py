"""Bulk calorimeter-PID samples for training and evaluation: the chain of options/calo_pid_data.py, vectorised
over thousands of single-particle events at once.

The k4run chain spends most of its time on per-event work that does not change the physics (building EDM
collections, the event loop, writing files). For the 60,000+ events a model and its metrics need, this module
runs the same functions on whole batches: the shower simulation (`showers.simulate`), the sampling response
(`hits.sampling_response`), the digitizer's threshold (with Noise=0 and Stochastic=0 it does nothing else), the
clustering (`calo.cluster_arrays`) and both Pre-ML feature sets (`calo_pid.shower_rows`, `eicrecon_rows`).
Random numbers are drawn per batch (seeded from (seed, batch)), so samples are reproducible but not
event-by-event identical to a k4run run; tests/test_calo_pid_samples.py checks that both give the same feature
distributions. The output has TrainingExport's HDF5 layout, so training reads either.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from k4mlinference.algorithms.pid.calo_pid import eicrecon_rows, shower_rows
from k4mlinference.algorithms.sim.calo import cluster_arrays
from k4mlinference.algorithms.sim.generators import mass_charge
from k4mlinference.algorithms.sim.hits import sampling_response
from k4mlinference.algorithms.sim.showers import ShowerParameters, simulate
from k4mlinference.detector import load_geometry


def generate(
    n_events: int,
    pdg: list[int],
    seed: int,
    geometry: str = "toy_calo",
    energy_range: tuple[float, float] = (2.0, 20.0),
    theta_range: tuple[float, float] = (45.0, 135.0),
    threshold: float = 0.00006,
    log_weight_base: float = 4.0,
    front_depth: float = 4.0,
    sections: tuple[str, ...] = ("ECalBarrel", "ECalEndcap"),
    batch: int = 2000,
) -> dict[str, np.ndarray]:
    """n_events single-particle events (PDG drawn uniformly from `pdg`, energy and cos(theta) uniform, as
    ParticleGun draws them): per event with a cluster, both feature rows, the targets and the true momentum."""
    geo = load_geometry(geometry)
    em_sections = [geo.section_index(name) for name in sections]
    params = ShowerParameters()
    parts: dict[str, list[np.ndarray]] = {"k4ml": [], "eicrecon": [], "targets": [], "momentum": []}
    for b, start in enumerate(range(0, n_events, batch)):
        m = min(batch, n_events - start)
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, b])
        codes = rng.choice(np.asarray(pdg, dtype=np.int64), size=m)
        energy = rng.uniform(*energy_range, m)
        cos_t = rng.uniform(np.cos(np.radians(theta_range[1])), np.cos(np.radians(theta_range[0])), m)
        phi = rng.uniform(0, 2 * np.pi, m)
        mass, _ = mass_charge(codes)
        p = np.sqrt(np.clip(energy**2 - mass**2, 0.0, None))
        sin_t = np.sqrt(1 - cos_t**2)
        momentum = p[:, None] * np.column_stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t])
        dep = simulate(geo, np.zeros((m, 3)), momentum, energy, codes, rng, params)
        # cells per event: sum the event's deposits per cellID, then the sampling response and the threshold
        cells, section = geo.locate(dep.positions)
        order = np.lexsort((cells, dep.particle))
        ev, cells, section = dep.particle[order], cells[order], section[order]
        first = np.ones(len(ev), dtype=bool)
        first[1:] = (ev[1:] != ev[:-1]) | (cells[1:] != cells[:-1])
        starts = np.nonzero(first)[0]
        deposit = np.add.reduceat(dep.energies[order], starts) if len(starts) else np.zeros(0)
        ev, cells, section = ev[starts], cells[starts], section[starts]
        visible = sampling_response(geo, deposit, section, rng).astype(np.float32).astype(np.float64)
        keep = (visible >= threshold) & np.isin(section, em_sections)  # the EM cluster, as the chain's clustering
        ev, cells, visible = ev[keep], cells[keep], visible[keep]
        with_cluster, owner = np.unique(ev, return_inverse=True)
        positions = geo.cell_centres(cells).astype(np.float32).astype(np.float64)
        c = cluster_arrays(geo, owner, len(with_cluster), cells, visible, positions, log_weight_base)
        p_true = p[with_cluster]
        parts["k4ml"].append(
            shower_rows(geo, owner, cells, c.hit_energy, positions, c.energy, c.position, p_true, front_depth)
        )
        parts["eicrecon"].append(eicrecon_rows(p_true, c.energy, c.position, c.shapes))
        is_e = codes[with_cluster] == 11
        parts["targets"].append(np.column_stack([~is_e, is_e]).astype(np.int64))
        parts["momentum"].append(p_true)
    return {k: np.concatenate(v) for k, v in parts.items()}


def write_h5(sample: dict[str, np.ndarray], path: Path) -> None:
    """TrainingExport's layout: one group per collection with `data` rows and per-event `offsets`."""
    n = len(sample["targets"])
    with h5py.File(path, "w") as f:
        for group, key in (
            ("CaloPIDFeatures", "k4ml"),
            ("CaloPIDFeaturesEICrecon", "eicrecon"),
            ("CaloPIDTargets", "targets"),
        ):
            g = f.create_group(group)
            data = sample[key]
            g.create_dataset("data", data=data.astype(np.float32) if data.dtype.kind == "f" else data)
            g.create_dataset("offsets", data=np.arange(n + 1, dtype=np.int64))
