"""Fast shower simulation: a Par04-contract model built here, trigger decisions, mesh -> cell placement and
energy conservation, sidecar errors, other voxel orders and multi-input models."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from k4mlinference.algorithms.fastsim import FastCaloSim, FastSimSidecarError, Trigger, load_fastsim_sidecar  # noqa: E402
from k4mlinference.algorithms.fastsim.geometry import voxels_to_deposits  # noqa: E402
from k4mlinference.algorithms.fastsim.model import Mesh  # noqa: E402
from k4mlinference.algorithms.sim.hits import deposits_to_hits  # noqa: E402
from k4mlinference.detector import CalorimeterGeometry  # noqa: E402
from k4mlinference.edm.fill import new_collection  # noqa: E402
from k4mlinference.framework import Output, Producer, run  # noqa: E402

NR, NPHI, NZ = 18, 50, 45
DR, DZ = 2.325, 3.4
GEO_VOXEL = (5, 10, 7)  # gets the geometry one-hot's second value (1 for Par04)
ANGLE_VOXEL = (2, 37, 20)  # gets the normalised angle

PAR04_SIDECAR = {
    "description": "Geant4 Par04 VAE contract",
    "fastsim": {
        "mesh": {
            "size": {"r": NR, "phi": NPHI, "z": NZ},
            "cell_size_mm": {"r": DR, "z": DZ},
            "order": ["r", "phi", "z"],
            "phi_offset_deg": -180.0,
        },
        "latent": {"size": 10, "distribution": "normal"},
        "energy": {"unit": "MeV", "divide_by": 1024000.0, "quantity": "kinetic"},
        "angle": {"definition": "polar", "unit": "deg", "divide_by": 90.0},
        "geometry": {"one_hot": {"*": [0, 1]}},
        "inputs": [{"name": "input", "content": ["latent", "energy", "angle", "geometry"]}],
        "output": {"name": "output", "kind": "fractions"},
    },
}


def flat(ir: int, ip: int, iz: int) -> int:
    return (ir * NPHI + ip) * NZ + iz  # r, phi, z with z fastest


def par04_model(folder: Path, sidecar: dict | None = None) -> Path:
    """A Par04-contract ONNX model: input [1, 14], output [1, 18*50*45] = input @ W, where W sends the
    geometry one-hot's second value to GEO_VOXEL and the normalised angle to ANGLE_VOXEL."""
    w = np.zeros((14, NR * NPHI * NZ), np.float32)
    w[13, flat(*GEO_VOXEL)] = 1.0
    w[11, flat(*ANGLE_VOXEL)] = 1.0
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["input", "W"], ["output"])],
        "par04_contract",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 14])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, NR * NPHI * NZ])],
        [numpy_helper.from_array(w, "W")],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    path = folder / "par04.onnx"
    onnx.save(m, str(path))
    path.with_suffix(".json").write_text(json.dumps(sidecar or PAR04_SIDECAR))
    return path


def particles_producer(momenta: list[tuple[float, float, float]], pdg: int = 11):
    class Particles(Producer):
        OutputCollection = Output("MCParticles", type="edm4hep::MCParticleCollection")

        def __call__(self):
            coll, d = new_collection("edm4hep::MCParticleCollection", len(momenta))
            d["PDG"] = pdg
            d["mass"] = 0.000511
            d["generatorStatus"] = 1
            for k, ax in enumerate("xyz"):
                d["momentum"][ax] = [p[k] for p in momenta]
            return coll

    return Particles("Particles")


def par04_voxel_global(
    entry: np.ndarray,
    theta: float,
    phi: float,
    ir: int,
    ip: int,
    iz: int,
    dr: float = DR,
    dz: float = DZ,
    n_phi: int = NPHI,
    offset: float = -math.pi,
) -> np.ndarray:
    """Par04's voxel placement written out by hand: pos0 + R_z(phi) R_y(theta) (r cos a, r sin a, z)."""
    r = (ir + 0.5) * dr
    a = (ip + 0.5) * 2 * math.pi / n_phi + offset
    local = np.array([r * math.cos(a), r * math.sin(a), (iz + 0.5) * dz])
    ry = np.array([[math.cos(theta), 0, math.sin(theta)], [0, 1, 0], [-math.sin(theta), 0, math.cos(theta)]])
    rz = np.array([[math.cos(phi), -math.sin(phi), 0], [math.sin(phi), math.cos(phi), 0], [0, 0, 1]])
    return entry + rz @ ry @ local


@pytest.mark.parametrize(
    "region, theta_deg, phi_deg",
    [("barrel", 90.0, 30.0), ("endcap", 20.0, -60.0)],
)
def test_par04_contract_model_energy_lands_in_expected_cells(tmp_path, edm, region, theta_deg, phi_deg):
    path = par04_model(tmp_path)
    theta, phi = math.radians(theta_deg), math.radians(phi_deg)
    energy = 20.0
    d = np.array([math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta)])
    momenta = [tuple(energy * d), tuple(energy * d)]  # two showers per event: the [1, 14] model runs per row
    fast = FastCaloSim(
        f"FastPar04{region}", ModelPath=str(path), FullSimUntriggered=False, SamplingFluctuations=False, BatchSize=3
    )
    res = run([particles_producer(momenta), fast], evt_max=3, output=str(tmp_path / "out.root"))
    assert res.events == 3 and fast.showers == 6
    geometry = CalorimeterGeometry.load("toy_calo")
    entry, section, _ = geometry.entry(np.zeros((1, 3)), d[None])
    assert geometry.sections[section[0]].kind == region
    kinetic = math.sqrt(energy**2 + 0.000511**2) - 0.000511
    f = float(geometry.material_constant(section, "sampling_fraction")[0])  # visible fraction of the deposits
    polar = 90.0 - (0.0 if region == "barrel" else theta_deg)  # Par04: 90 deg = perpendicular to the layers
    expected = {}
    for voxel, value in ((GEO_VOXEL, 1.0), (ANGLE_VOXEL, polar / 90.0)):
        cell, sec = geometry.locate(par04_voxel_global(entry[0], theta, phi, *voxel)[None])
        assert sec[0] >= 0
        expected[int(cell[0])] = expected.get(int(cell[0]), 0.0) + 2 * value * kinetic * f  # two showers
    import uproot

    events = uproot.open(tmp_path / "out.root")["events"]
    cells = events["SimCalorimeterHits/SimCalorimeterHits.cellID"].array(library="np")
    energies = events["SimCalorimeterHits/SimCalorimeterHits.energy"].array(library="np")
    for c, e in zip(cells, energies):
        got = dict(zip(c.tolist(), e.tolist()))
        assert set(got) == set(expected)
        for cell, value in expected.items():
            assert got[cell] == pytest.approx(value, rel=1e-5)


def test_trigger_decisions():
    geometry = CalorimeterGeometry.load("toy_calo")
    trig = Trigger(pdg=[11, -11, 22], energy_min=1.0, energy_max=100.0, sections=["ECalBarrel", "ECalEndcap"])
    directions = np.array(
        [
            [1.0, 0.0, 0.0],  # barrel
            [0.3, 0.0, 1.0],  # endcap
            [0.0, 0.0, 1.0],  # down the beam pipe: misses the acceptance
            [1.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
        ]
    )
    pdg = np.array([11, 22, 11, 211, 11, 11, -11])
    kinetic = np.array([10.0, 10.0, 10.0, 10.0, 0.5, 150.0, 1.0])
    mask, _, section = trig.decide(geometry, pdg, kinetic, np.zeros((7, 3)), directions)
    assert mask.tolist() == [True, True, False, False, False, False, True]
    assert section[2] == -1
    barrel_only = Trigger(pdg=[], energy_min=0.0, energy_max=1e9, sections=["ECalBarrel"])
    mask, _, _ = barrel_only.decide(geometry, pdg, kinetic, np.zeros((7, 3)), directions)
    assert mask.tolist() == [True, False, False, True, True, True, True]


@pytest.mark.parametrize("spots", [0, 400])
@pytest.mark.parametrize(
    "vertex, direction", [([0.0, 0.0, 500.0], [1.0, 0.0, 0.0]), ([400.0, -200.0, 0.0], [0.0, 0.0, -1.0])]
)
def test_mesh_to_cell_energy_conservation(edm, vertex, direction, spots):
    """Every voxel (or spot drawn from the voxels) of a mesh inside the calorimeter (perpendicular entry, 68 mm of
    the 200 mm deep EM section) ends up in a cell: sum of cell energies = sum of voxel energies (times the sampling fraction, without sampling
    fluctuations)."""
    geometry = CalorimeterGeometry.load("toy_calo")
    mesh = Mesh(18, 50, 20, DR, DZ, phi_offset=-math.pi)
    d = np.array([direction])
    entry, section, _ = geometry.entry(np.array([vertex]), d)
    assert section[0] >= 0
    energies = np.random.default_rng(1).exponential(0.01, (1, 18, 50, 20))
    pos, e, owner = voxels_to_deposits(mesh, entry, d, energies, spots, np.random.default_rng(2))
    assert len(e) == (spots or energies.size)  # one deposit per voxel, or `spots` equal-energy spots
    hits, _ = deposits_to_hits(geometry, pos, e, owner, np.zeros(len(e)), np.full(len(e), 11))
    assert len(hits) < len(e)  # deposits were summed into cells
    f = float(geometry.material_constant(section, "sampling_fraction")[0])  # the readout sees a fraction f
    assert float(np.sum(hits.view("energy"), dtype=np.float64)) == pytest.approx(f * float(energies.sum()), rel=1e-6)


def write_sidecar(tmp_path: Path, change) -> Path:
    data = copy.deepcopy(PAR04_SIDECAR)
    change(data["fastsim"])
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(data))
    return p


def test_bad_sidecar_mesh_size_names_the_file(tmp_path, edm):
    model = par04_model(tmp_path)

    def smaller_mesh(fs):
        fs["mesh"]["size"]["z"] = 40

    bad = write_sidecar(tmp_path, smaller_mesh)
    fast = FastCaloSim("FastBadMesh", ModelPath=str(model), SidecarPath=str(bad))
    with pytest.raises(FastSimSidecarError, match=r"bad\.json.*mesh size 18 x 50 x 40 = 36000 voxels.*40500"):
        fast.initialize()


def test_bad_sidecar_voxel_order_and_input_size_name_the_file(tmp_path):
    def unknown_order(fs):
        fs["mesh"]["order"] = ["r", "eta", "z"]

    with pytest.raises(FastSimSidecarError, match=r"bad\.json: unknown voxel order"):
        load_fastsim_sidecar(write_sidecar(tmp_path, unknown_order))

    def no_section(fs):
        del fs["mesh"]

    with pytest.raises(FastSimSidecarError, match=r"bad\.json: 'fastsim' section needs 'mesh'"):
        load_fastsim_sidecar(write_sidecar(tmp_path, no_section))
    with pytest.raises(FastSimSidecarError, match=r"missing\.json: file not found"):
        load_fastsim_sidecar(tmp_path / "missing.json")


def test_bad_sidecar_input_size_names_the_file(tmp_path, edm):
    model = par04_model(tmp_path)

    def bigger_latent(fs):
        fs["latent"]["size"] = 12

    bad = write_sidecar(tmp_path, bigger_latent)
    with pytest.raises(FastSimSidecarError, match=r"bad\.json: input 'input'.*16 values.*14"):
        FastCaloSim("FastBadInput", ModelPath=str(model), SidecarPath=str(bad)).initialize()


def test_calochallenge_order_round_trip():
    """CaloChallenge flattening: (layer, alpha, r) with r fastest."""
    mesh = Mesh(n_r=9, n_phi=16, n_z=45, size_r=4.65, size_z=3.4, order=("z", "phi", "r"))
    flat_out = np.arange(mesh.n_voxels, dtype=np.float64)[None]
    rpz = mesh.to_rpz(flat_out)
    layer, alpha, r = 7, 3, 5
    assert rpz[0, r, alpha, layer] == (layer * 16 + alpha) * 9 + r
    np.testing.assert_array_equal(mesh.from_rpz(rpz), flat_out)


def test_four_input_calochallenge_order_model_one_call_and_placement(tmp_path, edm):
    """A model with separate latent / energy / angle / geometry inputs, a dynamic batch and CaloChallenge's
    flattening (layer, alpha, r with r fastest): one model call per block, energy in the expected cell."""
    n_r, n_a, n_l = 4, 4, 5
    layer, alpha, ring = 3, 2, 1
    w = np.zeros((1, n_r * n_a * n_l), np.float32)
    w[0, (layer * n_a + alpha) * n_r + ring] = 1.0  # this voxel gets energy / 100 GeV
    inputs = [
        helper.make_tensor_value_info("latent", TensorProto.FLOAT, ["batch", 3]),
        helper.make_tensor_value_info("energy", TensorProto.FLOAT, ["batch", 1]),
        helper.make_tensor_value_info("angle", TensorProto.FLOAT, ["batch", 1]),
        helper.make_tensor_value_info("geometry", TensorProto.FLOAT, ["batch", 2]),
    ]
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["energy", "W"], ["output"])],
        "four_inputs",
        inputs,
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", n_r * n_a * n_l])],
        [numpy_helper.from_array(w, "W")],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    path = tmp_path / "four.onnx"
    onnx.save(m, str(path))
    side = {
        "fastsim": {
            "mesh": {
                "size": {"r": n_r, "phi": n_a, "z": n_l},
                "cell_size_mm": {"r": 9.0, "z": 11.0},
                "order": "z,phi,r",
            },
            "latent": {"size": 3},
            "energy": {"unit": "GeV", "divide_by": 100.0, "quantity": "total"},
            "angle": {"definition": "incidence", "unit": "rad", "divide_by": 1.5708},
            "geometry": {"one_hot": {"ECalBarrel": [1, 0], "ECalEndcap": [0, 1]}},
            "inputs": [
                {"name": "latent", "content": ["latent"]},
                {"name": "energy", "content": ["energy"]},
                {"name": "angle", "content": ["angle"]},
                {"name": "geometry", "content": ["geometry"]},
            ],
            "output": {"kind": "energies", "unit": "GeV", "scale": 100.0},
        }
    }
    path.with_suffix(".json").write_text(json.dumps(side))
    fast = FastCaloSim(
        "FastFourInputs", ModelPath=str(path), FullSimUntriggered=False, SamplingFluctuations=False, BatchSize=4
    )
    theta, phi = math.radians(80.0), math.radians(200.0)
    d = np.array([math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta)])
    momenta = [tuple(10.0 * d), tuple(30.0 * d), (0.0, 0.0, 0.5)]  # two barrel showers, one below threshold
    res = run([particles_producer(momenta), fast], evt_max=4, output=str(tmp_path / "four.root"))
    assert res.events == 4 and fast.showers == 8
    assert fast.engine.calls == 1  # all triggered particles of the 4 events in one model call
    geometry = CalorimeterGeometry.load("toy_calo")
    entry, section, _ = geometry.entry(np.zeros((1, 3)), d[None])
    pos = par04_voxel_global(entry[0], theta, phi, ring, alpha, layer, 9.0, 11.0, n_a, 0.0)
    cell, _ = geometry.locate(pos[None])
    f = float(geometry.material_constant(section, "sampling_fraction")[0])
    energy = np.hypot(np.linalg.norm(momenta[0]), 0.000511) + np.hypot(np.linalg.norm(momenta[1]), 0.000511)
    import uproot

    events = uproot.open(tmp_path / "four.root")["events"]
    for c, e in zip(
        events["SimCalorimeterHits/SimCalorimeterHits.cellID"].array(library="np"),
        events["SimCalorimeterHits/SimCalorimeterHits.energy"].array(library="np"),
    ):
        assert c.tolist() == [int(cell[0])]
        assert e[0] == pytest.approx(f * energy, rel=1e-5)


def test_results_do_not_depend_on_the_batch_size(tmp_path, edm):
    """Latent noise and spots are drawn per event: BatchSize=1 and BatchSize=5 give the same hits."""
    from k4mlinference.algorithms.sim import ParticleGun

    hits = []
    for batch in (1, 5):
        gun = ParticleGun(f"GunB{batch}", PDG=[11, 22, -211], EnergyMin=2.0, EnergyMax=30.0, ParticlesPerEvent=3)
        fast = FastCaloSim(f"FastB{batch}", BatchSize=batch)
        run([gun, fast], evt_max=5, output=str(tmp_path / f"b{batch}.root"))
        import uproot

        t = uproot.open(tmp_path / f"b{batch}.root")["events"]
        hits.append([t[f"SimCalorimeterHits/SimCalorimeterHits.{m}"].array(library="np") for m in ("cellID", "energy")])
        assert fast.showers > 0
    for a, b in zip(*hits):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
