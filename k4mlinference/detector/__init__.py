"""Detector description: DD4hep-style cellID bit fields and calorimeter geometries shipped as data."""

from k4mlinference.detector.cellid import BitFieldCoder, encoding_key
from k4mlinference.detector.geometry import CalorimeterGeometry, GeometryUser, Material, Section, load_geometry

__all__ = [
    "BitFieldCoder",
    "CalorimeterGeometry",
    "GeometryUser",
    "Material",
    "Section",
    "encoding_key",
    "load_geometry",
]
