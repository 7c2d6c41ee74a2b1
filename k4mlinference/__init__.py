"""k4mlinference: machine-learning inference in Key4hep-style event processing.

Parts: `edm` (podio datamodels compiled through cppyy, zero-copy views), `io` (podio ROOT files,
HDF5 training export), `framework` (k4run, functional algorithms), `inference` (ONNX Runtime,
torch and Python backends behind one interface), `algorithms` (use cases), `training`.
"""

__version__ = "0.1.0"
