import numpy as np
import pytest
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import PairwiseKernel
from sklearn.kernel_ridge import KernelRidge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline

from skqm7x import (
    AtomicReferenceRegressor,
    BagOfBondsTransformer,
    CoulombMatrixTransformer,
    GaussianProcessKernelRidge,
    GaussianProcessKernelRidgeCV,
    available_models,
    make_model,
)
from skqm7x.recipes import BEST
from tests.helpers import assert_search_chose_its_best


@pytest.fixture(scope="module")
def features(qm7x_train):
    """Bag-of-bonds features and reference residuals of 120 molecules."""
    X, y = qm7x_train.data[:120], qm7x_train.target[:120]
    reference = AtomicReferenceRegressor().fit(X, y)
    return BagOfBondsTransformer(exponent=3.0).fit_transform(X), y - reference.predict(
        X
    )


@pytest.mark.parametrize("kernel", ["laplacian", "rbf"])
def test_mean_is_kernel_ridge_and_std_is_the_gaussian_process(features, kernel):
    F, r = features
    gamma = 1e-4 if kernel == "laplacian" else 1e-6
    train, test = slice(0, 90), slice(90, None)
    model = GaussianProcessKernelRidge(kernel=kernel, gamma=gamma, alpha=1e-6)
    mean, std = model.fit(F[train], r[train]).predict(F[test], return_std=True)
    ridge = KernelRidge(kernel=kernel, gamma=gamma, alpha=1e-6).fit(F[train], r[train])
    np.testing.assert_allclose(mean, ridge.predict(F[test]), rtol=1e-6, atol=1e-8)
    process = GaussianProcessRegressor(
        PairwiseKernel(gamma=gamma, metric=kernel, gamma_bounds="fixed"),
        alpha=1e-6,
        optimizer=None,
    ).fit(F[train], r[train])
    process_mean, process_std = process.predict(F[test], return_std=True)
    np.testing.assert_allclose(mean, process_mean, rtol=1e-6, atol=1e-8)
    # Same posterior, plus the noise of a new observation, times the scale.
    np.testing.assert_allclose(
        std, model.std_scale_ * np.sqrt(process_std**2 + 1e-6), rtol=1e-5
    )


def test_std_scale_is_the_leave_one_out_calibration(features):
    F, r = features
    F, r = F[:40], r[:40]
    model = GaussianProcessKernelRidge(gamma=1e-4, alpha=1e-6).fit(F, r)
    z = []
    for i in range(len(r)):
        rest = np.arange(len(r)) != i
        unit = GaussianProcessKernelRidge(gamma=1e-4, alpha=1e-6).fit(F[rest], r[rest])
        mean, std = unit.predict(F[i : i + 1], return_std=True)
        z.append((r[i] - mean[0]) / (std[0] / unit.std_scale_))
    assert model.std_scale_ == pytest.approx(np.sqrt(np.mean(np.square(z))), rel=1e-4)


def test_leave_one_out_predictions_and_stds_match_refits(features):
    F, r = features
    F, r = F[:40], r[:40]
    model = GaussianProcessKernelRidge(gamma=1e-4, alpha=1e-6).fit(F, r)
    means, unit_stds = [], []
    for i in range(len(r)):
        rest = np.arange(len(r)) != i
        fold = GaussianProcessKernelRidge(gamma=1e-4, alpha=1e-6).fit(F[rest], r[rest])
        mean, std = fold.predict(F[i : i + 1], return_std=True)
        means.append(mean[0])
        unit_stds.append(std[0] / fold.std_scale_)
    np.testing.assert_allclose(model.loo_predictions_, means, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(
        model.loo_std_, model.std_scale_ * np.array(unit_stds), rtol=1e-5
    )
    # The calibration: the held-out errors over their stds have unit mean square.
    z = (model.loo_predictions_ - r) / model.loo_std_
    assert np.mean(z**2) == pytest.approx(1.0)


def test_cv_chooses_the_pair_of_lowest_leave_one_out_error(features):
    F, r = features
    F, r = F[:60], r[:60]
    gammas, alphas = [1e-5, 1e-4, 1e-3], [1e-8, 1e-4, 1e-1]
    model = GaussianProcessKernelRidgeCV(gammas=gammas, alphas=alphas).fit(F, r)
    assert model.loo_rmse_.shape == (3, 3)
    for i, gamma in enumerate(gammas):
        for j, alpha in enumerate(alphas):
            fixed = GaussianProcessKernelRidge(gamma=gamma, alpha=alpha).fit(F, r)
            rmse = np.sqrt(np.mean((fixed.loo_predictions_ - r) ** 2))
            assert model.loo_rmse_[i, j] == pytest.approx(rmse, rel=1e-6)
    best = np.unravel_index(np.argmin(model.loo_rmse_), model.loo_rmse_.shape)
    assert (model.gamma_, model.alpha_) == (gammas[best[0]], alphas[best[1]])
    # Then it is the fixed model at that pair, std included.
    fixed = GaussianProcessKernelRidge(gamma=model.gamma_, alpha=model.alpha_)
    expected = fixed.fit(F, r).predict(F[:5] * 1.01, return_std=True)
    got = model.predict(F[:5] * 1.01, return_std=True)
    for value, want in zip(got, expected, strict=True):
        np.testing.assert_allclose(value, want, rtol=1e-9)
    np.testing.assert_allclose(model.loo_predictions_, fixed.loo_predictions_)


@pytest.mark.parametrize("kernel", ["laplacian", "rbf"])
def test_cv_computes_the_distances_once_for_every_width(features, kernel, monkeypatch):
    F, r = features
    from skqm7x.models import _kernel_ridge

    calls = []
    distances = _kernel_ridge.kernel_distances

    def counted(kernel, X, Y=None):
        calls.append(Y is None)
        return distances(kernel, X, Y)

    monkeypatch.setattr(_kernel_ridge, "kernel_distances", counted)
    gammas = [1e-5, 1e-4, 1e-3]
    model = GaussianProcessKernelRidgeCV(kernel=kernel, gammas=gammas).fit(
        F[:50], r[:50]
    )
    assert calls == [True]
    # The same model as the kernel of scikit-learn's pairwise_kernels gives.
    ridge = KernelRidge(kernel=kernel, gamma=model.gamma_, alpha=model.alpha_)
    np.testing.assert_allclose(
        model.predict(F[50:60]),
        ridge.fit(F[:50], r[:50]).predict(F[50:60]),
        rtol=1e-6,
        atol=1e-8,
    )


def test_cv_reads_its_search_back_from_memory(features, tmp_path, monkeypatch):
    from skqm7x.models import _kernel_ridge

    F, r = features
    searches = []
    search = _kernel_ridge.search_kernel_ridge

    def counted(*args):
        searches.append(1)
        return search(*args)

    monkeypatch.setattr(_kernel_ridge, "search_kernel_ridge", counted)
    params = dict(kernel="rbf", gammas=[1e-4, 1e-3], alphas=[1e-6, 1e-3])
    plain = GaussianProcessKernelRidgeCV(**params).fit(F[:50], r[:50])
    first = GaussianProcessKernelRidgeCV(**params, memory=tmp_path).fit(F[:50], r[:50])
    again = GaussianProcessKernelRidgeCV(**params, memory=tmp_path).fit(F[:50], r[:50])
    assert len(searches) == 2
    for name in ("gamma_", "alpha_", "loo_rmse_", "dual_coef_", "inverse_cholesky_"):
        np.testing.assert_array_equal(getattr(again, name), getattr(plain, name))
    np.testing.assert_array_equal(
        again.predict(F[50:60], return_std=True),
        first.predict(F[50:60], return_std=True),
    )
    # Other targets are another search.
    GaussianProcessKernelRidgeCV(**params, memory=tmp_path).fit(F[:50], r[:50] + 1)
    assert len(searches) == 3


def test_cv_default_widths_follow_the_number_of_features(features):
    F, r = features
    model = GaussianProcessKernelRidgeCV().fit(F[:50], r[:50])
    assert model.loo_rmse_.shape == (3, 4)
    candidates = np.array([0.1, 1.0, 10.0]) / F.shape[1]
    assert np.isclose(candidates, model.gamma_).sum() == 1


@pytest.mark.parametrize(
    "params, message",
    [
        ({"gammas": []}, "gammas must be positive"),
        ({"alphas": [1e-3, -1.0]}, "alphas must be positive"),
        ({"gammas": [np.nan]}, "gammas must be positive"),
    ],
)
def test_cv_bad_candidates_are_named(features, params, message):
    F, r = features
    with pytest.raises(ValueError, match=f"GaussianProcessKernelRidgeCV: {message}"):
        GaussianProcessKernelRidgeCV(**params).fit(F[:20], r[:20])


def test_std_is_positive_and_grows_away_from_the_data(features):
    F, r = features
    model = GaussianProcessKernelRidge(gamma=1e-4, alpha=1e-6).fit(F[:100], r[:100])
    mean, std = model.predict(F[100:], return_std=True)
    assert mean.shape == std.shape == (20,)
    assert np.all(std > 0)
    _, far = model.predict(F[100:] + 1e3, return_std=True)
    assert np.all(far > 3 * std)
    # At a training point only the noise is left.
    _, seen = model.predict(F[:5], return_std=True)
    assert np.all(seen < 0.05 * far[:5])


def test_singular_kernel_asks_for_a_larger_alpha():
    X = np.repeat([[0.0, 1.0], [1.0, 0.0]], 3, axis=0)
    with pytest.raises(ValueError, match="increase alpha"):
        GaussianProcessKernelRidge(alpha=1e-300).fit(X, np.arange(6.0))
    # A search skips the penalties that leave it singular, or says so.
    model = GaussianProcessKernelRidgeCV(gammas=[1.0], alphas=[1e-300, 0.1])
    assert model.fit(X, np.arange(6.0)).alpha_ == 0.1
    assert model.loo_rmse_[0, 0] == np.inf
    with pytest.raises(ValueError, match="give larger alphas"):
        model.set_params(alphas=[1e-300]).fit(X, np.arange(6.0))


def test_grid_search_over_gamma_and_alpha(qm7x_train):
    X, y = qm7x_train.data[:150], qm7x_train.target[:150]
    search = GridSearchCV(
        make_pipeline(
            CoulombMatrixTransformer(upper_triangle=True),
            GaussianProcessKernelRidge(),
        ),
        {
            "gaussianprocesskernelridge__gamma": [1e-4, 1e-3, 1e-2],
            "gaussianprocesskernelridge__alpha": [1e-8, 1e-2],
        },
        cv=KFold(3, shuffle=True, random_state=0),
        scoring="neg_root_mean_squared_error",
    )
    model = AtomicReferenceRegressor(search, handle_unknown="ignore").fit(X, y)
    assert len(model.regressor_.cv_results_["params"]) == 6
    assert_search_chose_its_best(model.regressor_)
    # scikit-learn's search predicts from X alone: a clear error, not a TypeError.
    with pytest.raises(ValueError, match="GridSearchCV.predict does not"):
        model.predict(X[:10], return_std=True)


def test_the_kernel_models_give_a_std_through_their_search(qm7x_train):
    X, y = qm7x_train.data[:150], qm7x_train.target[:150]
    model = make_model("coulomb-krr").set_params(handle_unknown="ignore").fit(X, y)
    mean, std = model.predict(X[:10], return_std=True)
    np.testing.assert_allclose(mean, model.predict(X[:10]))
    assert std.shape == (10,) and np.all(std > 0)
    # The search's best pipeline gives the std; the reference adds none.
    best = model.regressor_.best_estimator_
    _, residual_std = best.predict(X[:10], return_std=True)
    np.testing.assert_array_equal(std, residual_std)


def test_return_std_needs_a_regressor(qm7x_train):
    X, y = qm7x_train.data[:30], qm7x_train.target[:30]
    reference = AtomicReferenceRegressor().fit(X, y)
    with pytest.raises(ValueError, match="return_std"):
        reference.predict(X, return_std=True)


def test_held_out_errors_are_calibrated(qm7x_train):
    X, y = qm7x_train.data[:200], qm7x_train.target[:200]
    model = AtomicReferenceRegressor(
        make_pipeline(
            BagOfBondsTransformer(exponent=3.0),
            GaussianProcessKernelRidge(gamma=1e-4, alpha=1e-9),
        ),
        handle_unknown="ignore",
    )
    z = []
    for train, test in KFold(4, shuffle=True, random_state=0).split(X):
        mean, std = model.fit(X[train], y[train]).predict(X[test], return_std=True)
        z.extend(np.abs(mean - y[test]) / std)
    # Measured: 0.725 within one std, 0.925 within 1.96 std (heavy tails).
    assert 0.6 < np.mean(np.less(z, 1)) < 0.85
    assert 0.88 < np.mean(np.less(z, 1.96)) <= 1


def test_best_is_an_alias_with_std(qm7x_train):
    assert BEST in available_models(with_std=True)
    assert BEST in available_models()["best"]
    X, y = qm7x_train.data[:80], qm7x_train.target[:80]
    best, named = make_model("best"), make_model(BEST)
    assert type(best) is type(named)
    assert best.regressor.get_params().keys() == named.regressor.get_params().keys()
    best.set_params(handle_unknown="ignore").fit(X[:60], y[:60])
    mean, std = best.predict(X[60:], return_std=True)
    assert mean.shape == std.shape == (20,)
    assert np.all(std > 0)
    # Far better than predicting the mean (11 eV) even on 60 molecules.
    assert np.sqrt(np.mean((mean - y[60:]) ** 2)) < 1.5


@pytest.mark.parametrize("name", ["coulomb-krr", "bob-krr", "mbtr-krr"])
def test_kernel_models_search_gamma_and_alpha(name):
    search = make_model(name).regressor
    assert isinstance(search, GridSearchCV)
    grid = search.param_grid
    assert len(grid["gaussianprocesskernelridge__gamma"]) > 1
    assert len(grid["gaussianprocesskernelridge__alpha"]) > 1


def test_mbtr_krr_fits_and_predicts_a_std(qm7x_train):
    X, y = qm7x_train.data[:100], qm7x_train.target[:100]
    model = make_model("mbtr-krr").set_params(handle_unknown="ignore")
    model.fit(X[:75], y[:75])
    mean, std = model.predict(X[75:], return_std=True)
    assert mean.shape == std.shape == (25,)
    assert np.all(std > 0)
    # Measured: 0.168 eV on these 25 molecules (bob-krr: 0.303 eV).
    assert np.sqrt(np.mean((mean - y[75:]) ** 2)) < 0.25


def test_scattering_krr_on_a_tiny_subset(qm7x_train):
    X, y = qm7x_train.data[:60], qm7x_train.target[:60]
    model = make_model("scattering-krr").set_params(
        handle_unknown="ignore",
        regressor__gridsearchcv__cv=KFold(3, shuffle=True, random_state=0),
        regressor__solidharmonicscatteringtransformer__J=1,
        regressor__solidharmonicscatteringtransformer__L=1,
        regressor__solidharmonicscatteringtransformer__grid_shape=(24, 24, 24),
        regressor__solidharmonicscatteringtransformer__device="cpu",
    )
    model.fit(X[:45], y[:45])
    search = model.regressor_.named_steps["gridsearchcv"]
    tried = {
        params["gaussianprocesskernelridge__kernel"]
        for params in search.cv_results_["params"]
    }
    assert tried == {"rbf", "laplacian"}
    assert_search_chose_its_best(search)
    mean, std = model.predict(X[45:], return_std=True)
    assert mean.shape == std.shape == (15,)
    assert np.all(np.isfinite(mean)) and np.all(std > 0)


def test_a_precomputed_kernel_gives_what_the_named_kernel_gives(features):
    from sklearn.metrics.pairwise import laplacian_kernel

    F, r = features
    train, test = slice(0, 90), slice(90, None)
    named = GaussianProcessKernelRidge(gamma=1e-4, alpha=1e-6).fit(F[train], r[train])
    K = laplacian_kernel(F[train], gamma=1e-4)
    given = GaussianProcessKernelRidge(kernel="precomputed", alpha=1e-6).fit(
        K, r[train]
    )
    assert given.gamma_ is None
    np.testing.assert_allclose(
        given.predict(laplacian_kernel(F[test], F[train], gamma=1e-4)),
        named.predict(F[test]),
        rtol=1e-10,
    )
    for attribute in ("dual_coef_", "loo_predictions_", "loo_std_", "std_scale_"):
        np.testing.assert_allclose(
            getattr(given, attribute), getattr(named, attribute), rtol=1e-10
        )

    search = GaussianProcessKernelRidgeCV(gammas=[1e-5, 1e-4], alphas=[1e-6, 1e-2])
    search.fit(F[train], r[train])
    search_given = GaussianProcessKernelRidgeCV(
        kernel="precomputed", alphas=[1e-6, 1e-2]
    ).fit(K, r[train])
    assert search_given.loo_rmse_.shape == (1, 2)
    np.testing.assert_allclose(search_given.loo_rmse_[0], search.loo_rmse_[1])


def test_a_precomputed_kernel_is_cross_validated_by_its_rows_and_columns(features):
    from sklearn.metrics.pairwise import laplacian_kernel
    from sklearn.model_selection import cross_val_predict

    F, r = features
    folds = KFold(4, shuffle=True, random_state=0)
    named = cross_val_predict(GaussianProcessKernelRidge(gamma=1e-4), F, r, cv=folds)
    given = cross_val_predict(
        GaussianProcessKernelRidge(kernel="precomputed"),
        laplacian_kernel(F, gamma=1e-4),
        r,
        cv=folds,
    )
    np.testing.assert_allclose(given, named, rtol=1e-10)


@pytest.mark.parametrize(
    ("model", "kernel", "message"),
    [
        (
            GaussianProcessKernelRidge(kernel="precomputed", gamma=1.0),
            "square",
            "takes no gamma",
        ),
        (
            GaussianProcessKernelRidgeCV(kernel="precomputed", gammas=[1.0]),
            "square",
            "takes no gammas",
        ),
        (
            GaussianProcessKernelRidge(kernel="precomputed"),
            "wide",
            r"square kernel of the training samples, got shape \(3, 4\)",
        ),
        (
            GaussianProcessKernelRidgeCV(kernel="precomputed"),
            "lopsided",
            "not symmetric",
        ),
    ],
)
def test_a_precomputed_kernel_that_cannot_be_one_is_refused(model, kernel, message):
    kernels = {
        "square": np.eye(3),
        "wide": np.ones((3, 4)),
        "lopsided": np.eye(3) + np.triu(np.full((3, 3), 0.1), 1),
    }
    with pytest.raises(ValueError, match=message):
        model.fit(kernels[kernel], [1.0, 2.0, 3.0])


def test_a_precomputed_kernel_predicts_no_std():
    model = GaussianProcessKernelRidge(kernel="precomputed").fit(np.eye(3), [1, 2, 3])
    np.testing.assert_allclose(model.predict(np.eye(3)[:1]), model.dual_coef_[:1])
    with pytest.raises(ValueError, match=r"predicts no std.*k\(x, x\)"):
        model.predict(np.eye(3)[:1], return_std=True)
