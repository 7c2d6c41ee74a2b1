"""The C++ side stands alone: CMake generates the headers and builds and runs the C++ tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed on this machine")
def test_cmake_build_and_ctest(tmp_path: Path) -> None:
    build = tmp_path / "build"
    env = {**os.environ}
    cfg = subprocess.run(
        ["cmake", "-S", str(REPO), "-B", str(build), f"-DPython3_EXECUTABLE={sys.executable}"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert cfg.returncode == 0, cfg.stdout + cfg.stderr
    bld = subprocess.run(["cmake", "--build", str(build), "-j2"], capture_output=True, text=True)
    assert bld.returncode == 0, bld.stdout + bld.stderr
    test = subprocess.run(["ctest", "--test-dir", str(build), "--output-on-failure"], capture_output=True, text=True)
    assert test.returncode == 0, test.stdout + test.stderr
    assert "100% tests passed" in test.stdout
