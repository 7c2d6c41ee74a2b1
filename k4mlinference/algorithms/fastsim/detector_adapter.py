"""TEMPORARY stand-in for branch `pid`'s detector geometry, deposits_to_hits and parametrised simulation.

Implements the agreed names (docs in /work/briefs/INTERFACES.md) just far enough for the fast simulation to
run until `pid` is merged; removed then. EM barrel + two EM endcaps, no HCal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from k4mlinference.edm.fill import new_collection, set_relation

C_MM_PER_NS = 299.792458


class BitFieldCoder:
    """Minimal DD4hep bit-field coder (fields `name:width` from bit 0 up; negative width = signed)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.fields: dict[str, tuple[int, int, bool]] = {}
        offset = 0
        for item in encoding.split(","):
            parts = item.split(":")
            if len(parts) == 3:
                offset = int(parts[1])
            width = int(parts[-1])
            self.fields[parts[0]] = (offset, abs(width), width < 0)
            offset += abs(width)
        self.field_names = list(self.fields)

    def encode(self, **values: np.ndarray | int) -> np.ndarray:
        out = None
        for name, v in values.items():
            off, w, _ = self.fields[name]
            bits = (np.asarray(v, np.int64).astype(np.uint64) & np.uint64((1 << w) - 1)) << np.uint64(off)
            out = bits if out is None else out | bits
        return np.asarray(out, np.uint64)

    def decode(self, cell_ids: np.ndarray) -> dict[str, np.ndarray]:
        c = np.asarray(cell_ids, np.uint64)
        out = {}
        for name, (off, w, signed) in self.fields.items():
            v = ((c >> np.uint64(off)) & np.uint64((1 << w) - 1)).astype(np.int64)
            if signed:
                v = np.where(v >= (1 << (w - 1)), v - (1 << w), v)
            out[name] = v
        return out

    def get(self, cell_ids: np.ndarray, name: str) -> np.ndarray:
        return self.decode(cell_ids)[name]


@dataclass
class Section:
    name: str
    kind: str  # barrel | endcap
    inner: float  # barrel: inner radius; endcap: |z| of the front face [mm]
    layers: int
    layer_thickness: float
    cell_size: float
    extent_min: float  # barrel: -half length in z; endcap: minimum radius
    extent_max: float  # barrel: +half length; endcap: maximum radius
    X0: float = 7.0
    RM: float = 20.0
    Ec: float = 0.01
    sampling_fraction: float = 0.1
    side: int = 1  # endcaps: +1 / -1
    coder: BitFieldCoder | None = None

    @property
    def outer(self) -> float:
        return self.inner + self.layers * self.layer_thickness


ENCODING = "system:4,side:-2,layer:8,a:-16,b:-16"


class CalorimeterGeometry:
    """Stand-in: ECal barrel (r 1500-1700 mm, |z| < 2500) and endcaps (|z| 2500-2700, r 100-1700)."""

    def __init__(self, sections: list[Section]) -> None:
        self.sections = sections

    @classmethod
    def load(cls, name_or_path: str = "toy_calo") -> CalorimeterGeometry:
        coder = BitFieldCoder(ENCODING)
        return cls(
            [
                Section("ECalBarrel", "barrel", 1500.0, 25, 8.0, 20.0, -1750.0, 1750.0, X0=8.0, coder=coder),
                Section("ECalEndcap", "endcap", 1800.0, 25, 8.0, 20.0, 80.0, 1700.0, X0=8.0, side=1, coder=coder),
                Section("ECalEndcap", "endcap", 1800.0, 25, 8.0, 20.0, 80.0, 1700.0, X0=8.0, side=-1, coder=coder),
            ]
        )

    def entry(self, vertex: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        v = np.asarray(vertex, float)
        d = np.asarray(direction, float)
        d = d / np.linalg.norm(d, axis=1, keepdims=True)
        n = len(v)
        best = np.full(n, np.inf)
        idx = np.full(n, -1)
        for i, s in enumerate(self.sections):
            with np.errstate(all="ignore"):
                if s.kind == "barrel":
                    a = d[:, 0] ** 2 + d[:, 1] ** 2
                    b = 2 * (v[:, 0] * d[:, 0] + v[:, 1] * d[:, 1])
                    c = v[:, 0] ** 2 + v[:, 1] ** 2 - s.inner**2
                    t = (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)
                    z = v[:, 2] + t * d[:, 2]
                    ok = (t > 0) & (z >= s.extent_min) & (z <= s.extent_max)
                else:
                    t = (s.side * s.inner - v[:, 2]) / d[:, 2]
                    p = v + t[:, None] * d
                    r = np.hypot(p[:, 0], p[:, 1])
                    ok = (t > 0) & (r >= s.extent_min) & (r <= s.extent_max)
            take = ok & (t < best)
            best[take] = t[take]
            idx[take] = i
        point = v + np.where(np.isfinite(best), best, 0.0)[:, None] * d
        return point, idx, np.where(np.isfinite(best), best, np.nan)

    def locate(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = np.asarray(positions, float)
        n = len(p)
        cells = np.zeros(n, np.uint64)
        sec = np.full(n, -1)
        rho = np.hypot(p[:, 0], p[:, 1])
        for i, s in enumerate(self.sections):
            if s.kind == "barrel":
                depth = rho - s.inner
                inside = (depth >= 0) & (depth < s.layers * s.layer_thickness)
                inside &= (p[:, 2] >= s.extent_min) & (p[:, 2] < s.extent_max)
                dphi = s.cell_size / s.inner
                a = np.floor(np.mod(np.arctan2(p[:, 1], p[:, 0]), 2 * np.pi) / dphi)
                b = np.floor(p[:, 2] / s.cell_size)
            else:
                depth = s.side * p[:, 2] - s.inner
                inside = (depth >= 0) & (depth < s.layers * s.layer_thickness)
                inside &= (rho >= s.extent_min) & (rho < s.extent_max)
                a = np.floor(p[:, 0] / s.cell_size)
                b = np.floor(p[:, 1] / s.cell_size)
            take = inside & (sec < 0)
            layer = np.floor(depth / s.layer_thickness)
            cells[take] = s.coder.encode(
                system=i, side=s.side, layer=layer[take], a=a[take].astype(np.int64), b=b[take].astype(np.int64)
            )
            sec[take] = i
        return cells, sec

    def cell_centres(self, cell_ids: np.ndarray, section_index: np.ndarray) -> np.ndarray:
        out = np.zeros((len(cell_ids), 3))
        for i, s in enumerate(self.sections):
            sel = np.asarray(section_index) == i
            if not sel.any():
                continue
            f = s.coder.decode(np.asarray(cell_ids)[sel])
            depth = (f["layer"] + 0.5) * s.layer_thickness
            if s.kind == "barrel":
                r = s.inner + depth
                phi = (f["a"] + 0.5) * s.cell_size / s.inner
                out[sel] = np.stack([r * np.cos(phi), r * np.sin(phi), (f["b"] + 0.5) * s.cell_size], axis=1)
            else:
                out[sel] = np.stack(
                    [(f["a"] + 0.5) * s.cell_size, (f["b"] + 0.5) * s.cell_size, s.side * (s.inner + depth)], axis=1
                )
        return out


def deposits_to_hits(geometry, positions, energies, particle_index, times, pdg, particles=None):
    """Deposits -> (SimCalorimeterHits, CaloHitContributions): one hit per cell, one contribution per
    (cell, particle)."""
    cells, sec = geometry.locate(positions)
    keep = sec >= 0
    cells, sec, owner = cells[keep], sec[keep], np.asarray(particle_index)[keep]
    e, t, pos, pdg = (np.asarray(x)[keep] for x in (energies, times, positions, pdg))
    order = np.lexsort((owner, cells))
    cells, sec, owner, e, t, pos, pdg = (x[order] for x in (cells, sec, owner, e, t, pos, pdg))
    new = np.ones(len(cells), bool)
    new[1:] = (cells[1:] != cells[:-1]) | (owner[1:] != owner[:-1])
    starts = np.nonzero(new)[0]
    contribs, cd = new_collection("edm4hep::CaloHitContributionCollection", len(starts))
    c_e = np.add.reduceat(e, starts) if len(starts) else np.zeros(0)
    if len(starts):
        cd["PDG"] = pdg[starts]
        cd["energy"] = c_e
        cd["time"] = np.minimum.reduceat(t, starts)
        for k, ax in enumerate("xyz"):
            cd["stepPosition"][ax] = pos[starts, k]
    del cd
    if particles is not None:
        set_relation(contribs, "particle", owner[starts], int(particles.getID()))
    c_cell = cells[starts]
    newc = np.ones(len(c_cell), bool)
    newc[1:] = c_cell[1:] != c_cell[:-1]
    h_start = np.nonzero(newc)[0]
    hits, hd = new_collection("edm4hep::SimCalorimeterHitCollection", len(h_start))
    if len(h_start):
        hd["cellID"] = c_cell[h_start]
        hd["energy"] = np.add.reduceat(c_e, h_start)
        centres = geometry.cell_centres(c_cell[h_start], sec[starts][h_start])
        for k, ax in enumerate("xyz"):
            hd["position"][ax] = centres[:, k]
        hd["contributions_begin"] = h_start
        hd["contributions_end"] = np.append(h_start[1:], len(c_cell))
    del hd
    set_relation(hits, "contributions", np.arange(len(c_cell)), int(contribs.getID()))
    return hits, contribs


def shower_deposits(geometry, pdg, energy, vertex, direction, rng, spots=400):
    """Parametrised EM/hadronic showers as energy spots (positions [m,3], visible energies [m], owner [m])."""
    point, sec, _ = geometry.entry(vertex, direction)
    use = np.nonzero(sec >= 0)[0]
    if len(use) == 0:
        return np.zeros((0, 3)), np.zeros(0), np.zeros(0, np.int64)
    s0 = geometry.sections[0]
    d = direction[use] / np.linalg.norm(direction[use], axis=1, keepdims=True)
    e = energy[use]
    m = spots
    b = 0.5
    t_max = np.clip(np.log(e / s0.Ec) - 0.5, 0.5, None)
    depth = rng.gamma(np.repeat(b * t_max + 1.0, m), 1.0 / b) * s0.X0
    lateral = rng.normal(0.0, s0.RM / 2.0, size=(len(use) * m, 2))
    hadron = np.repeat(np.isin(np.abs(pdg[use]), (211, 321, 2212, 2112, 130)), m)
    response = np.ones(len(hadron))
    if hadron.any():
        nh = int(hadron.sum())
        first = np.repeat(rng.exponential(170.0, size=nh // m), m)
        em = rng.random(nh) < np.repeat(rng.beta(1.5, 2.0, size=nh // m), m)
        depth[hadron] = np.where(em, first + depth[hadron], first + rng.gamma(2.0, 170.0 / 4.0, size=nh))
        lateral[hadron] *= np.where(em, 1.0, 3.0)[:, None]
        response[hadron] = np.where(em, 1.0, 0.6)
    dirs = np.repeat(d, m, axis=0)
    helper = np.where(np.abs(dirs[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    u = np.cross(dirs, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(dirs, u)
    pos = np.repeat(point[use], m, axis=0) + dirs * depth[:, None] + u * lateral[:, :1] + v * lateral[:, 1:]
    spot_e = np.repeat(e * s0.sampling_fraction / m, m) * response
    return pos, spot_e, np.repeat(use, m)
