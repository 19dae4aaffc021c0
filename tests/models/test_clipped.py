"""Tests of ClippedRegressor (skqm7x.models._clipped)."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skqm7x import ClippedRegressor


@pytest.fixture
def saturating():
    # A target that levels off: a line fitted to it overshoots at the ends.
    rng = np.random.default_rng(0)
    X = rng.uniform(-3, 3, size=(200, 2))
    return X, np.tanh(X[:, 0]) + 0.01 * rng.normal(size=200)


def test_predictions_stay_within_the_training_targets(saturating):
    X, y = saturating
    clipped = ClippedRegressor(Ridge()).fit(X, y)
    np.testing.assert_allclose(clipped.target_range_, [y.min(), y.max()])
    far = np.array([[-30.0, 0.0], [0.5, 0.0], [30.0, 0.0]])
    line = Ridge().fit(X, y).predict(far)
    assert line[0] < y.min() and line[2] > y.max()
    np.testing.assert_allclose(clipped.predict(far), np.clip(line, y.min(), y.max()))
    np.testing.assert_allclose(clipped.predict(far)[1], line[1])


def test_default_regressor_is_a_linear_regression(saturating):
    X, y = saturating
    clipped = ClippedRegressor().fit(X, y)
    assert isinstance(clipped.regressor_, LinearRegression)
    assert clipped.regressor is None


def test_fit_params_reach_the_regressor(saturating):
    X, y = saturating
    weights = np.linspace(0.1, 2.0, len(y))
    clipped = ClippedRegressor(Ridge()).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(
        clipped.regressor_.coef_, Ridge().fit(X, y, sample_weight=weights).coef_
    )


def test_a_search_scores_the_clipped_predictions(saturating):
    X, y = saturating
    cv = KFold(5, shuffle=True, random_state=0)
    pipeline = make_pipeline(StandardScaler(), ClippedRegressor(Ridge()))
    search = GridSearchCV(
        pipeline,
        {"clippedregressor__regressor__alpha": [1e-3, 1e3]},
        scoring="neg_mean_squared_error",
        cv=cv,
    ).fit(X, y)
    for index, alpha in enumerate([1e-3, 1e3]):
        pipeline.set_params(clippedregressor__regressor__alpha=alpha)
        predicted = np.empty_like(y)
        fold_scores = []
        for train, test in cv.split(X):
            fitted = pipeline.fit(X[train], y[train])
            predicted[test] = fitted.predict(X[test])
            assert np.all(predicted[test] <= y[train].max())
            fold_scores.append(-np.mean((predicted[test] - y[test]) ** 2))
        np.testing.assert_allclose(
            search.cv_results_["mean_test_score"][index], np.mean(fold_scores)
        )
    # On a target that levels off, the clipped line errs less than the line.
    alpha = search.best_params_["clippedregressor__regressor__alpha"]
    line = make_pipeline(StandardScaler(), Ridge(alpha=alpha))
    unclipped = cross_val_predict(line, X, y, cv=cv)
    clipped = cross_val_predict(search.best_estimator_, X, y, cv=cv)
    assert np.mean((clipped - y) ** 2) < np.mean((unclipped - y) ** 2)


def test_the_regressor_validates_the_input(saturating):
    from sklearn.ensemble import HistGradientBoostingRegressor

    X, y = saturating
    X = X.copy()
    X[::7, 1] = np.nan  # which the wrapped model takes, and so the wrapper
    clipped = ClippedRegressor(HistGradientBoostingRegressor(max_iter=5)).fit(X, y)
    assert np.all(np.isfinite(clipped.predict(X)))
    assert clipped.__sklearn_tags__().input_tags.allow_nan
    with pytest.raises(ValueError, match="NaN"):
        ClippedRegressor(Ridge()).fit(X, y)


def test_n_features_in_is_the_regressors(saturating):
    X, y = saturating
    clipped = ClippedRegressor(Ridge())
    assert not hasattr(clipped, "n_features_in_")
    clipped.fit(X, y)
    assert clipped.n_features_in_ == clipped.regressor_.n_features_in_ == 2
    with pytest.raises(ValueError, match="2 features"):
        clipped.predict(X[:, :1])


def test_return_std_is_passed_on(saturating):
    from sklearn.gaussian_process import GaussianProcessRegressor

    X, y = saturating
    process = GaussianProcessRegressor().fit(X[:50], y[:50])
    clipped = ClippedRegressor(GaussianProcessRegressor()).fit(X[:50], y[:50])
    far = np.array([[-30.0, 0.0], [0.5, 0.0]])
    mean, std = clipped.predict(far, return_std=True)
    expected_mean, expected_std = process.predict(far, return_std=True)
    np.testing.assert_allclose(mean, np.clip(expected_mean, y[:50].min(), y[:50].max()))
    np.testing.assert_allclose(std, expected_std)
