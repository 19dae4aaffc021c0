"""scikit-learn's contract, checked on real molecules.

The common checks feed the molecule transformers and the regressors that read
molecules data of widths that are no molecule encoding (see
tests/estimators.py); these tests cover the same properties with inputs they
are built for.
"""

import pickle

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from skqm7x import (
    BagOfBondsTransformer,
    CoulombMatrixTransformer,
    LocalKernelRidge,
    ManyBodyTensorTransformer,
    RandomCoulombExpander,
    SlatmTransformer,
    SparseLocalKernelRidge,
    TightBindingEnergyTransformer,
)


def coulomb_then_expander():
    return make_pipeline(
        CoulombMatrixTransformer(), RandomCoulombExpander(random_state=0)
    )


TRANSFORMERS = {
    "row_norm": lambda: CoulombMatrixTransformer(),
    "eigenspectrum": lambda: CoulombMatrixTransformer(sorting="eigenspectrum"),
    "triangle": lambda: CoulombMatrixTransformer(sorting="none", upper_triangle=True),
    "expander": coulomb_then_expander,
    "bag_of_bonds": lambda: BagOfBondsTransformer(exponent=3.0),
    "many_body_tensor": lambda: ManyBodyTensorTransformer(),
    "slatm": lambda: SlatmTransformer(),
    "tight_binding": lambda: TightBindingEnergyTransformer(),
}


@pytest.fixture(params=sorted(TRANSFORMERS))
def make(request):
    return TRANSFORMERS[request.param]


@pytest.fixture(scope="module")
def X(qm7x_train):
    return qm7x_train.data[:40]


def test_fit_returns_self_and_keeps_params(make, X):
    transformer = make()
    steps = [step for _, step in getattr(transformer, "steps", [(None, transformer)])]
    before = [step.get_params(deep=False) for step in steps]
    assert transformer.fit(X) is transformer
    assert [step.get_params(deep=False) for step in steps] == before


def test_not_fitted(make, X):
    with pytest.raises(NotFittedError):
        make().transform(X)


def test_fit_transform_equals_fit_then_transform_and_is_idempotent(make, X):
    once = make().fit_transform(X)
    transformer = make().fit(X)
    np.testing.assert_allclose(transformer.transform(X), once)
    np.testing.assert_allclose(transformer.fit(X).transform(X), once)


def test_subset_and_order_invariance(make, X):
    transformer = make().fit(X)
    full = transformer.transform(X)
    np.testing.assert_allclose(transformer.transform(X[7:13]), full[7:13])
    order = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_allclose(transformer.transform(X[order]), full[order])


def test_pickle_round_trip(make, X):
    transformer = make().fit(X)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(transformer)).transform(X), transformer.transform(X)
    )


def test_read_only_and_fortran_input(make, X):
    expected = make().fit_transform(X)
    read_only = X.copy()
    read_only.flags.writeable = False
    np.testing.assert_allclose(make().fit_transform(read_only), expected)
    np.testing.assert_allclose(make().fit_transform(np.asfortranarray(X)), expected)
    np.testing.assert_allclose(make().fit_transform(X.tolist()), expected)


def test_one_molecule(make, X):
    assert make().fit_transform(X[:1]).shape[0] == 1


def test_input_is_not_modified(make, X):
    before = X.copy()
    make().fit(X).transform(X)
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_input_is_refused(make, X, value):
    bad = X.copy()
    bad[3, 5] = value
    with pytest.raises(ValueError, match="NaN|infinity"):
        make().fit(bad)


def test_wrong_width_after_fit(make, X):
    transformer = make().fit(X)
    with pytest.raises(ValueError, match="features"):
        transformer.transform(X[:, :-4])


def test_feature_names_match_output(make, X):
    transformer = make().fit(X)
    assert len(transformer.get_feature_names_out()) == transformer.transform(X).shape[1]


def test_n_features_in_after_fitting(make, X):
    assert make().fit(X).n_features_in_ == X.shape[1]


# The regressors that read packed molecules themselves: the common checks'
# X is no molecule encoding (tests/estimators.py), so their contract is
# checked here, on molecules.
REGRESSORS = {
    "local_kernel_ridge": lambda: LocalKernelRidge(gammas=1 / 32, alphas=1e-6),
    "sparse_local_kernel_ridge": lambda: SparseLocalKernelRidge(
        n_inducing=60, gammas=1 / 32, alphas=1e-6
    ),
}


@pytest.fixture(params=sorted(REGRESSORS))
def make_regressor(request):
    return REGRESSORS[request.param]


@pytest.fixture(scope="module")
def y(qm7x_train):
    return qm7x_train.target[:40]


def test_regressor_fit_returns_self_and_keeps_params(make_regressor, X, y):
    regressor = make_regressor()
    before = regressor.get_params(deep=False)
    assert regressor.fit(X, y) is regressor
    assert regressor.get_params(deep=False) == before
    assert regressor.n_features_in_ == X.shape[1]


def test_regressor_not_fitted(make_regressor, X):
    with pytest.raises(NotFittedError):
        make_regressor().predict(X)


def test_regressor_subset_and_order_invariance(make_regressor, X, y):
    regressor = make_regressor().fit(X, y)
    full = regressor.predict(X)
    np.testing.assert_allclose(regressor.predict(X[7:13]), full[7:13])
    order = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_allclose(regressor.predict(X[order]), full[order])


def test_regressor_pickle_round_trip(make_regressor, X, y):
    regressor = make_regressor().fit(X, y)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(regressor)).predict(X), regressor.predict(X)
    )


def test_regressor_takes_read_only_fortran_and_list_input(make_regressor, X, y):
    expected = make_regressor().fit(X, y).predict(X)
    read_only = X.copy()
    read_only.flags.writeable = False
    for same in (read_only, np.asfortranarray(X), X.tolist()):
        np.testing.assert_allclose(
            make_regressor().fit(same, list(y)).predict(same), expected, rtol=1e-9
        )


def test_regressor_leaves_its_input_alone(make_regressor, X, y):
    before, targets = X.copy(), y.copy()
    make_regressor().fit(X, y).predict(X)
    np.testing.assert_array_equal(X, before)
    np.testing.assert_array_equal(y, targets)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_regressor_refuses_non_finite_input(make_regressor, X, y, value):
    bad = X.copy()
    bad[3, 5] = value
    with pytest.raises(ValueError, match="NaN|infinity"):
        make_regressor().fit(bad, y)
    bad_y = y.copy()
    bad_y[3] = value
    with pytest.raises(ValueError, match="NaN|infinity"):
        make_regressor().fit(X, bad_y)


def test_regressor_wrong_width_after_fit(make_regressor, X, y):
    regressor = make_regressor().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        regressor.predict(X[:, :-4])


def test_regressor_column_y_is_read_as_1d(make_regressor, X, y):
    from sklearn.exceptions import DataConversionWarning

    expected = make_regressor().fit(X, y).predict(X)
    with pytest.warns(DataConversionWarning):
        column = make_regressor().fit(X, y[:, None])
    np.testing.assert_allclose(column.predict(X), expected)
