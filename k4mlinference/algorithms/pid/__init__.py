"""Calorimeter particle identification: Pre-ML features -> MLInference -> Post-ML ParticleIDs."""

from k4mlinference.algorithms.pid.calo_pid import (
    CLASS_PDG,
    EICRECON_FEATURES,
    FEATURE_SETS,
    K4ML_FEATURES,
    CaloPIDFeatures,
    CaloPIDToParticleID,
)

__all__ = ["CLASS_PDG", "EICRECON_FEATURES", "FEATURE_SETS", "K4ML_FEATURES", "CaloPIDFeatures", "CaloPIDToParticleID"]
