"""Calorimeter particle identification: Pre-ML features -> MLInference -> Post-ML ParticleIDs."""

from k4mlinference.algorithms.pid.calo_pid import (
    CLASS_PDG,
    FEATURE_NAMES,
    CaloPIDFeatures,
    CaloPIDToParticleID,
    cluster_features,
)

__all__ = ["CLASS_PDG", "FEATURE_NAMES", "CaloPIDFeatures", "CaloPIDToParticleID", "cluster_features"]
