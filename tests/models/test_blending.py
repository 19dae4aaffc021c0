import numpy as np
import pytest
import scipy.sparse
import sklearn
from sklearn.base import clone
from sklearn.dummy import DummyRegressor
from sklearn.exceptions import NotFittedError, UnsetMetadataPassedError
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, cross_val_predict, cross_validate
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

from skqm7x import (
    BlendingRegressor,
    GaussianProcessKernelRidge,
    GaussianProcessKernelRidgeCV,
    SlatmTransformer,
    make_model,
)
from skqm7x.recipes import BEST_ALPHAS, BEST_GAMMAS
from tests.helpers import assert_invariant


@pytest.fixture(scope="module")
def curve():
    """A smooth curve with a linear trend: a line and a kernel each see part."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-3, 3, size=(120, 2))
    y = 2 * X[:, 0] + np.sin(3 * X[:, 1]) + 0.05 * rng.normal(size=120)
    return X, y


def kernel(gamma=1.0):
    return GaussianProcessKernelRidge(kernel="rbf", gamma=gamma, alpha=1e-2)


def test_weights_are_the_best_mix_of_the_held_out_predictions(curve):
    X, y = curve
    blend = BlendingRegressor([("narrow", kernel(3.0)), ("wide", kernel(0.05))])
    blend.fit(X, y)
    narrow, wide = (fitted.loo_predictions_ for fitted in blend.estimators_)
    # The closed-form leave-one-out predictions weigh them: a fine grid of
    # shares finds the same optimum.
    shares = np.linspace(0, 1, 10001)
    rmse = [np.sqrt(np.mean((s * narrow + (1 - s) * wide - y) ** 2)) for s in shares]
    assert blend.weights_[0] == pytest.approx(shares[np.argmin(rmse)], abs=2e-4)
    assert blend.weights_.sum() == pytest.approx(1.0)
    assert 0 < blend.weights_[0] < 1
    assert blend.blend_held_out_rmse_ == pytest.approx(min(rmse), rel=1e-6)
    assert blend.blend_held_out_rmse_ < blend.held_out_rmse_.min()
    np.testing.assert_allclose(
        blend.held_out_rmse_,
        [np.sqrt(np.mean((p - y) ** 2)) for p in (narrow, wide)],
    )
    # Its prediction is the weighted mean of the two fitted models'.
    expected = sum(
        w * model.predict(X[:7])
        for w, model in zip(blend.weights_, blend.estimators_, strict=True)
    )
    np.testing.assert_allclose(blend.predict(X[:7]), expected, rtol=1e-12)
    assert blend.named_estimators_["wide"] is blend.estimators_[1]


def test_a_regressor_without_closed_form_is_cross_validated(curve):
    X, y = curve
    folds = KFold(4, shuffle=True, random_state=0)
    blend = BlendingRegressor(
        [("line", Ridge(alpha=1.0)), ("kernel", kernel())], cv=folds
    ).fit(X, y)
    line = cross_val_predict(Ridge(alpha=1.0), X, y, cv=folds)
    assert blend.held_out_rmse_[0] == pytest.approx(np.sqrt(np.mean((line - y) ** 2)))
    # Fitted once more on all the samples for the prediction.
    np.testing.assert_allclose(
        blend.estimators_[0].coef_, Ridge(alpha=1.0).fit(X, y).coef_
    )


def test_a_pipeline_gives_its_last_steps_leave_one_out(curve):
    X, y = curve
    pipeline = make_pipeline(StandardScaler(), kernel())
    blend = BlendingRegressor([("kernel", pipeline), ("line", Ridge())]).fit(X, y)
    loo = blend.estimators_[0][-1].loo_predictions_
    assert blend.held_out_rmse_[0] == pytest.approx(np.sqrt(np.mean((loo - y) ** 2)))


def test_a_useless_regressor_gets_no_weight_and_no_call(curve, monkeypatch):
    X, y = curve
    blend = BlendingRegressor([("mean", DummyRegressor()), ("kernel", kernel())])
    blend.fit(X, y)
    np.testing.assert_array_equal(blend.weights_, [0.0, 1.0])

    def refuse(*args, **kwargs):
        raise AssertionError("a regressor of weight 0 was asked to predict")

    monkeypatch.setattr(blend.estimators_[0], "predict", refuse)
    np.testing.assert_allclose(
        blend.predict(X[:5]), blend.estimators_[1].predict(X[:5])
    )
    # Its missing std does not matter either.
    mean, std = blend.predict(X[:5], return_std=True)
    assert np.all(std > 0)


def test_std_is_the_calibrated_weighted_std(curve):
    X, y = curve
    blend = BlendingRegressor([("narrow", kernel(3.0)), ("wide", kernel(0.05))])
    blend.fit(X[:100], y[:100])
    narrow, wide = blend.estimators_
    weighted_loo_std = blend.weights_ @ [narrow.loo_std_, wide.loo_std_]
    errors = blend.weights_ @ [narrow.loo_predictions_, wide.loo_predictions_] - y[:100]
    assert np.mean((errors / (blend.std_scale_ * weighted_loo_std)) ** 2) == (
        pytest.approx(1.0)
    )
    mean, std = blend.predict(X[100:], return_std=True)
    np.testing.assert_allclose(mean, blend.predict(X[100:]))
    stds = [model.predict(X[100:], return_std=True)[1] for model in blend.estimators_]
    np.testing.assert_allclose(std, blend.std_scale_ * (blend.weights_ @ stds))


def test_return_std_names_the_regressor_without_one(curve):
    X, y = curve
    blend = BlendingRegressor([("line", Ridge()), ("kernel", kernel())]).fit(X, y)
    assert blend.weights_[0] > 0 and blend.std_scale_ is None
    with pytest.raises(ValueError, match="'line' has none"):
        blend.predict(X[:3], return_std=True)


def test_nested_parameters_and_clone(curve):
    X, y = curve
    blend = BlendingRegressor([("line", Ridge()), ("kernel", kernel())])
    assert blend.get_params()["kernel__gamma"] == 1.0
    blend.set_params(kernel__gamma=0.5, line=DummyRegressor())
    assert blend.estimators[1][1].gamma == 0.5
    assert isinstance(blend.estimators[0][1], DummyRegressor)
    blend.fit(X, y)
    assert blend.estimators_[1] is not blend.estimators[1][1]  # cloned
    assert not hasattr(blend.estimators[1][1], "X_fit_")


@pytest.mark.parametrize(
    "estimators, message",
    [
        ([], "non-empty list of"),
        ([Ridge()], "non-empty list of"),
        ([("a", Ridge()), ("a", Ridge())], "Names provided are not unique"),
        ([("a", Ridge()), ("b", "ridge")], "'b' is no regressor"),
    ],
)
def test_bad_estimators_are_named(curve, estimators, message):
    X, y = curve
    with pytest.raises(ValueError, match=message):
        BlendingRegressor(estimators).fit(X, y)


def test_not_fitted_is_said(curve):
    with pytest.raises(NotFittedError):
        BlendingRegressor([("line", Ridge())]).predict(curve[0])


def test_one_regressor_is_that_regressor(curve):
    X, y = curve
    blend = BlendingRegressor([("kernel", GaussianProcessKernelRidgeCV())]).fit(X, y)
    np.testing.assert_array_equal(blend.weights_, [1.0])
    single = GaussianProcessKernelRidgeCV().fit(X, y)
    np.testing.assert_allclose(blend.predict(X[:5]), single.predict(X[:5]))


def test_xtb_blend_krr_blends_xtb_atoms_fchl_krr_with_a_slatm_kernel(qm7x_train):
    X, y = qm7x_train.data[:90], qm7x_train.target[:90]
    model = make_model("xtb-blend-krr").fit(X[:70], y[:70])
    blend = model.regressor_
    assert list(blend.named_estimators_) == ["atoms", "molecules"]
    assert isinstance(blend.named_estimators_.molecules[0], SlatmTransformer)
    assert blend.weights_.sum() == pytest.approx(1.0)
    # Measured: weights 0.81 and 0.19 on these 70 molecules.
    assert np.all(blend.weights_ > 0)
    # The first part is xtb-atoms-fchl-krr's own model, on the same
    # corrections, with the candidates of best that won in the record.
    atoms = make_model("xtb-atoms-fchl-krr").set_params(
        regressor__gammas=BEST_GAMMAS, regressor__alphas=BEST_ALPHAS
    )
    atoms.fit(X[:70], y[:70])
    np.testing.assert_allclose(
        blend.estimators_[0].predict(X[70:]),
        atoms.regressor_.predict(X[70:]),
        rtol=1e-9,
    )
    mean, std = model.predict(X[70:], return_std=True)
    assert mean.shape == std.shape == (20,) and np.all(std > 0)
    assert np.sqrt(np.mean((mean - y[70:]) ** 2)) < 0.2
    assert_invariant(model.predict, X[70:76], seeds=(2,), atol=1e-6)


class ShiftedRidge(Ridge):
    """A Ridge whose predict takes a parameter, to see where it goes."""

    def predict(self, X, shift=0.0):
        return super().predict(X) + shift


class ShiftedNeighbors(KNeighborsRegressor):
    """Nearest neighbours whose predict takes the same parameter."""

    def predict(self, X, shift=0.0):
        return super().predict(X) + shift


def line_and_tree():
    """Two regressors that take sample_weight, and mix on the curve."""
    return BlendingRegressor(
        [
            ("line", Ridge()),
            ("tree", DecisionTreeRegressor(max_depth=4, random_state=0)),
        ],
        cv=KFold(4, shuffle=True, random_state=0),
    )


def weighted_rmse(predictions, y, weights):
    return np.sqrt(np.average((predictions - y) ** 2, weights=weights))


def test_n_features_in_and_feature_names_are_the_first_regressors(curve):
    X, y = curve
    blend = BlendingRegressor([("line", Ridge()), ("kernel", kernel())])
    assert not hasattr(blend, "n_features_in_")
    blend.fit(X, y)
    assert blend.n_features_in_ == blend.estimators_[0].n_features_in_ == 2
    # Taken from the regressors, not from a check of X by the blend.
    assert "n_features_in_" not in vars(blend)
    assert not hasattr(blend, "feature_names_in_")  # NumPy input has none
    # The regressors check the width.
    with pytest.raises(ValueError, match="features"):
        blend.predict(np.ones((3, 5)))
    # The blend shows the names of its first regressor when it has some.
    names = np.array(["a", "b"], dtype=object)
    blend.estimators_[0].feature_names_in_ = names
    assert blend.feature_names_in_ is names


def test_data_frame_names_reach_the_regressors(curve):
    pd = pytest.importorskip("pandas")
    X, y = curve
    frame = pd.DataFrame(X, columns=["u", "v"])
    blend = BlendingRegressor([("line", Ridge()), ("kernel", kernel())]).fit(frame, y)
    np.testing.assert_array_equal(blend.feature_names_in_, ["u", "v"])
    np.testing.assert_array_equal(blend.estimators_[1].feature_names_in_, ["u", "v"])


def test_x_goes_to_the_regressors_as_it_is(curve):
    X, y = curve
    # Ridge and the tree take a sparse matrix, so the blend does too (its
    # own checks refused one): it needs no len(X) to predict.
    sparse = scipy.sparse.csr_matrix(X)
    blend = line_and_tree().fit(sparse, y)
    np.testing.assert_allclose(
        blend.predict(sparse[:5]), line_and_tree().fit(X, y).predict(X[:5])
    )


def test_predict_params_reach_every_regressor_with_a_weight(curve):
    X, y = curve
    blend = BlendingRegressor(
        [
            ("line", ShiftedRidge()),
            ("neighbors", ShiftedNeighbors()),
            ("mean", DummyRegressor()),
        ]
    ).fit(X, y)
    # Both shift, and the weights sum to one; DummyRegressor would
    # refuse the shift, but at weight 0 it is not asked.
    assert np.all(blend.weights_[:2] > 0) and blend.weights_[2] == 0
    np.testing.assert_allclose(
        blend.predict(X[:4], shift=2.0), blend.predict(X[:4]) + 2.0
    )


def test_sample_weight_weighs_the_regressors_and_the_choice(curve):
    X, y = curve
    weights = np.random.default_rng(1).uniform(0.0, 3.0, size=len(y))
    blend = line_and_tree().fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(
        blend.estimators_[0].coef_, Ridge().fit(X, y, sample_weight=weights).coef_
    )
    # Each fold's fit is weighted too, and the weights choose the mix.
    line, tree = (
        cross_val_predict(
            clone(estimator), X, y, cv=blend.cv, params={"sample_weight": weights}
        )
        for _, estimator in blend.estimators
    )
    np.testing.assert_allclose(
        blend.held_out_rmse_,
        [weighted_rmse(p, y, weights) for p in (line, tree)],
    )
    shares = np.linspace(0, 1, 10001)
    rmse = [weighted_rmse(s * line + (1 - s) * tree, y, weights) for s in shares]
    assert 0 < blend.weights_[0] < 1
    assert blend.weights_[0] == pytest.approx(shares[np.argmin(rmse)], abs=2e-4)
    assert blend.blend_held_out_rmse_ == pytest.approx(min(rmse), rel=1e-6)
    # Not the unweighted choice; unit weights are no weights.
    unweighted = line_and_tree().fit(X, y)
    assert abs(unweighted.weights_[0] - blend.weights_[0]) > 0.01
    np.testing.assert_allclose(
        line_and_tree().fit(X, y, sample_weight=np.ones(len(y))).weights_,
        unweighted.weights_,
        atol=1e-8,
    )


def test_sample_weight_as_a_list_is_checked_and_left_alone(curve):
    X, y = curve
    weights = np.linspace(0.5, 2.0, len(y))
    before = weights.copy()
    from_list = line_and_tree().fit(X, y, sample_weight=weights.tolist())
    np.testing.assert_array_equal(weights, before)
    np.testing.assert_allclose(
        from_list.weights_, line_and_tree().fit(X, y, sample_weight=weights).weights_
    )
    with pytest.raises(ValueError, match="sample_weight"):
        line_and_tree().fit(X, y, sample_weight=weights[:-1])
    with pytest.raises(ValueError, match="[Nn]egative"):
        line_and_tree().fit(X, y, sample_weight=-weights)


def test_without_routing_sample_weight_needs_every_regressor(curve, monkeypatch):
    X, y = curve
    blend = BlendingRegressor([("line", Ridge()), ("kernel", kernel())])

    # Refused before any regressor is fitted.
    def refuse(self, X, y, sample_weight=None):
        raise AssertionError("a regressor was fitted")

    monkeypatch.setattr(Ridge, "fit", refuse)
    with pytest.raises(TypeError, match="'kernel' .*does not take it"):
        blend.fit(X, y, sample_weight=np.ones(len(y)))
    # Other fit parameters need routing, as in VotingRegressor.
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        blend.fit(X, y, groups=np.zeros(len(y)))


def test_metadata_routing_sends_each_regressor_what_it_requests(curve):
    X, y = curve
    weights = np.random.default_rng(2).uniform(0.5, 2.0, size=len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        line = ShiftedRidge().set_fit_request(sample_weight=True)
        blend = BlendingRegressor(
            [("line", line.set_predict_request(shift=True)), ("kernel", kernel())]
        ).fit(X, y, sample_weight=weights)
        # The line is weighted; the kernel, which requests nothing, is not.
        np.testing.assert_allclose(
            blend.estimators_[0].coef_,
            Ridge().fit(X, y, sample_weight=weights).coef_,
        )
        assert 0 < blend.weights_[0] < 1
        np.testing.assert_allclose(
            blend.predict(X[:4], shift=3.0),
            blend.predict(X[:4]) + 3.0 * blend.weights_[0],
        )
        # A regressor that takes sample_weight must say whether it wants it.
        with pytest.raises(UnsetMetadataPassedError, match="Ridge.fit"):
            BlendingRegressor([("line", Ridge()), ("kernel", kernel())]).fit(
                X, y, sample_weight=weights
            )
        # The blend requests its own sample_weight from a router above it.
        outer = cross_validate(
            BlendingRegressor([("line", Ridge().set_fit_request(sample_weight=True))])
            .set_fit_request(sample_weight=True)
            .set_score_request(sample_weight=False),
            X,
            y,
            cv=KFold(3),
            params={"sample_weight": weights},
            return_estimator=True,
        )
    for (train, _), fold in zip(KFold(3).split(X), outer["estimator"], strict=True):
        expected = Ridge().fit(X[train], y[train], sample_weight=weights[train])
        np.testing.assert_allclose(fold.estimators_[0].coef_, expected.coef_)
    # The same fit without routing sends sample_weight to every regressor.
    without = BlendingRegressor([("line", Ridge()), ("other", Ridge(50.0))])
    with sklearn.config_context(enable_metadata_routing=True):
        routed = BlendingRegressor(
            [
                ("line", Ridge().set_fit_request(sample_weight=True)),
                ("other", Ridge(50.0).set_fit_request(sample_weight=True)),
            ]
        ).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(
        routed.weights_, without.fit(X, y, sample_weight=weights).weights_
    )
