"""Detector description: DD4hep-style cellID bit fields and calorimeter geometries shipped as data."""

from k4mlinference.detector.cellid import BitFieldCoder, encoding_key
from k4mlinference.detector.geometry import CalorimeterGeometry, Material, Section

__all__ = ["BitFieldCoder", "CalorimeterGeometry", "Material", "Section", "encoding_key"]
