"""Energies must not change when a molecule is moved, turned or relabelled."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from skqm7x import (
    CoulombMatrixTransformer,
    RandomCoulombExpander,
    SigmoidMLPRegressor,
)
from tests.helpers import assert_invariant, moved


@pytest.fixture(scope="module")
def molecules(qm7x_train):
    return qm7x_train.data[:200]


@pytest.mark.parametrize("sorting", ["row_norm", "eigenspectrum"])
def test_sorted_coulomb_matrix_is_invariant(molecules, sorting):
    transformer = CoulombMatrixTransformer(sorting=sorting).fit(molecules)
    assert_invariant(
        transformer.transform, molecules, seeds=range(3), rtol=1e-9, atol=1e-9
    )


def test_unsorted_coulomb_matrix_depends_on_atom_order(molecules):
    transformer = CoulombMatrixTransformer(sorting="none").fit(molecules)
    assert not np.allclose(
        transformer.transform(moved(molecules, 0)), transformer.transform(molecules)
    )


def test_random_coulomb_draws_are_invariant(molecules):
    coulomb = CoulombMatrixTransformer().fit(molecules)
    expander = RandomCoulombExpander(noise=1.0, random_state=0).fit(
        coulomb.transform(molecules)
    )
    assert_invariant(
        lambda X: expander.transform(coulomb.transform(X)),
        molecules,
        seeds=(1,),
        atol=1e-9,
    )


def test_pipeline_predictions_are_invariant(qm7x_train, molecules):
    model = make_pipeline(
        CoulombMatrixTransformer(),
        SigmoidMLPRegressor(
            expander=RandomCoulombExpander(n_draws=4, random_state=0),
            max_epochs=2,
            device="cpu",
            random_state=0,
        ),
    ).fit(qm7x_train.data[200:600], qm7x_train.target[200:600])
    assert_invariant(model.predict, molecules, seeds=range(2), atol=1e-5)
