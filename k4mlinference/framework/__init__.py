"""The framework: functional algorithms (Python and C++), options files, k4run, parallel runs.

See docs/ALGORITHM_API.md for the algorithm contract. Importing this package does not put any
Gaudi/k4FWCore shim on sys.path; only `k4run` does, while it runs options files.
"""

from k4mlinference.framework.algorithm import (
    Algorithm,
    Consumer,
    FilterPredicate,
    MultiTransformer,
    Producer,
    Transformer,
)
from k4mlinference.framework.app import run
from k4mlinference.framework.component import ConfigurationError
from k4mlinference.framework.eventloop import AlgorithmError
from k4mlinference.framework.properties import Input, Inputs, Output, Outputs, Property, PropertyError
from k4mlinference.framework.registry import register


def cpp_algorithm(name: str, source: str | None = None) -> type:
    """The class of C++ component `name` (from `source`: a .cpp file, folder or glob; or a loaded/shipped one)."""
    from k4mlinference.framework.cpp import cpp_algorithm as _cpp_algorithm

    return _cpp_algorithm(name, source)


__all__ = [
    "Algorithm",
    "AlgorithmError",
    "ConfigurationError",
    "Consumer",
    "FilterPredicate",
    "Input",
    "Inputs",
    "MultiTransformer",
    "Output",
    "Outputs",
    "Producer",
    "Property",
    "PropertyError",
    "Transformer",
    "cpp_algorithm",
    "register",
    "run",
]
