"""The ready-made models of skqm7x.recipes."""

import pytest

import skqm7x


def test_reference_refuses_a_memory(tmp_path):
    with pytest.raises(ValueError, match=r"make_model\('reference'\) has nothing"):
        skqm7x.make_model("reference", memory=tmp_path)
    assert isinstance(
        skqm7x.make_model("reference", memory=None), skqm7x.AtomicReferenceRegressor
    )


@pytest.mark.parametrize("name", ["reference", "coulomb-mlp", "montavon-mlp"])
def test_a_model_without_parallel_work_refuses_n_jobs(name):
    with pytest.raises(ValueError, match=f"make_model\\('{name}'\\) has no work for"):
        skqm7x.make_model(name, n_jobs=2)
    skqm7x.make_model(name, n_jobs=1)


def test_every_search_gets_n_jobs_and_random_state():
    from sklearn.model_selection import GridSearchCV

    searched = []
    for name in skqm7x.available_models():
        if name in ("reference", "coulomb-mlp", "montavon-mlp"):
            continue
        model = skqm7x.make_model(name, n_jobs=3, random_state=7)
        for search in [model, *model.get_params().values()]:
            if isinstance(search, GridSearchCV):
                assert search.n_jobs == 3, name
                assert search.cv.random_state == 7, name
                searched.append(name)
    assert set(searched) == {
        "coulomb-krr",
        "bob-krr",
        "mbtr-krr",
        "scattering-krr",
        "scattering-ridge",
        "xtb-scattering-ridge",
    }


def test_montavon_mlp_trains_as_montavon_did():
    mlp = skqm7x.make_model("montavon-mlp").regressor[-1]
    assert mlp.activation == "tanh"
    assert mlp.standardize_inputs and mlp.fresh_draws and mlp.average_weights
    assert (mlp.solver, mlp.momentum, mlp.batch_size) == ("sgd", 0.0, 25)
    assert mlp.warmup_steps == 12500
    assert (mlp.expander.noise, mlp.expander.theta) == (1.0, 1.0)


def test_the_kernel_search_passes_return_std_to_its_best_pipeline():
    import inspect

    import numpy as np
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skqm7x.recipes import _kernel_ridge_search

    # scikit-learn's search predicts from X alone; the day it passes predict
    # parameters on, the recipes' subclass can go.
    assert list(inspect.signature(GridSearchCV.predict).parameters) == ["self", "X"]
    rng = np.random.default_rng(0)
    X = rng.uniform(-3, 3, size=(60, 2))
    y = np.sin(X[:, 0]) + 0.1 * X[:, 1]
    search = _kernel_ridge_search(
        make_pipeline(StandardScaler(), skqm7x.GaussianProcessKernelRidge()),
        gammas=[0.1, 1.0],
        alphas=[1e-6, 1e-2],
        kernels=("rbf",),
        n_splits=3,
    )
    assert isinstance(search, GridSearchCV)
    search.fit(X, y)
    best = search.best_estimator_
    np.testing.assert_array_equal(search.predict(X[:5]), best.predict(X[:5]))
    mean, std = search.predict(X[:5], return_std=True)
    expected_mean, expected_std = best.predict(X[:5], return_std=True)
    np.testing.assert_array_equal(mean, expected_mean)
    np.testing.assert_array_equal(std, expected_std)
