"""What only the sparse local kernel model does; what it shares with the exact
one is tested on both in test_local_kernel_ridge.py."""

import numpy as np
import pytest

from skqm7x import (
    LocalKernelRidge,
    SparseLocalKernelRidge,
    make_model,
    pack_molecules,
    unpack_molecules,
)
from skqm7x.models import local_kernels
from skqm7x.models._inducing import farthest_points, inducing_counts
from skqm7x.representations import fchl19_environments


def test_with_every_environment_representative_it_is_the_exact_model(molecules):
    X, r = molecules
    params = dict(gammas=0.125, alphas=1e-4)
    exact = LocalKernelRidge(**params).fit(X[:40], r[:40])
    sparse = SparseLocalKernelRidge(n_inducing=10**6, **params).fit(X[:40], r[:40])
    n_atoms = int(np.count_nonzero(unpack_molecules(X[:40])[0]))
    # Symmetric atoms share an environment: duplicates are left out.
    assert 0.9 * n_atoms < sparse.inducing_.n_molecules <= n_atoms
    np.testing.assert_allclose(
        sparse.predict(X[40:60]), exact.predict(X[40:60]), rtol=0, atol=1e-6
    )


def test_more_representative_atoms_come_closer_to_the_exact_model(molecules):
    X, r = molecules
    exact = LocalKernelRidge(gammas=1 / 32, alphas=1e-6).fit(X[:100], r[:100])
    gaps = []
    for n_inducing in (50, 200, 800):
        sparse = SparseLocalKernelRidge(
            n_inducing=n_inducing, gammas=1 / 32, alphas=1e-6
        )
        predicted = sparse.fit(X[:100], r[:100]).predict(X[100:])
        gaps.append(np.sqrt(np.mean((predicted - exact.predict(X[100:])) ** 2)))
    assert gaps[0] > gaps[1] > gaps[2]


def test_leave_one_out_choice_matches_refits(molecules):
    """The closed form equals refitting without each molecule (the
    representative atoms fixed)."""
    X, r = molecules
    X, r = X[:30], r[:30]
    alphas = [1e-6, 1e-3]
    model = SparseLocalKernelRidge(n_inducing=60, gammas=1 / 32, alphas=alphas)
    model.fit(X, r)
    # The subset-of-regressors solution refitted without each molecule in
    # turn, from the kernels themselves: w minimises |K_nm w - y|^2 +
    # alpha w^T K_mm w, solved as least squares (the normal equations would
    # square the condition number of K_mm).
    environments = fchl19_environments(X, elements=model.elements_)
    (K,) = local_kernels(environments, model.inducing_, [model.gamma_])
    (K_mm,) = local_kernels(model.inducing_, model.inducing_, [model.gamma_])
    values, vectors = np.linalg.eigh(K_mm)
    root = np.sqrt(np.clip(values, 0.0, None))[:, None] * vectors.T
    refitted = []
    for alpha in alphas:
        errors = []
        for i in range(30):
            kept = np.arange(30) != i
            stacked = np.vstack([K[kept], np.sqrt(alpha) * root])
            targets = np.concatenate([r[kept], np.zeros(len(root))])
            w = np.linalg.lstsq(stacked, targets, rcond=None)[0]
            errors.append(K[i] @ w - r[i])
        refitted.append(np.sqrt(np.mean(np.square(errors))))
    np.testing.assert_allclose(model.loo_rmse_[0], refitted, rtol=1e-6)


def test_std_is_the_projected_process_variance(molecules):
    """k(x, x) - Q(x, x) + alpha (1 + k (K_mn K_nm + alpha K_mm)^-1 k^T),
    from the kernels themselves, times the calibrated scale."""
    X, r = molecules
    model = SparseLocalKernelRidge(n_inducing=60, gammas=1 / 32, alphas=1e-3)
    model.fit(X[:40], r[:40])
    mean, std = model.predict(X[40:50], return_std=True)
    gammas = [model.gamma_]
    training = fchl19_environments(X[:40], model.elements_)
    queries = fchl19_environments(X[40:50], model.elements_)
    (K_nm,) = local_kernels(training, model.inducing_, gammas)
    (K_xm,) = local_kernels(queries, model.inducing_, gammas)
    (K_mm,) = local_kernels(model.inducing_, model.inducing_, gammas)
    (K_xx,) = local_kernels(queries, queries, gammas)
    A = K_nm.T @ K_nm + model.alpha_ * K_mm
    np.testing.assert_allclose(
        mean, K_xm @ np.linalg.solve(A, K_nm.T @ r[:40]), rtol=0, atol=1e-5
    )
    Q = np.einsum("ij,ji->i", K_xm, np.linalg.solve(K_mm, K_xm.T))
    sparse = np.einsum("ij,ji->i", K_xm, np.linalg.solve(A, K_xm.T))
    variance = np.diag(K_xx) - Q + model.alpha_ * (1.0 + sparse)
    np.testing.assert_allclose(std, model.std_scale_ * np.sqrt(variance), rtol=1e-4)


def test_farthest_points_spread_over_the_environments():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = np.vstack([centre + 0.1 * rng.normal(size=(50, 2)) for centre in centres])
    chosen = farthest_points(points, 3)
    # One point from each cluster, whatever their sizes.
    assert sorted(chosen // 50) == [0, 1, 2]
    np.testing.assert_array_equal(farthest_points(points, 3), chosen)


def test_farthest_points_stop_at_duplicates():
    points = np.repeat(np.eye(3), 4, axis=0)  # three points, four copies each
    assert len(farthest_points(points, 10)) == 3


def test_farthest_points_on_long_vectors_use_a_projection():
    rng = np.random.default_rng(1)
    centres = 20.0 * np.eye(4, 500)
    points = np.vstack([centre + rng.normal(size=(30, 500)) for centre in centres])
    assert sorted(farthest_points(points, 4) // 30) == [0, 1, 2, 3]


def test_representative_atoms_are_shared_by_element():
    charges = np.array([1] * 600 + [6] * 390 + [8] * 10)
    assert inducing_counts(charges, 100) == {1: 60, 6: 39, 8: 10}
    assert inducing_counts(charges, 1000) == {1: 600, 6: 390, 8: 10}
    assert inducing_counts(charges, 20) == {1: 20, 6: 20, 8: 10}


def test_representative_atoms_are_training_environments(molecules):
    X, r = molecules
    model = SparseLocalKernelRidge(n_inducing=100, gammas=1 / 32, alphas=1e-6)
    model.fit(X[:50], r[:50])
    training = fchl19_environments(X[:50], model.elements_)
    for vector, charge in zip(
        model.inducing_.vectors[::17], model.inducing_.charges[::17], strict=True
    ):
        same = training.vectors[training.charges == charge]
        assert np.min(np.abs(same - vector).sum(axis=1)) == 0
    assert set(model.inducing_.charges) == set(training.charges)


def test_std_is_calibrated_and_grows_away_from_the_training_set(molecules):
    X, r = molecules
    model = SparseLocalKernelRidge(n_inducing=300).fit(X[:100], r[:100])
    mean, std = model.predict(X[100:], return_std=True)
    assert np.all(std > 0)
    # A stretched molecule is far from everything seen.
    Z, R = unpack_molecules(X[100:105])
    stretched = pack_molecules(
        [(z[z > 0].astype(int), 1.6 * p[z > 0]) for z, p in zip(Z, R, strict=True)],
        n_atoms_max=X.shape[1] // 4,
    )
    _, far = model.predict(stretched, return_std=True)
    assert np.all(far > std[:5])


def test_memory_caches_the_kernels_to_the_representative_atoms(
    molecules, tmp_path, monkeypatch
):
    from skqm7x.models import _sparse_local_kernel_ridge

    X, r = molecules
    calls = []
    original = _sparse_local_kernel_ridge.local_kernels

    def counted(left, right, *args, **kwargs):
        calls.append(left.n_molecules)
        return original(left, right, *args, **kwargs)

    monkeypatch.setattr(_sparse_local_kernel_ridge, "local_kernels", counted)
    model = SparseLocalKernelRidge(n_inducing=100, memory=tmp_path)
    first = model.fit(X[:40], r[:40]).predict(X[40:50])
    # The representative atoms' own, the training molecules' in each of two
    # passes (one chunk each), the queries'.
    assert calls == [model.inducing_.n_molecules, 40, 40, 10]
    again = SparseLocalKernelRidge(n_inducing=100, memory=str(tmp_path))
    np.testing.assert_array_equal(again.fit(X[:40], r[:40]).predict(X[40:50]), first)
    assert len(calls) == 4  # all read from the cache


@pytest.mark.parametrize("name", ["sparse-fchl-krr", "xtb-sparse-fchl-krr"])
def test_ready_made_sparse_models_predict_with_std(name, qm7x_train):
    X, y = qm7x_train.data[:80], qm7x_train.target[:80]
    model = make_model(name).set_params(regressor__n_inducing=200)
    mean, std = model.fit(X[:60], y[:60]).predict(X[60:], return_std=True)
    assert mean.shape == std.shape == (20,)
    assert np.all(std > 0)
    assert np.sqrt(np.mean((mean - y[60:]) ** 2)) < 0.5


def test_chunks_and_processes_change_nothing(molecules, monkeypatch):
    from skqm7x.models import _sparse_local_kernel_ridge

    X, r = molecules
    params = dict(n_inducing=150, gammas=[0.125, 1 / 32], alphas=[1e-6, 1e-4])
    whole = SparseLocalKernelRidge(**params).fit(X[:80], r[:80])
    expected = whole.predict(X[80:], return_std=True)
    # About 10 molecules per chunk.
    monkeypatch.setattr(_sparse_local_kernel_ridge, "_CHUNK_ENTRIES", 20 * 150)
    assert len(_sparse_local_kernel_ridge.molecule_chunks(80, 150, 2)) == 8
    for n_jobs in (None, 2):
        chunked = SparseLocalKernelRidge(n_jobs=n_jobs, **params).fit(X[:80], r[:80])
        np.testing.assert_allclose(chunked.loo_rmse_, whole.loo_rmse_, rtol=1e-6)
        predicted = chunked.predict(X[80:], return_std=True)
        for got, want in zip(predicted, expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)


def test_runs_on_a_dask_cluster(molecules, monkeypatch):
    distributed = pytest.importorskip("distributed")
    from skqm7x.models import _sparse_local_kernel_ridge
    from tests.helpers import local_dask_cluster

    X, r = molecules
    params = dict(n_inducing=100, gammas=1 / 32, alphas=1e-6)
    local = SparseLocalKernelRidge(**params).fit(X[:60], r[:60])
    expected = local.predict(X[60:80])
    monkeypatch.setattr(_sparse_local_kernel_ridge, "_CHUNK_ENTRIES", 20 * 100)
    with (
        local_dask_cluster() as client,
        distributed.get_task_stream(client) as tasks,
    ):
        remote = SparseLocalKernelRidge(n_jobs=-1, **params).fit(X[:60], r[:60])
        predicted = remote.predict(X[60:80])
    workers = {task["worker"] for task in tasks.data}
    assert len(workers) == 2  # the chunks ran on both workers
    assert len(tasks.data) >= 3 * 3  # three passes of three chunks, and predict
    # The same to rounding, which the workers' and this process's BLAS
    # threads order differently: about 1e-8 eV on residuals of 0.1 eV.
    np.testing.assert_allclose(predicted, expected, rtol=1e-6, atol=1e-7)


def test_penalties_too_small_to_solve_are_refused(molecules):
    # With every atom representative, tiny penalties make the leverages one
    # to rounding: their leave-one-out errors collapse and would be chosen.
    X, r = molecules
    exact = LocalKernelRidge().fit(X[:40], r[:40]).predict(X[40:])
    model = SparseLocalKernelRidge(alphas=(1e-16, 1e-12, 1e-8, 1e-6), n_inducing=4000)
    predicted = model.fit(X[:40], r[:40]).predict(X[40:])
    assert model.alpha_ >= 1e-8
    assert np.all(np.isinf(model.loo_rmse_[:, :2]))
    assert np.all(np.isfinite(model.loo_rmse_[:, 2:]))

    def rmse(prediction):
        return np.sqrt(np.mean((prediction - r[40:]) ** 2))

    assert rmse(predicted) < 1.5 * rmse(exact)
    with pytest.raises(ValueError, match=r"every alpha in \[1e-20, 1e-16\] is too"):
        model.set_params(alphas=(1e-20, 1e-16)).fit(X[:40], r[:40])
