"""podio-compatible ROOT I/O: read and write podio Frame files (TTree; RNTuple for reading).

    from k4mlinference.io import Reader, Writer, Frame
    with Writer("out.root") as w:
        w.write_frame(frame, "events")
    for frame in Reader("out.root").get("events"):
        frame.get("MCParticles")

HDF5 training export lives in `k4mlinference.io.hdf5`.
"""

from k4mlinference.edm.frame import Frame
from k4mlinference.io.errors import PodioFileError, SchemaEvolutionWarning, SkippedCollectionWarning
from k4mlinference.io.reader import FrameSequence, Reader, ReadFrame
from k4mlinference.io.writer import PODIO_VERSION, Writer

__all__ = [
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
