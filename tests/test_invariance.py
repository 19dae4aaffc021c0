"""Energies must not change when a molecule is moved, turned or relabelled."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from skqm7x import (
    CoulombMatrixTransformer,
    RandomCoulombExpander,
    SigmoidMLPRegressor,
)
from tests.helpers import moved


@pytest.fixture(scope="module")
def molecules(qm7x_train):
    return qm7x_train.data[:200]


@pytest.mark.parametrize("sorting", ["row_norm", "eigenspectrum"])
def test_sorted_coulomb_matrix_is_invariant(molecules, sorting):
    transformer = CoulombMatrixTransformer(sorting=sorting).fit(molecules)
    original = transformer.transform(molecules)
    for seed in range(3):
        np.testing.assert_allclose(
            transformer.transform(moved(molecules, seed)),
            original,
            rtol=1e-9,
            atol=1e-9,
        )


def test_unsorted_coulomb_matrix_depends_on_atom_order(molecules):
    transformer = CoulombMatrixTransformer(sorting="none").fit(molecules)
    assert not np.allclose(
        transformer.transform(moved(molecules, 0)), transformer.transform(molecules)
    )


def test_random_coulomb_draws_are_invariant(molecules):
    coulomb = CoulombMatrixTransformer().fit(molecules)
    expander = RandomCoulombExpander(sigma=1.0, random_state=0).fit(
        coulomb.transform(molecules)
    )
    original = expander.transform(coulomb.transform(molecules))
    changed = expander.transform(coulomb.transform(moved(molecules, 1)))
    np.testing.assert_allclose(changed, original, atol=1e-9)


def test_pipeline_predictions_are_invariant(qm7x_train, molecules):
    model = make_pipeline(
        CoulombMatrixTransformer(),
        RandomCoulombExpander(n_draws=4, random_state=0),
        SigmoidMLPRegressor(n_draws=4, max_epochs=2, device="cpu", random_state=0),
    ).fit(qm7x_train.data[200:600], qm7x_train.target[200:600])
    original = model.predict(molecules)
    for seed in range(2):
        np.testing.assert_allclose(
            model.predict(moved(molecules, seed)), original, atol=1e-5
        )
