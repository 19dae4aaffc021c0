"""The caches of the estimators when their folder cannot be written."""

import errno
import gc
import hashlib
import io
import os
import pickle
import stat
import tempfile
import warnings

import joblib._store_backends
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

    monkeypatch.setattr(cache, "_new_file", no_space)
    # joblib's own files (the cached function's code, its results).
    monkeypatch.setattr(joblib._store_backends, "concurrency_safe_write", no_space)
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
    model = make_scattering_ridge(memory=tmp_path, J=1, L=1)
    search = model.named_steps["gridsearchcv"]
    (key,) = search.param_grid
    search.set_params(param_grid={key: search.param_grid[key][::5]})
    with pytest.warns(RuntimeWarning, match="Cannot write the cache"):
        model.fit(X[:10], y[:10])
    assert np.all(np.isfinite(search.cv_results_["mean_test_rmse"]))


def test_temporary_caches_leave_with_the_models(small_molecules, tmp_path):
    """Clones and unpickled copies, refitted after the original is gone."""
    X, y = small_molecules
    X, y = X[:12], y[:12]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(tmp_path))
        model = make_model("mbtr-krr")
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


class _Planted:
    """A pickle that leaves a mark when it is loaded."""

    def __init__(self, mark):
        self.mark = mark

    def __reduce__(self):
        return (open, (self.mark, "w"))


def _planted_cache(folder, mark):
    """A joblib cache in ``folder`` whose every result would run code."""
    import joblib

    def double(x):
        return 2 * x

    memory = joblib.Memory(folder, verbose=0)
    memory.cache(double)(3)
    for output in folder.rglob("output.pkl"):
        output.write_bytes(pickle.dumps(_Planted(str(mark))))


def test_a_cache_others_can_write_is_refused_before_it_is_read(
    small_molecules, tmp_path
):
    X, y = small_molecules
    folder, mark = tmp_path / "shared", tmp_path / "ran"
    folder.mkdir()
    _planted_cache(folder, mark)
    folder.chmod(0o777)
    with pytest.raises(PermissionError, match="writable by group or others"):
        make_model("bob-krr", memory=folder)
    with pytest.raises(PermissionError, match="writable by group or others"):
        TightBindingEnergyTransformer(memory=folder).fit_transform(X[:2])
    assert not mark.exists()
    # Private again, the same folder is the user's own cache.
    folder.chmod(0o700)
    cache._PRIVATE.clear()
    make_model("bob-krr", memory=folder)


def test_an_open_cache_holding_a_writable_folder_is_refused(tmp_path):
    folder = tmp_path / "cache"
    (folder / "inner").mkdir(parents=True)
    folder.chmod(0o755)
    (folder / "inner").chmod(0o777)
    with pytest.raises(PermissionError, match="inner, writable by group"):
        make_model("bob-krr", memory=folder)
    # Where only its owner may enter, what is inside cannot be reached.
    folder.chmod(0o700)
    make_model("bob-krr", memory=folder)


def test_a_link_inside_the_cache_is_refused(tmp_path):
    folder = tmp_path / "cache"
    (folder / "rows").mkdir(parents=True)
    (folder / "rows" / "a.npy").symlink_to(tmp_path / "elsewhere.npy")
    with pytest.raises(PermissionError, match="holds a symbolic link"):
        make_model("bob-krr", memory=folder)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="giving a file to another user needs root",
)
def test_a_file_of_another_user_is_refused(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / "output.pkl").write_bytes(b"x")
    os.chown(folder / "output.pkl", 65534, 65534)
    with pytest.raises(PermissionError, match="belongs to user 65534"):
        make_model("bob-krr", memory=folder)


def test_a_new_cache_folder_is_its_owners_alone(tmp_path):
    folder = tmp_path / "new" / "cache"
    make_model("bob-krr", memory=folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700


def test_a_damaged_or_changed_row_is_computed_again(tmp_path):
    calls = []

    def squares(indices):
        calls.append(indices.tolist())
        return np.arange(4.0)[indices, None] ** 2

    keys = ["a", "b", "c", "d"]
    first = cache.cached_rows(squares, keys, tmp_path)
    assert oct(stat.S_IMODE((tmp_path / "a.npy").stat().st_mode)) == "0o600"
    for whole in tmp_path.glob("rows-*.npy"):
        whole.unlink()
    # One row cut short, one changed with a valid array of its own.
    data = (tmp_path / "b.npy").read_bytes()
    (tmp_path / "b.npy").write_bytes(data[:20])
    buffer = io.BytesIO()
    np.save(buffer, np.array([1000.0]))
    (tmp_path / "c.npy").write_bytes(buffer.getvalue() + data[-32:])
    again = cache.cached_rows(squares, keys, tmp_path)
    np.testing.assert_array_equal(again, first)
    assert calls == [[0, 1, 2, 3], [1, 2]]
    # Replaced, they read back as computed.
    for whole in tmp_path.glob("rows-*.npy"):
        whole.unlink()
    np.testing.assert_array_equal(cache.cached_rows(squares, keys, tmp_path), first)
    assert len(calls) == 2


@pytest.mark.parametrize("name", ["best", "sparse-fchl-krr", "bob-krr"])
def test_a_full_disk_warns_and_every_model_goes_on(
    name, full_disk, small_molecules, tmp_path
):
    _fits_as_without_a_cache_and_warns_once(
        name, tmp_path / "cache", small_molecules, "No space left on device"
    )
    # Nothing left behind but joblib's note to git.
    left = [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert left in ([], [".gitignore"])


@pytest.mark.parametrize("name", ["best", "bob-krr", "fchl-krr", "sparse-fchl-krr"])
def test_a_cache_folder_that_cannot_be_made_warns_once(name, small_molecules, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    _fits_as_without_a_cache_and_warns_once(
        name, blocked / "cache", small_molecules, "Cannot write the cache in"
    )


def _fits_as_without_a_cache_and_warns_once(name, memory, molecules, message):
    """Fit ``make_model(name, memory=memory)``: one warning, the uncached result."""
    X, y = molecules
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = make_model(name, memory=memory).fit(X[:16], y[:16])
    messages = [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert len(messages) == 1 and message in messages[0]
    np.testing.assert_allclose(
        model.predict(X[16:]), make_model(name).fit(X[:16], y[:16]).predict(X[16:])
    )


def test_a_changed_joblib_result_is_computed_again(small_molecules, tmp_path):
    X, y = small_molecules
    expected = LocalKernelRidge(gammas=1 / 32, alphas=1e-6).fit(X[:16], y[:16])
    LocalKernelRidge(gammas=1 / 32, alphas=1e-6, memory=tmp_path).fit(X[:16], y[:16])
    outputs = sorted(tmp_path.rglob("output.pkl"))
    assert outputs and all(p.with_suffix(".sha256").is_file() for p in outputs)
    # Each result replaced by a valid pickle of something else, its digest
    # left as it was: none may be read back.
    for output in outputs:
        output.write_bytes(pickle.dumps(np.zeros(3)))
    again = LocalKernelRidge(gammas=1 / 32, alphas=1e-6, memory=tmp_path)
    again.fit(X[:16], y[:16])
    np.testing.assert_allclose(again.predict(X[16:]), expected.predict(X[16:]))
    # Computed again, and saved again with their digests.
    for output in outputs:
        digest = hashlib.sha256(output.read_bytes()).hexdigest()
        assert output.with_suffix(".sha256").read_text() == digest


def test_a_row_file_is_read_only_as_the_cache_writes_it(tmp_path):
    import hashlib
    import io

    row = np.arange(6.0).reshape(2, 3)
    cache._save(tmp_path / "row.npy", row)
    loaded = cache._load(tmp_path / "row.npy")
    np.testing.assert_array_equal(loaded, row)
    assert loaded.flags.writeable
    # A digest that matches does not make any .npy acceptable: a header
    # version the cache never writes, or a payload of another size, is
    # refused (None: computed again).
    for version, payload_end in [((3, 0), None), ((1, 0), -8)]:
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, row, version=version)
        payload = buffer.getvalue()[:payload_end]
        path = tmp_path / f"odd{version[0]}.npy"
        path.write_bytes(payload + hashlib.sha256(payload).digest())
        assert cache._load(path) is None
