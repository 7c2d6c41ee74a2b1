"""Models the inference tests build themselves (small torch networks -> ONNX and TorchScript), plus
fixtures shared by the tests/test_inference_*.py files (imported from here, so no conftest edits)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
EIC_MODEL = SHARED / "data" / "models" / "Low-Q2_Steering_Reconstruction.onnx"


class MLP(torch.nn.Module):
    """The benchmark's shape: 11 inputs, two hidden layers of 64, 2 outputs."""

    def __init__(self, n_in: int = 11, hidden: int = 64, n_out: int = 2) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(n_in, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, n_out),
        )

    def forward(self, x):
        return self.net(x)


class TwoInTwoOut(torch.nn.Module):
    """Two inputs, two outputs, for N -> M wiring and names with dots and slashes."""

    def __init__(self) -> None:
        super().__init__()
        self.a = torch.nn.Linear(4, 3)
        self.b = torch.nn.Linear(2, 3)

    def forward(self, feats, aux):
        h = self.a(feats) + self.b(aux)
        return torch.softmax(h, dim=1), h.sum(dim=1, keepdim=True)


def export_onnx(module, args, path: Path, input_names, output_names, dynamic: bool = True) -> Path:
    """torch.onnx.export (the TorchScript-based exporter: works offline) with a dynamic batch axis
    named 'batch' on every input and output."""
    module.eval()
    axes = {n: {0: "batch"} for n in [*input_names, *output_names]} if dynamic else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            tuple(args),
            str(path),
            input_names=list(input_names),
            output_names=list(output_names),
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    return path


def build_models(folder: Path) -> dict[str, Path]:
    torch.manual_seed(1234)
    out: dict[str, Path] = {}
    mlp = MLP().eval()
    x = torch.randn(3, 11)
    out["mlp_onnx"] = export_onnx(mlp, [x], folder / "mlp.onnx", ["x"], ["y"])
    ts = torch.jit.trace(mlp, x)
    ts.save(str(folder / "mlp.pt"))
    out["mlp_pt"] = folder / "mlp.pt"
    torch.save(mlp.state_dict(), folder / "mlp_state.pth")  # to rebuild the same nn.Module
    out["mlp_state"] = folder / "mlp_state.pth"
    two = TwoInTwoOut().eval()
    out["two_onnx"] = export_onnx(
        two, [torch.randn(2, 4), torch.randn(2, 2)], folder / "two.onnx", ["feat.a/0", "aux"], ["out/prob", "out.sum"]
    )
    fixed = torch.nn.Linear(1, 1).eval()
    out["fixed_onnx"] = export_onnx(fixed, [torch.randn(1, 1)], folder / "fixed.onnx", ["x"], ["y"], dynamic=False)
    bad = folder / "corrupt.onnx"
    bad.write_bytes(b"this is not a protobuf \x00\x01\x02" * 10)
    out["corrupt_onnx"] = bad
    return out


def load_mlp(models: dict[str, Path]):
    mlp = MLP().eval()
    mlp.load_state_dict(torch.load(models["mlp_state"]))
    return mlp


def ort_direct(path: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Reference: onnxruntime called directly."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[str, Path]:
    return build_models(tmp_path_factory.mktemp("inference_models"))


@pytest.fixture(scope="session")
def eic_model() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"the real EIC model needs {SHARED} (the shared/ folder beside the repository)")
    assert EIC_MODEL.is_file(), f"{EIC_MODEL} is missing although {SHARED} exists"
    return EIC_MODEL


@pytest.fixture(scope="session")
def edm_loaded():
    from k4mlinference import edm

    edm.load()
    return edm


def rows(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    return rng.standard_normal((n, width)).astype(np.float32)


def test_models_build(models):
    """The builders give non-empty files (a smoke test for the fixtures themselves)."""
    for key in ("mlp_onnx", "mlp_pt", "two_onnx", "fixed_onnx"):
        assert models[key].stat().st_size > 0
