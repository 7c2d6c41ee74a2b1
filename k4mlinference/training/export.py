"""TrainingExport: a Consumer that appends chosen collections to an HDF5 training file per event.

It puts EICrecon's habit (write feature and target Tensors with the events) next to the ROOT
output: the same Pre-ML code that feeds the model at inference time writes the training data.
"""

from __future__ import annotations

from k4mlinference.framework import Consumer, Inputs, Property


class TrainingExport(Consumer):
    """Append the InputCollections of every event to an HDF5 file (k4mlinference.io.hdf5 layout: one group per
    collection, columns or Tensor data plus event offsets), for torch datasets in k4mlinference.training."""

    InputCollections = Inputs([], doc="collections (any type, Tensors included) to export per event")
    OutputFile = Property("training.h5", doc="HDF5 file to write")
    Mode = Property("w", doc="w: new file (replaced at the end) | a: append to an existing file")
    Compression = Property("gzip", doc="gzip | lzf | none")

    def initialize(self) -> None:
        from k4mlinference.io.hdf5 import HDF5Exporter

        compression = None if self.Compression == "none" else self.Compression
        opts = 4 if compression == "gzip" else None
        self.exporter = HDF5Exporter(
            self.OutputFile, mode=self.Mode, source=f"k4run {self.name}", compression=compression, compression_opts=opts
        )

    def __call__(self, collections: list) -> None:
        for name, coll in zip(self.InputCollections, collections):
            self.exporter.write_collection(name, coll)

    def finalize(self) -> None:
        if getattr(self, "exporter", None) is not None:
            self.exporter.close()
            self.exporter = None
