"""Model component of the fast simulation: what a shower model takes and gives, as its sidecar declares it.

The sidecar is the model's JSON (`model.onnx` -> `model.json`) with a `fastsim` section (format in the
README, "Fast shower simulation"). Everything model-specific lives there, so a model trained elsewhere
(Geant4 Par04's VAE, a CaloChallenge model, ours) runs by pointing the algorithm at its files:

- `mesh`: the cylindrical readout mesh around the particle direction: number of cells and cell sizes in
  r and z (mm; phi cells are 2 pi / n_phi), the flattening order of the model output (slowest axis first:
  Par04 `["r", "phi", "z"]`, CaloChallenge `["z", "phi", "r"]` = layer, alpha, radius with r fastest),
  and `phi_offset_deg`, the azimuth of the low edge of phi cell 0 (Par04: -180).
- `latent`: size and distribution of the noise (`normal` | `uniform`), drawn from the event's generator.
- `energy`, `angle`, `geometry`: the condition values and their normalisation.
- `inputs`: the model inputs in order, each a list of the parts concatenated into it
  (`latent`, `energy`, `angle`, `geometry`): one tensor [1, 14] for Par04, four inputs for other models.
- `output`: which model output, `fractions` (of the particle energy) or `energies` (in `unit`), a scale,
  voxel thresholds (absolute in MeV and/or as a fraction of the particle energy) and whether the energy of
  dropped voxels is given back to the kept ones (`renormalise`), and `spots_per_shower` (deposit each shower
  as that many equal-energy spots drawn from the voxel energies instead of one deposit per voxel).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from k4mlinference.inference.spec import ModelLoadError

AXES = ("r", "phi", "z")
PARTS = ("latent", "energy", "angle", "geometry")
ENERGY_UNITS = {"GeV": 1.0, "MeV": 1e3, "keV": 1e6, "TeV": 1e-3}  # value in the unit = GeV value * factor


class FastSimSidecarError(ModelLoadError):
    """A fast-simulation sidecar that is missing, malformed or does not fit its model (names the file)."""


@dataclass
class Mesh:
    """Cylindrical mesh r x phi x z around the shower axis (z along the particle direction from its entry
    point)."""

    n_r: int
    n_phi: int
    n_z: int
    size_r: float  # mm
    size_z: float  # mm
    order: tuple[str, str, str] = AXES  # flattening of the model output, slowest axis first
    phi_offset: float = 0.0  # rad: azimuth of the low edge of phi cell 0

    @property
    def n_voxels(self) -> int:
        return self.n_r * self.n_phi * self.n_z

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape of one shower in `order`."""
        n = {"r": self.n_r, "phi": self.n_phi, "z": self.n_z}
        return tuple(n[a] for a in self.order)

    def to_rpz(self, voxels: np.ndarray) -> np.ndarray:
        """[n, n_voxels] flattened in `order` -> [n, n_r, n_phi, n_z] (a view where possible)."""
        x = voxels.reshape((len(voxels),) + self.shape)
        return np.transpose(x, (0,) + tuple(1 + self.order.index(a) for a in AXES))

    def from_rpz(self, rpz: np.ndarray) -> np.ndarray:
        """[n, n_r, n_phi, n_z] -> [n, n_voxels] flattened in `order` (how a model emits it)."""
        x = np.transpose(rpz, (0,) + tuple(1 + AXES.index(a) for a in self.order))
        return np.ascontiguousarray(x).reshape(len(rpz), -1)

    def local_centres(self) -> np.ndarray:
        """Voxel centres [n_r, n_phi, n_z, 3] in the shower frame (x, y transverse, z along the axis), mm."""
        r = (np.arange(self.n_r) + 0.5) * self.size_r
        phi = (np.arange(self.n_phi) + 0.5) * (2 * math.pi / self.n_phi) + self.phi_offset
        z = (np.arange(self.n_z) + 0.5) * self.size_z
        rr, pp, zz = np.meshgrid(r, phi, z, indexing="ij")
        return np.stack([rr * np.cos(pp), rr * np.sin(pp), zz], axis=-1)


@dataclass
class InputLayout:
    name: str
    parts: list[str]


@dataclass
class FastSimSpec:
    """The parsed `fastsim` section of a sidecar."""

    path: str
    mesh: Mesh
    inputs: list[InputLayout]
    latent_size: int = 0
    latent_distribution: str = "normal"
    energy_unit: str = "GeV"
    energy_divide_by: float = 1.0
    energy_transform: str = "linear"  # linear | log (natural log of E/divide_by)
    energy_quantity: str = "kinetic"  # kinetic | total
    angle_definition: str = "polar"  # polar: 90 deg = normal incidence (Par04); incidence: 0 = normal (DDML)
    angle_unit: str = "deg"
    angle_divide_by: float = 1.0
    geometry_one_hot: dict[str, list[float]] = field(default_factory=dict)  # section name or "*" -> vector
    output_name: str | None = None
    output_kind: str = "fractions"  # fractions | energies
    output_unit: str = "GeV"
    output_scale: float = 1.0
    min_voxel_energy: float = 0.0  # GeV; voxels below are dropped
    min_voxel_fraction: float = 0.0  # of the particle energy; voxels below are dropped
    renormalise: bool = False  # after dropping voxels, scale the rest back to the shower's total
    spots_per_shower: int = 0  # > 0: the shower is deposited as that many equal-energy spots drawn from the voxels
    description: str = ""

    def part_size(self, part: str) -> int:
        if part == "latent":
            return self.latent_size
        if part == "geometry":
            return len(next(iter(self.geometry_one_hot.values()))) if self.geometry_one_hot else 0
        return 1

    # ------------------------------------------------------------------ condition + noise -> model inputs
    def build_inputs(
        self,
        energy: np.ndarray,
        mass: np.ndarray,
        angle_deg: np.ndarray,
        section_names: list[str],
        rng: np.random.Generator | list[np.random.Generator],
        counts: list[int] | None = None,
    ) -> dict[str, np.ndarray]:
        """The model feeds for n showers: energy [GeV] (total), mass [GeV], angle as `angle_definition` in
        degrees, the section each shower enters. `rng`: one generator, or one per event with `counts`
        showers each (latent noise then depends only on the event, not on how events are batched)."""
        n = len(energy)
        e = energy - mass if self.energy_quantity == "kinetic" else energy
        e = e * ENERGY_UNITS[self.energy_unit] / self.energy_divide_by
        if self.energy_transform == "log":
            e = np.log(np.clip(e, 1e-30, None))
        a = np.asarray(angle_deg, float)
        a = (a if self.angle_unit == "deg" else np.radians(a)) / self.angle_divide_by
        geo = np.zeros((n, self.part_size("geometry")), np.float32)
        for i, s in enumerate(section_names):
            vec = self.geometry_one_hot.get(s, self.geometry_one_hot.get("*"))
            if vec is None:
                raise FastSimSidecarError(
                    f"sidecar {self.path}: geometry.one_hot has no entry for section '{s}' (and no '*')"
                )
            geo[i] = vec
        latent = self.draw_latent(rng, n, counts)
        part = {"latent": latent, "energy": e[:, None], "angle": a[:, None], "geometry": geo}
        return {
            lay.name: np.concatenate([part[p] for p in lay.parts], axis=1).astype(np.float32, copy=False)
            for lay in self.inputs
        }

    def draw_latent(self, rng, n: int, counts: list[int] | None = None) -> np.ndarray:
        gens = rng if isinstance(rng, list) else [rng]
        sizes = counts if counts is not None else [n]
        chunks = []
        for g, k in zip(gens, sizes):
            if self.latent_distribution == "uniform":
                chunks.append(g.uniform(-1.0, 1.0, (k, self.latent_size)))
            else:
                chunks.append(g.standard_normal((k, self.latent_size)))
        return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros((0, self.latent_size), np.float32)

    # ------------------------------------------------------------------ model output -> voxel energies
    def voxel_energies(self, output: np.ndarray, energy: np.ndarray) -> np.ndarray:
        """Model output [n, ...] -> energies [n, n_r, n_phi, n_z] in GeV (below-threshold voxels zeroed)."""
        out = np.asarray(output, np.float64).reshape(len(output), -1)
        if out.shape[1] != self.mesh.n_voxels:
            raise FastSimSidecarError(
                f"sidecar {self.path}: mesh {self.mesh.n_r} x {self.mesh.n_phi} x {self.mesh.n_z} = "
                f"{self.mesh.n_voxels} voxels but the model gave {out.shape[1]} values per shower"
            )
        if self.output_kind == "fractions":
            e = out * (self.output_scale * np.asarray(energy, float))[:, None]
        else:
            e = out * (self.output_scale / ENERGY_UNITS[self.output_unit])
        e = np.clip(e, 0.0, None)
        if self.min_voxel_energy > 0 or self.min_voxel_fraction > 0:
            cut = np.maximum(self.min_voxel_energy, self.min_voxel_fraction * np.asarray(energy, float))[:, None]
            kept = np.where(e >= cut, e, 0.0)
            if self.renormalise:
                before, after = e.sum(axis=1), kept.sum(axis=1)
                kept *= np.divide(before, after, out=np.ones_like(before), where=after > 0)[:, None]
            e = kept
        return self.mesh.to_rpz(e)

    # ------------------------------------------------------------------ checks against the loaded model
    def check_model(self, model: Any) -> str:
        """Raise if the model's inputs/outputs do not fit this sidecar; returns the output name to read."""
        names = {s.name: s for s in model.inputs}
        wanted = [lay.name for lay in self.inputs]
        missing = [w for w in wanted if w not in names]
        if missing or len(wanted) != len(names):
            raise FastSimSidecarError(
                f"sidecar {self.path}: inputs {wanted} do not match the model's inputs {list(names)} ({model.name})"
            )
        for lay in self.inputs:
            shape = names[lay.name].shape
            want = sum(self.part_size(p) for p in lay.parts)
            if shape and isinstance(shape[-1], int) and shape[-1] != want:
                raise FastSimSidecarError(
                    f"sidecar {self.path}: input '{lay.name}' = {' + '.join(lay.parts)} has {want} values but the "
                    f"model's input has {shape[-1]} ({model.name})"
                )
        outs = {s.name: s for s in model.outputs}
        name = self.output_name or next(iter(outs))
        if name not in outs:
            raise FastSimSidecarError(
                f"sidecar {self.path}: output '{name}' is not an output of the model ({list(outs)}, {model.name})"
            )
        shape = outs[name].shape
        if shape and all(isinstance(d, int) for d in shape[1:]):
            per_shower = int(np.prod(shape[1:]))
            if per_shower != self.mesh.n_voxels:
                raise FastSimSidecarError(
                    f"sidecar {self.path}: mesh size {self.mesh.n_r} x {self.mesh.n_phi} x {self.mesh.n_z} = "
                    f"{self.mesh.n_voxels} voxels does not match the model output '{name}' of {model.name}, "
                    f"shape {list(shape)} = {per_shower} values per shower"
                )
        return name


def _need(d: dict, key: str, where: str) -> Any:
    if key not in d:
        raise FastSimSidecarError(f"sidecar {where}: 'fastsim' section needs '{key}'")
    return d[key]


def parse_fastsim(data: dict[str, Any], path: str | Path = "sidecar") -> FastSimSpec:
    """A FastSimSpec from a sidecar's parsed JSON (its `fastsim` section); errors name the file."""
    where = str(path)
    fs = data.get("fastsim")
    if not isinstance(fs, dict):
        raise FastSimSidecarError(f"sidecar {where}: no 'fastsim' section (see the README, 'Fast shower simulation')")
    try:
        m = _need(fs, "mesh", where)
        size, cell = _need(m, "size", where), _need(m, "cell_size_mm", where)
        order = m.get("order", list(AXES))
        if isinstance(order, str):
            order = [o.strip() for o in order.split(",")]
        if sorted(order) != sorted(AXES):
            raise FastSimSidecarError(
                f"sidecar {where}: unknown voxel order {order!r}; give the axes r, phi, z once each, slowest first "
                f"(Par04: ['r', 'phi', 'z']; CaloChallenge: ['z', 'phi', 'r'])"
            )
        mesh = Mesh(
            int(size["r"]),
            int(size["phi"]),
            int(size["z"]),
            float(cell["r"]),
            float(cell["z"]),
            tuple(order),
            math.radians(float(m.get("phi_offset_deg", 0.0))),
        )
        inputs = []
        for entry in _need(fs, "inputs", where):
            parts = list(entry.get("content", []))
            bad = [p for p in parts if p not in PARTS]
            if bad or not parts:
                raise FastSimSidecarError(
                    f"sidecar {where}: input '{entry.get('name')}' has unknown or no parts {bad or parts}; "
                    f"known: {list(PARTS)}"
                )
            inputs.append(InputLayout(str(entry["name"]), parts))
        lat = fs.get("latent", {})
        en = fs.get("energy", {})
        an = fs.get("angle", {})
        out = fs.get("output", {})
        spec = FastSimSpec(
            path=where,
            mesh=mesh,
            inputs=inputs,
            latent_size=int(lat.get("size", 0)),
            latent_distribution=str(lat.get("distribution", "normal")),
            energy_unit=str(en.get("unit", "GeV")),
            energy_divide_by=float(en.get("divide_by", 1.0)),
            energy_transform=str(en.get("transform", "linear")),
            energy_quantity=str(en.get("quantity", "kinetic")),
            angle_definition=str(an.get("definition", "polar")),
            angle_unit=str(an.get("unit", "deg")),
            angle_divide_by=float(an.get("divide_by", 1.0)),
            geometry_one_hot={k: [float(x) for x in v] for k, v in fs.get("geometry", {}).get("one_hot", {}).items()},
            output_name=out.get("name"),
            output_kind=str(out.get("kind", "fractions")),
            output_unit=str(out.get("unit", "GeV")),
            output_scale=float(out.get("scale", 1.0)),
            min_voxel_energy=float(out.get("min_voxel_energy_mev", 0.0)) / 1e3,
            min_voxel_fraction=float(out.get("min_voxel_fraction", 0.0)),
            renormalise=bool(out.get("renormalise", False)),
            spots_per_shower=int(out.get("spots_per_shower", 0)),
            description=str(data.get("description", "")),
        )
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, FastSimSidecarError):
            raise
        raise FastSimSidecarError(f"sidecar {where}: malformed 'fastsim' section ({type(e).__name__}: {e})") from e
    checks = {
        "latent.distribution": (spec.latent_distribution, ("normal", "uniform")),
        "energy.unit": (spec.energy_unit, tuple(ENERGY_UNITS)),
        "energy.transform": (spec.energy_transform, ("linear", "log")),
        "energy.quantity": (spec.energy_quantity, ("kinetic", "total")),
        "angle.definition": (spec.angle_definition, ("polar", "incidence")),
        "angle.unit": (spec.angle_unit, ("deg", "rad")),
        "output.kind": (spec.output_kind, ("fractions", "energies")),
        "output.unit": (spec.output_unit, tuple(ENERGY_UNITS)),
    }
    for key, (value, allowed) in checks.items():
        if value not in allowed:
            raise FastSimSidecarError(f"sidecar {where}: {key} is {value!r}; allowed: {list(allowed)}")
    lengths = {len(v) for v in spec.geometry_one_hot.values()}
    if len(lengths) > 1:
        raise FastSimSidecarError(f"sidecar {where}: geometry.one_hot vectors differ in length")
    if any(p == "geometry" for lay in inputs for p in lay.parts) and not spec.geometry_one_hot:
        raise FastSimSidecarError(f"sidecar {where}: an input uses 'geometry' but geometry.one_hot is empty")
    return spec


def load_fastsim_sidecar(path: str | Path) -> FastSimSpec:
    """Read a sidecar file and parse its `fastsim` section."""
    p = Path(path)
    if not p.is_file():
        raise FastSimSidecarError(f"sidecar {p}: file not found (the fast simulation needs its model's sidecar)")
    try:
        data = json.loads(p.read_text())
    except ValueError as e:
        raise FastSimSidecarError(f"sidecar {p}: not readable JSON ({e})") from e
    if not isinstance(data, dict):
        raise FastSimSidecarError(f"sidecar {p}: expected a JSON object")
    return parse_fastsim(data, p)
