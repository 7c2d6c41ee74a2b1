"""The bulk sample generator used for training and metrics gives what the k4run chain gives."""

import numpy as np

from k4mlinference.algorithms.pid import K4ML_FEATURES
from k4mlinference.training.calo_pid_samples import generate, write_h5
from k4mlinference.training.train_calo_pid import load_rows


def chain_features(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from k4mlinference.algorithms.pid import CaloPIDFeatures
    from k4mlinference.algorithms.sim import (
        CaloClusterTruthLinker,
        ParticleGun,
        SimpleCaloClustering,
        SimpleCalorimeterSim,
    )
    from k4mlinference.edm import tensor
    from k4mlinference.framework import Consumer, Input, cpp_algorithm, run

    rows: list = []

    class Collect(Consumer):
        Features = Input("CaloPIDFeatures", type="edm4eic::TensorCollection")
        EICrecon = Input("CaloPIDFeaturesEICrecon", type="edm4eic::TensorCollection")
        Targets = Input("CaloPIDTargets", type="edm4eic::TensorCollection")

        def __call__(self, feats, eic, targets):
            rows.append([np.array(tensor.as_array(t)) for t in (feats, eic, targets)])

    digitizer = cpp_algorithm("CaloDigitizer")
    run(
        [
            ParticleGun("SGun", PDG=[11, -211], EnergyMin=2.0, EnergyMax=20.0, Seed=21),
            SimpleCalorimeterSim("SSim", Seed=22),
            digitizer("SDigi", Calibration=1.0, Stochastic=0.0, Constant=0.0, Noise=0.0, Threshold=0.00006),
            SimpleCaloClustering("SClustering"),
            CaloClusterTruthLinker("STruth"),
            CaloPIDFeatures("SFeatures", FeatureSet="k4ml"),
            CaloPIDFeatures(
                "SFeaturesEIC",
                FeatureSet="eicrecon",
                OutputFeatures="CaloPIDFeaturesEICrecon",
                OutputTargets="CaloPIDTargetsEICrecon",
            ),
            Collect("SCollect"),
        ],
        evt_max=n,
    )
    return tuple(np.concatenate([r[k] for r in rows]) for k in range(3))


def test_bulk_samples_match_the_chain(tmp_path):
    n = 600
    x_chain, eic_chain, y_chain = chain_features(n)
    bulk = generate(3000, [11, -211], seed=5, batch=1000)
    assert bulk["k4ml"].shape == (3000, len(K4ML_FEATURES)) and bulk["eicrecon"].shape == (3000, 11)
    np.testing.assert_allclose(bulk["eicrecon"][:, 0], bulk["momentum"])
    is_e_chain, is_e_bulk = y_chain[:, 1] == 1, bulk["targets"][:, 1] == 1
    assert (y_chain.sum(axis=1) == 1).all() and abs(is_e_chain.mean() - 0.5) < 0.1
    # same physics, same code: the class means of the main features agree within their statistical errors
    for k, name in enumerate(K4ML_FEATURES):
        for sel_c, sel_b in ((is_e_chain, is_e_bulk), (~is_e_chain, ~is_e_bulk)):
            a, b = x_chain[sel_c, k], bulk["k4ml"][sel_b, k]
            err = np.hypot(a.std() / np.sqrt(len(a)), b.std() / np.sqrt(len(b)))
            assert abs(a.mean() - b.mean()) < 5 * err + 1e-3 * abs(b.mean()), name
    # and the HDF5 file reads like TrainingExport's
    write_h5(bulk, tmp_path / "s.h5")
    x, is_e, p = load_rows(tmp_path / "s.h5", "CaloPIDFeatures")
    assert x.shape == (3000, len(K4ML_FEATURES)) and is_e.sum() == is_e_bulk.sum()
    np.testing.assert_allclose(p, bulk["momentum"], rtol=1e-6)
