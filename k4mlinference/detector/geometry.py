"""Calorimeter geometry as data: sections, materials and the readout, loaded from a YAML file.

    geo = CalorimeterGeometry.load("toy_calo")        # k4mlinference/detector/geometries/toy_calo.yaml
    cell_ids, section = geo.locate(points)             # [n] uint64, [n] int (-1: outside every section)
    centres = geo.cell_centres(cell_ids, section)      # [n, 3] mm

A section is a barrel (cylindrical shell from `inner_radius`, `layers` x `layer_thickness` deep, |z| up to
`half_length`) or an endcap pair (discs from |z| = `inner_z`, between `inner_radius` and `outer_radius`, on both
sides). Barrel cells are `cell_size` in z and `cell_size / inner_radius` in phi (projective in phi); endcap cells
are `cell_size` squares in x and y. All sections share one DD4hep-style readout (collection name and cellID
encoding with fields system, side, layer, x, y: x/y are phi/z indices in a barrel, x/y indices in an endcap).
Materials hold the effective constants a parametrised shower simulation needs (X0, Moliere radius, lambda_I,
critical energy, effective Z, sampling fraction and stochastic term, MIP energy loss, h/e).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from k4mlinference.detector.cellid import BitFieldCoder
from k4mlinference.framework.properties import Property

GEOMETRY_DIR = Path(__file__).resolve().parent / "geometries"
MATERIAL_KEYS = (
    "X0",
    "moliere_radius",
    "lambda_I",
    "critical_energy",
    "Z",
    "sampling_fraction",
    "stochastic_term",
    "mip_dedx",
    "hadronic_response",
)


@dataclass(frozen=True)
class Material:
    """Effective constants of a sampling calorimeter's absorber + active mix (lengths mm, energies GeV)."""

    name: str
    X0: float
    moliere_radius: float
    lambda_I: float
    critical_energy: float
    Z: float
    sampling_fraction: float
    stochastic_term: float
    mip_dedx: float
    hadronic_response: float
    absorber: str = ""
    active: str = ""


@dataclass(frozen=True)
class Section:
    """One calorimeter section (barrel or endcap pair) with its material and cellID coder."""

    name: str
    kind: str  # "barrel" | "endcap"
    system: int
    material: Material
    layers: int
    layer_thickness: float
    cell_size: float
    coder: BitFieldCoder
    inner_radius: float
    outer_radius: float  # barrel: inner_radius + depth
    inner_z: float  # barrel: -half_length
    outer_z: float  # barrel: +half_length; endcap: inner_z + depth

    @property
    def depth(self) -> float:
        return self.layers * self.layer_thickness

    @property
    def n_phi(self) -> int:
        return max(int(round(2 * np.pi * self.inner_radius / self.cell_size)), 1)

    def contains(self, pos: np.ndarray, r: np.ndarray | None = None, az: np.ndarray | None = None) -> np.ndarray:
        """Whether points [n, 3] lie in this section (r = hypot(x, y) and az = |z| may be passed in)."""
        r = np.hypot(pos[:, 0], pos[:, 1]) if r is None else r
        az = np.abs(pos[:, 2]) if az is None else az
        if self.kind == "barrel":
            return (r >= self.inner_radius) & (r < self.outer_radius) & (az < self.outer_z)
        return (az >= self.inner_z) & (az < self.outer_z) & (r >= self.inner_radius) & (r < self.outer_radius)

    def cell_ids(self, pos: np.ndarray) -> np.ndarray:
        """cellIDs of points inside this section."""
        if self.kind == "barrel":
            r = np.hypot(pos[:, 0], pos[:, 1])
            layer = np.floor((r - self.inner_radius) / self.layer_thickness)
            phi = np.mod(np.arctan2(pos[:, 1], pos[:, 0]), 2 * np.pi)
            ix = np.floor(phi / (2 * np.pi) * self.n_phi) % self.n_phi
            iy = np.floor(pos[:, 2] / self.cell_size)
            side = 0
        else:
            layer = np.floor((np.abs(pos[:, 2]) - self.inner_z) / self.layer_thickness)
            ix = np.floor(pos[:, 0] / self.cell_size)
            iy = np.floor(pos[:, 1] / self.cell_size)
            side = np.where(pos[:, 2] > 0, 1, -1)
        layer = np.clip(layer, 0, self.layers - 1)
        return self.coder.encode(system=self.system, side=side, layer=layer, x=ix, y=iy)

    def centres(self, cell_ids: np.ndarray) -> np.ndarray:
        f = self.coder.decode(cell_ids)
        out = np.empty((len(cell_ids), 3))
        if self.kind == "barrel":
            r = self.inner_radius + (f["layer"] + 0.5) * self.layer_thickness
            phi = (f["x"] + 0.5) * (2 * np.pi / self.n_phi)
            out[:, 0], out[:, 1] = r * np.cos(phi), r * np.sin(phi)
            out[:, 2] = (f["y"] + 0.5) * self.cell_size
        else:
            out[:, 0] = (f["x"] + 0.5) * self.cell_size
            out[:, 1] = (f["y"] + 0.5) * self.cell_size
            out[:, 2] = f["side"] * (self.inner_z + (f["layer"] + 0.5) * self.layer_thickness)
        return out


class CalorimeterGeometry:
    """A calorimeter described by a geometry file (see the module docstring)."""

    def __init__(self, name: str, sections: list[Section], collection: str, encoding: str, source: str) -> None:
        self.name = name
        self.sections = sections
        self.collection = collection
        self.coder = BitFieldCoder(encoding)
        self.source = source
        self._by_system = {s.system: i for i, s in enumerate(sections)}

    @property
    def encoding(self) -> str:
        return self.coder.encoding

    @classmethod
    def load(cls, name_or_path: str = "toy_calo") -> CalorimeterGeometry:
        """A shipped geometry by name (`toy_calo`) or a YAML file by path."""
        path = Path(name_or_path)
        if not path.suffix:
            path = GEOMETRY_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            shipped = sorted(p.stem for p in GEOMETRY_DIR.glob("*.yaml"))
            raise FileNotFoundError(f"geometry {name_or_path!r}: no file {path}; shipped geometries: {shipped}")
        with open(path) as f:
            doc = yaml.safe_load(f)
        return cls.from_dict(doc, str(path))

    @classmethod
    def from_dict(cls, doc: dict, source: str = "<dict>") -> CalorimeterGeometry:
        try:
            readout = doc["readout"]
            coder = BitFieldCoder(readout["encoding"])
            missing = {"system", "side", "layer", "x", "y"} - set(coder.field_names)
            if missing:
                raise ValueError(f"readout encoding lacks field(s) {sorted(missing)}")
            materials = {}
            for mname, m in doc["materials"].items():
                lacking = [k for k in MATERIAL_KEYS if k not in m]
                if lacking:
                    raise ValueError(f"material {mname!r} lacks {lacking}")
                materials[mname] = Material(
                    mname,
                    **{k: float(m[k]) for k in MATERIAL_KEYS},
                    absorber=m.get("absorber", ""),
                    active=m.get("active", ""),
                )
            sections = []
            for s in doc["sections"]:
                depth = int(s["layers"]) * float(s["layer_thickness"])
                if s["kind"] == "barrel":
                    r_in, z_in, z_out = float(s["inner_radius"]), -float(s["half_length"]), float(s["half_length"])
                    r_out = r_in + depth
                elif s["kind"] == "endcap":
                    r_in, r_out = float(s["inner_radius"]), float(s["outer_radius"])
                    z_in = float(s["inner_z"])
                    z_out = z_in + depth
                else:
                    raise ValueError(f"section {s.get('name')!r}: kind must be 'barrel' or 'endcap', not {s['kind']!r}")
                if s["material"] not in materials:
                    raise ValueError(f"section {s['name']!r}: unknown material {s['material']!r}")
                sections.append(
                    Section(
                        name=s["name"],
                        kind=s["kind"],
                        system=int(s["system"]),
                        material=materials[s["material"]],
                        layers=int(s["layers"]),
                        layer_thickness=float(s["layer_thickness"]),
                        cell_size=float(s["cell_size"]),
                        coder=coder,
                        inner_radius=r_in,
                        outer_radius=r_out,
                        inner_z=z_in,
                        outer_z=z_out,
                    )
                )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"geometry {source}: {type(exc).__name__}: {exc}") from None
        return cls(doc.get("name", Path(source).stem), sections, readout["collection"], readout["encoding"], source)

    def section_index(self, name: str) -> int:
        for i, s in enumerate(self.sections):
            if s.name == name:
                return i
        raise KeyError(f"geometry {self.name!r} has no section {name!r}; sections: {[s.name for s in self.sections]}")

    # ---------------------------------------------------------------- points and cells
    def section_of(self, positions: np.ndarray) -> np.ndarray:
        """Index of the section holding each point (-1: in no section)."""
        pos = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
        out = np.full(len(pos), -1, dtype=np.int64)
        r, az = np.hypot(pos[:, 0], pos[:, 1]), np.abs(pos[:, 2])
        for i, s in enumerate(self.sections):  # sections do not overlap
            out[s.contains(pos, r, az)] = i
        return out

    def locate(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cellIDs uint64, section index) of points [n, 3] in mm; cellID 0 and section -1 outside."""
        pos = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
        section = self.section_of(pos)
        cells = np.zeros(len(pos), dtype=np.uint64)
        for i, s in enumerate(self.sections):
            sel = section == i
            if sel.any():
                cells[sel] = s.cell_ids(pos[sel])
        return cells, section

    def section_of_cells(self, cell_ids: np.ndarray) -> np.ndarray:
        """Section index of cellIDs from their `system` field (-1: unknown system)."""
        system = self.coder.get(cell_ids, "system")
        out = np.full(len(system), -1, dtype=np.int64)
        for sys_id, i in self._by_system.items():
            out[system == sys_id] = i
        return out

    def cell_centres(self, cell_ids: np.ndarray, section_index: np.ndarray | None = None) -> np.ndarray:
        """Centres [n, 3] mm of cells (section from the cellID's system field when not given)."""
        cell_ids = np.asarray(cell_ids, dtype=np.uint64)
        section = self.section_of_cells(cell_ids) if section_index is None else np.asarray(section_index)
        out = np.full((len(cell_ids), 3), np.nan)
        for i, s in enumerate(self.sections):
            sel = section == i
            if sel.any():
                out[sel] = s.centres(cell_ids[sel])
        return out

    def em_scale(self, cell_ids: np.ndarray, visible: np.ndarray) -> np.ndarray:
        """EM-scale energies of cells from their visible energies: divided by the section's sampling fraction."""
        f = self.material_constant(self.section_of_cells(np.asarray(cell_ids, dtype=np.uint64)), "sampling_fraction")
        return np.asarray(visible, dtype=np.float64) / np.nan_to_num(f, nan=1.0)

    def material_constant(self, section_index: np.ndarray, key: str) -> np.ndarray:
        """A material constant (`X0`, `sampling_fraction`, ...) per section index (NaN for -1)."""
        values = np.array([getattr(s.material, key) for s in self.sections] + [np.nan])
        return values[np.asarray(section_index)]

    # ---------------------------------------------------------------- tracks
    def entry(
        self, vertex: np.ndarray, direction: np.ndarray, step: float = 1.0, max_path: float = 6000.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where straight lines first enter an EM section: (point [n,3] mm, section index [n] (-1: misses),
        path length from the vertex [n] mm). Analytic for the barrel cylinder and endcap planes."""
        v = np.asarray(vertex, dtype=np.float64).reshape(-1, 3)
        d = np.asarray(direction, dtype=np.float64).reshape(-1, 3)
        d = d / np.linalg.norm(d, axis=1, keepdims=True)
        n = len(d)
        best = np.full(n, np.inf)
        best_sec = np.full(n, -1, dtype=np.int64)
        em = [i for i, s in enumerate(self.sections) if s.name.startswith("ECal")] or list(range(len(self.sections)))
        for i in em:
            s = self.sections[i]
            if s.kind == "barrel":  # |v_T + t d_T| = R_in
                a = d[:, 0] ** 2 + d[:, 1] ** 2
                b = 2 * (v[:, 0] * d[:, 0] + v[:, 1] * d[:, 1])
                c = v[:, 0] ** 2 + v[:, 1] ** 2 - s.inner_radius**2
                disc = b * b - 4 * a * c
                with np.errstate(invalid="ignore", divide="ignore"):
                    t = (-b + np.sqrt(disc)) / (2 * a)
                t = np.where((a > 0) & (disc >= 0), t, np.inf)
            else:  # plane |z| = z_in on the side the line goes to
                with np.errstate(invalid="ignore", divide="ignore"):
                    t = (np.sign(d[:, 2]) * s.inner_z - v[:, 2]) / d[:, 2]
                t = np.where(np.abs(d[:, 2]) > 0, t, np.inf)
            t = np.where(t >= 0, t, np.inf)
            point = v + np.where(np.isfinite(t), t, 0.0)[:, None] * d
            # nudge inside to test containment
            inside = s.contains(point + 1e-6 * d) & np.isfinite(t)
            better = inside & (t < best)
            best[better], best_sec[better] = t[better], i
        point = v + np.where(np.isfinite(best), best, 0.0)[:, None] * d
        point[best_sec < 0] = np.nan
        return point, best_sec, np.where(best_sec >= 0, best, np.nan)

    def material_along(
        self, start: np.ndarray, direction: np.ndarray, step: float = 2.0, length: float = 3600.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Cumulative material along lines from `start` [n,3]: (s [m] mm, X0 [n, m+1], lambda_I [n, m+1],
        section [n, m]) where X0/lambda_I are the radiation/interaction lengths traversed up to s (with a
        leading 0) and section is the section of each step (-1 in gaps). Used to map shower depths given in
        X0 or lambda_I onto positions, through whatever sections a shower crosses."""
        s = np.arange(0.0, length, step)
        mid = s + step / 2
        pts = start[:, None, :] + mid[None, :, None] * direction[:, None, :]
        sec = self.section_of(pts.reshape(-1, 3)).reshape(len(start), len(s))
        x0 = step / self.material_constant(sec, "X0")
        lam = step / self.material_constant(sec, "lambda_I")
        x0 = np.concatenate([np.zeros((len(start), 1)), np.cumsum(np.nan_to_num(x0), axis=1)], axis=1)
        lam = np.concatenate([np.zeros((len(start), 1)), np.cumsum(np.nan_to_num(lam), axis=1)], axis=1)
        return np.append(s, length), x0, lam, sec


@functools.lru_cache(maxsize=8)
def load_geometry(name_or_path: str) -> CalorimeterGeometry:
    """CalorimeterGeometry.load, once per name in a process (algorithms share one instance)."""
    return CalorimeterGeometry.load(name_or_path)


class GeometryUser:
    """Algorithm mixin: a `Geometry` property (shipped geometry name or YAML path) and the loaded `geometry`."""

    Geometry = Property("toy_calo", doc="calorimeter geometry: a shipped name (toy_calo) or a YAML file")

    @property
    def geometry(self) -> CalorimeterGeometry:
        return load_geometry(str(self.Geometry))
