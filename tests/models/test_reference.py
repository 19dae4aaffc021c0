import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skqm7x import AtomicReferenceRegressor, CoulombMatrixTransformer, unpack_molecules


def element_counts(X, elements):
    Z, _ = unpack_molecules(X)
    return np.stack([(Z == z).sum(axis=1) for z in elements], axis=1)


def test_recovers_exact_element_energies(qm7x_train):
    X = qm7x_train.data[:300]
    energies = {
        1: -13.6,
        6: -1030.0,
        7: -1480.0,
        8: -2040.0,
        16: -10800.0,
        17: -12500.0,
    }
    y = element_counts(X, energies) @ np.array(list(energies.values()))
    reference = AtomicReferenceRegressor().fit(X, y)
    present = [z for z in energies if z in reference.elements_]
    np.testing.assert_allclose(
        reference.element_energies_, [energies[z] for z in present], rtol=1e-9
    )
    np.testing.assert_allclose(reference.predict(X), y, rtol=1e-9)


def test_reference_alone_on_real_energies(qm7x_train):
    X, y = qm7x_train.data, qm7x_train.target
    predicted = cross_val_predict(
        AtomicReferenceRegressor(), X, y, cv=KFold(5, shuffle=True, random_state=0)
    )
    rmse = np.sqrt(np.mean((predicted - y) ** 2))
    # Measured: 0.575 eV, against a standard deviation of 11.5 eV.
    assert rmse < 0.6


def test_residual_model_improves_the_reference(qm7x_train):
    X, y = qm7x_train.data[:1500], qm7x_train.target[:1500]
    cv = KFold(3, shuffle=True, random_state=0)
    # The one Cl molecule of this subset has no reference in one fold.
    alone = cross_val_predict(
        AtomicReferenceRegressor(handle_unknown="ignore"), X, y, cv=cv
    )
    model = AtomicReferenceRegressor(
        make_pipeline(
            CoulombMatrixTransformer(),
            KernelRidge(kernel="laplacian", gamma=1e-3, alpha=1e-6),
        ),
        handle_unknown="ignore",
    )
    both = cross_val_predict(model, X, y, cv=cv)
    # Measured: 0.25 eV against 0.60 eV for the reference alone.
    assert np.sqrt(np.mean((both - y) ** 2)) < 0.5 * np.sqrt(np.mean((alone - y) ** 2))


def test_regressor_sees_the_residual(qm7x_train):
    X, y = qm7x_train.data[:200], qm7x_train.target[:200]
    model = AtomicReferenceRegressor(Ridge()).fit(X, y)
    residual = y - AtomicReferenceRegressor().fit(X, y).predict(X)
    np.testing.assert_allclose(
        model.regressor_.predict(X), Ridge().fit(X, residual).predict(X)
    )


def test_grid_search_reaches_the_inner_regressor(qm7x_train):
    X, y = qm7x_train.data[:200], qm7x_train.target[:200]
    model = AtomicReferenceRegressor(
        make_pipeline(CoulombMatrixTransformer(sorting="eigenspectrum"), Ridge())
    )
    search = GridSearchCV(model, {"regressor__ridge__alpha": [0.1, 10.0]}, cv=3)
    assert search.fit(X, y).best_params_["regressor__ridge__alpha"] in (0.1, 10.0)


def test_unseen_element_is_a_clear_error(qm7x_train):
    X, y = qm7x_train.data, qm7x_train.target
    Z, _ = unpack_molecules(X)
    has_sulfur = (Z == 16).any(axis=1)
    reference = AtomicReferenceRegressor().fit(X[~has_sulfur], y[~has_sulfur])
    first = int(np.flatnonzero(has_sulfur)[0])
    with pytest.raises(ValueError, match=r"Molecule 0 contains an element \(Z=16\)"):
        reference.predict(X[first : first + 1])


def test_unseen_element_can_be_ignored(qm7x_train):
    X, y = qm7x_train.data, qm7x_train.target
    Z, _ = unpack_molecules(X)
    has_sulfur = (Z == 16).any(axis=1)
    reference = AtomicReferenceRegressor(handle_unknown="ignore")
    reference.fit(X[~has_sulfur], y[~has_sulfur])
    first = int(np.flatnonzero(has_sulfur)[0])
    without_sulfur = element_counts(X[first : first + 1], reference.elements_)
    np.testing.assert_allclose(
        reference.predict(X[first : first + 1]),
        without_sulfur @ reference.element_energies_,
    )


def test_regressor_contract_on_real_molecules(qm7x_train):
    import pickle

    X, y = qm7x_train.data[:300], qm7x_train.target[:300]
    model = AtomicReferenceRegressor(Ridge())
    assert model.fit(X, y) is model
    predicted = model.predict(X)
    np.testing.assert_allclose(model.fit(X, y).predict(X), predicted)
    np.testing.assert_allclose(model.predict(X[10:20]), predicted[10:20])
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(model)).predict(X), predicted
    )
    read_only = X.copy()
    read_only.flags.writeable = False
    np.testing.assert_allclose(
        AtomicReferenceRegressor(Ridge()).fit(read_only, y).predict(read_only),
        predicted,
    )
    bad = X.copy()
    bad[0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.predict(bad)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :-4])


def _column(values):
    return FunctionTransformer(lambda X: values(X)[:, None])


def test_baseline_is_subtracted_before_the_element_energies(qm7x_train):
    X = qm7x_train.data[:300]
    energies = np.array([-13.6, -1030.0, -1480.0, -2040.0])
    counts = element_counts(X, [1, 6, 7, 8])
    only_hcno = counts.sum(axis=1) == (unpack_molecules(X)[0] > 0).sum(axis=1)
    X, counts = X[only_hcno], counts[only_hcno]

    def atom_distance_sum(X):
        return np.abs(unpack_molecules(X)[1]).sum(axis=(1, 2))

    y = counts @ energies + atom_distance_sum(X)
    model = AtomicReferenceRegressor(baseline=_column(atom_distance_sum)).fit(X, y)
    np.testing.assert_allclose(model.element_energies_, energies, rtol=1e-9)
    np.testing.assert_allclose(model.predict(X), y, rtol=1e-9)
    # Without the baseline the element energies absorb what they can of it.
    assert not np.allclose(AtomicReferenceRegressor().fit(X, y).predict(X), y)


def test_regressor_learns_what_baseline_and_references_leave(qm7x_train):
    X, y = qm7x_train.data[:200], qm7x_train.target[:200]

    def first_x(X):
        return X[:, 1]

    model = AtomicReferenceRegressor(Ridge(), baseline=_column(first_x)).fit(X, y)
    residual = y - first_x(X)
    residual = residual - AtomicReferenceRegressor().fit(X, residual).predict(X)
    np.testing.assert_allclose(
        model.regressor_.predict(X), Ridge().fit(X, residual).predict(X)
    )


@pytest.mark.parametrize(
    "baseline, message",
    [
        (
            FunctionTransformer(lambda X: X[:, :2]),
            r"a column of shape \(50, 1\).*gave shape \(50, 2\)",
        ),
        (FunctionTransformer(lambda X: X[:, :1] * np.nan), "non-finite energy"),
    ],
)
def test_bad_baseline_is_a_clear_error(qm7x_train, baseline, message):
    X, y = qm7x_train.data[:50], qm7x_train.target[:50]
    with pytest.raises(ValueError, match=message):
        AtomicReferenceRegressor(baseline=baseline).fit(X, y)


def test_baseline_is_added_to_predictions_with_a_std(qm7x_train):
    from skqm7x import GaussianProcessKernelRidge

    X, y = qm7x_train.data[:150], qm7x_train.target[:150]

    def first_x(X):
        return X[:, 1] * 10.0

    model = AtomicReferenceRegressor(
        make_pipeline(
            CoulombMatrixTransformer(upper_triangle=True),
            GaussianProcessKernelRidge(kernel="laplacian", gamma=1e-3, alpha=1e-6),
        ),
        baseline=_column(first_x),
        handle_unknown="ignore",
    ).fit(X[:100], y[:100])
    mean, std = model.predict(X[100:], return_std=True)
    np.testing.assert_allclose(mean, model.predict(X[100:]))
    assert np.all(std > 0)
    without = model.predict(X[100:]) - first_x(X[100:])
    np.testing.assert_allclose(
        without,
        model.element_energies_ @ element_counts(X[100:], model.elements_).T
        + model.regressor_.predict(X[100:]),
    )


class ShiftedRidge(Ridge):
    """A Ridge whose predict takes a parameter, to see where it goes."""

    def predict(self, X, shift=0.0):
        return super().predict(X) + shift


class OffsetBaseline(TransformerMixin, BaseEstimator):
    """An energy of ``offset`` per molecule, ``offset`` given as metadata."""

    def fit(self, X, y=None, offset=0.0):
        self.fit_offset_ = offset
        return self

    def transform(self, X, offset=0.0):
        return np.full((len(X), 1), offset)

    def fit_transform(self, X, y=None, offset=0.0):
        return self.fit(X, y, offset=offset).transform(X, offset=offset)


def test_sample_weight_is_repeating_molecules(qm7x_train):
    X, y = qm7x_train.data[:120], qm7x_train.target[:120]
    counts = np.random.default_rng(0).integers(1, 4, size=len(y))
    repeated = np.repeat(np.arange(len(y)), counts)
    for regressor in (None, Ridge()):
        weighted = AtomicReferenceRegressor(regressor, handle_unknown="ignore")
        weighted.fit(X, y, sample_weight=counts)
        expected = AtomicReferenceRegressor(regressor, handle_unknown="ignore")
        expected.fit(X[repeated], y[repeated])
        np.testing.assert_allclose(
            weighted.element_energies_, expected.element_energies_, rtol=1e-8
        )
        np.testing.assert_allclose(
            weighted.predict(X[:10]), expected.predict(X[:10]), rtol=1e-8
        )


def test_sample_weight_is_checked_and_left_alone(qm7x_train):
    X, y = qm7x_train.data[:60], qm7x_train.target[:60]
    weights = np.linspace(0.5, 2.0, len(y))
    before = weights.copy()
    from_list = AtomicReferenceRegressor().fit(X, y, sample_weight=weights.tolist())
    np.testing.assert_array_equal(weights, before)
    np.testing.assert_array_equal(
        from_list.element_energies_,
        AtomicReferenceRegressor().fit(X, y, sample_weight=weights).element_energies_,
    )
    with pytest.raises(ValueError, match="sample_weight"):
        AtomicReferenceRegressor().fit(X, y, sample_weight=weights[:-1])
    with pytest.raises(ValueError, match="[Nn]egative"):
        AtomicReferenceRegressor().fit(X, y, sample_weight=-weights)


def test_fit_and_predict_params_go_to_the_regressor(qm7x_train):
    X, y = qm7x_train.data[:60], qm7x_train.target[:60]
    model = AtomicReferenceRegressor(ShiftedRidge()).fit(X, y)
    np.testing.assert_allclose(
        model.predict(X[:5], shift=2.0), model.predict(X[:5]) + 2.0
    )
    # A tuple from the regressor (mean and covariance) keeps its second part.
    process = AtomicReferenceRegressor(GaussianProcessRegressor()).fit(X, y)
    mean, cov = process.predict(X[:5], return_cov=True)
    np.testing.assert_allclose(mean, process.predict(X[:5]))
    np.testing.assert_array_equal(
        cov, process.regressor_.predict(X[:5], return_cov=True)[1]
    )
    # Without a regressor there is nowhere to send them.
    reference = AtomicReferenceRegressor().fit(X, y)
    with pytest.raises(TypeError, match=r"predict got \['shift'\].*no regressor"):
        reference.predict(X[:5], shift=2.0)
    with pytest.raises(TypeError, match=r"fit got \['check_input'\].*no regressor"):
        AtomicReferenceRegressor().fit(X, y, check_input=True)


def test_metadata_routing_reaches_the_regressor_and_the_baseline(qm7x_train):
    X, y = qm7x_train.data[:80], qm7x_train.target[:80]
    weights = np.random.default_rng(1).uniform(0.5, 2.0, size=len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        model = AtomicReferenceRegressor(
            ShiftedRidge()
            .set_fit_request(sample_weight=True)
            .set_predict_request(shift=True),
            baseline=OffsetBaseline()
            .set_fit_request(offset=True)
            .set_transform_request(offset=True),
        )
        model.fit(X, y, sample_weight=weights, offset=1.0)
        assert model.baseline_.fit_offset_ == 1.0
        # The same weighted fit as of a plain regressor, on y less the offset.
        expected = AtomicReferenceRegressor(
            Ridge().set_fit_request(sample_weight=True)
        ).fit(X, y - 1.0, sample_weight=weights)
        np.testing.assert_allclose(
            model.element_energies_, expected.element_energies_, rtol=1e-10
        )
        np.testing.assert_allclose(
            model.regressor_.coef_, expected.regressor_.coef_, rtol=1e-8
        )
        # shift goes to the regressor, offset to the baseline.
        np.testing.assert_allclose(
            model.predict(X[:5], shift=2.0, offset=3.0),
            expected.predict(X[:5]) + 5.0,
        )
        # Unrequested metadata is refused.
        with pytest.raises(UnsetMetadataPassedError, match="Ridge.fit"):
            AtomicReferenceRegressor(Ridge()).fit(X, y, sample_weight=weights)
        with pytest.raises(TypeError, match="not routed to any object"):
            AtomicReferenceRegressor().fit(X, y, groups=np.zeros(len(y)))
