"""podio-compatible ROOT I/O: read and write podio Frame files (TTree or RNTuple: `Writer(path, backend="rntuple")`).

    from k4mlinference.io import Reader, Writer, Frame
    with Writer("out.root") as w:
        w.write_frame(frame, "events")
    for frame in Reader("out.root").get("events"):
        frame.get("MCParticles")

HDF5 training export: `HDF5Exporter` (from `k4mlinference.io.hdf5`, imported on first use so that
reading ROOT files does not need h5py).
"""

from typing import Any

from k4mlinference.edm.frame import Frame
from k4mlinference.io.errors import PodioFileError, SchemaEvolutionWarning, SkippedCollectionWarning
from k4mlinference.io.reader import FrameSequence, Reader, ReadFrame
from k4mlinference.io.writer import PODIO_VERSION, Writer


def __getattr__(name: str) -> Any:
    if name in ("HDF5Exporter", "HDF5SchemaError"):
        from k4mlinference.io import hdf5

        return getattr(hdf5, name)
    raise AttributeError(f"module 'k4mlinference.io' has no attribute {name!r}")


__all__ = [
    "HDF5Exporter",
    "HDF5SchemaError",
    "PODIO_VERSION",
    "Frame",
    "FrameSequence",
    "PodioFileError",
    "ReadFrame",
    "Reader",
    "SchemaEvolutionWarning",
    "SkippedCollectionWarning",
    "Writer",
]
