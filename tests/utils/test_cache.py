"""The caches of the estimators when their folder cannot be written."""

import errno
import gc
import pickle
import tempfile
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

import skqm7x._utils._cache as cache
from skqm7x import (
    LocalKernelRidge,
    SolidHarmonicScatteringTransformer,
    TightBindingEnergyTransformer,
    make_model,
    make_scattering_ridge,
)


@pytest.fixture
def full_disk(monkeypatch):
    """Every write into a cache fails as on a full disk."""

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache, "atomic_open", no_space)
    monkeypatch.setattr(cache, "_UNWRITABLE", set())


def test_a_cache_that_cannot_be_written_warns_once(full_disk, tmp_path):
    calls = []

    def squares(indices):
        calls.append(len(indices))
        return np.arange(3.0)[indices, None] ** 2

    with pytest.warns(RuntimeWarning, match="No space left on device"):
        rows = cache.cached_rows(squares, ["a", "b", "c"], tmp_path)
    np.testing.assert_array_equal(rows.ravel(), [0.0, 1.0, 4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning
        rows = cache.cached_rows(squares, ["a", "b", "c"], tmp_path)
    np.testing.assert_array_equal(rows.ravel(), [0.0, 1.0, 4.0])
    assert calls == [3, 3]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "make",
    [
        lambda memory: SolidHarmonicScatteringTransformer(J=1, L=1, memory=memory),
        lambda memory: TightBindingEnergyTransformer(memory=memory),
        lambda memory: make_pipeline(
            LocalKernelRidge(gammas=1 / 32, alphas=1e-6, memory=memory)
        ),
    ],
    ids=["scattering", "tight-binding", "local-kernel"],
)
def test_a_folder_in_the_way_is_no_failure(make, small_molecules, tmp_path):
    X, y = small_molecules
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")

    def output(model):
        if hasattr(model, "transform"):
            return model.fit_transform(X[:3])
        return model.fit(X[:8], y[:8]).predict(X[8:10])

    with pytest.warns(RuntimeWarning, match="Cannot write the cache in .*file"):
        computed = output(make(blocked / "cache"))
    np.testing.assert_allclose(computed, output(make(None)))


def test_a_search_on_a_full_disk_fits_every_candidate(
    full_disk, small_molecules, tmp_path
):
    X, y = small_molecules
    search = make_scattering_ridge(memory=tmp_path, J=1, L=1)
    (key,) = search.param_grid
    search.set_params(param_grid={key: search.param_grid[key][::5]})
    with pytest.warns(RuntimeWarning, match="Cannot write the cache"):
        search.fit(X[:10], y[:10])
    assert np.all(np.isfinite(search.cv_results_["mean_test_rmse"]))


@pytest.mark.parametrize("name", ["mbtr-krr", "scattering-ridge"])
def test_temporary_caches_leave_with_the_models(name, small_molecules, tmp_path):
    """Clones and unpickled copies, refitted after the original is gone."""
    X, y = small_molecules
    X, y = X[:12], y[:12]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(tmp_path))
        model = make_model(name)
        copy = clone(model)
        saved = pickle.dumps(model)
        del model
        gc.collect()
        copy.fit(X, y)
        del copy
        gc.collect()
        loaded = pickle.loads(saved)
        loaded.fit(X, y)
        assert len(list(tmp_path.glob("skqm7x-*"))) == 1  # the loaded model's
        del loaded
        gc.collect()
    assert list(tmp_path.iterdir()) == []
