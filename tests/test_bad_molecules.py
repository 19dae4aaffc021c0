"""Every estimator that reads molecules refuses an empty or a torn one clearly."""

import numpy as np
import pytest

import skqm7x
from skqm7x._molecules import MAX_DIAMETER


def molecule_estimators():
    return [
        skqm7x.CoulombMatrixTransformer(),
        skqm7x.BagOfBondsTransformer(),
        skqm7x.ManyBodyTensorTransformer(),
        skqm7x.SlatmTransformer(),
        skqm7x.SolidHarmonicScatteringTransformer(backend="fast"),
        skqm7x.SolidHarmonicScatteringTransformer(
            backend="kymatio", J=1, L=1, grid_shape=(24, 24, 24)
        ),
        skqm7x.TightBindingEnergyTransformer(),
        skqm7x.LocalKernelRidge(),
        skqm7x.AtomicReferenceRegressor(),
        skqm7x.make_model("best"),
    ]


def emptied(X, row):
    X = X.copy()
    X[row] = 0.0  # every slot padding
    return X


def torn(X, row, distance):
    """Molecule ``row`` with its first atom moved ``distance`` Angstrom away."""
    X = X.copy()
    X[row, 1] += distance
    return X


@pytest.fixture(scope="module")
def molecules(qm7x_train):
    return qm7x_train.data[:12], qm7x_train.target[:12]


@pytest.mark.parametrize("estimator", molecule_estimators(), ids=repr)
@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda X: emptied(X, 3), "molecule 3 has no atoms"),
        (lambda X: torn(X, 5, 1e6), "molecule 5 are 1e\\+06 Angstrom apart"),
        (lambda X: torn(X, 5, 1e300), "molecule 5 are inf Angstrom apart"),
        (
            lambda X: torn(X, 5, 2 * MAX_DIAMETER),
            "molecule 5 are 1.. Angstrom apart, more than the 100",
        ),
    ],
    ids=["empty", "1e6 Angstrom", "1e300 Angstrom", "twice the limit"],
)
def test_fit_and_predict_refuse_bad_molecules(molecules, estimator, spoil, message):
    X, y = molecules
    with pytest.raises(ValueError, match=message):
        estimator.fit(spoil(X), y)
    estimator.fit(X, y)
    method = estimator.predict if hasattr(estimator, "predict") else estimator.transform
    with pytest.raises(ValueError, match=message):
        method(spoil(X))


def test_a_wide_molecule_within_the_limit_is_accepted(molecules):
    X, y = molecules
    far = torn(X, 5, MAX_DIAMETER - 10)
    features = skqm7x.CoulombMatrixTransformer().fit_transform(far)
    assert np.all(np.isfinite(features))
