"""Tests of the fast scattering backend (representations/_scattering/_fast_backend)."""

import numpy as np
import pytest
import torch

from skqm7x import SolidHarmonicScatteringTransformer
from skqm7x.representations._scattering import (
    _fast_backend,
    _geometry,
    _kymatio_backend,
)
from skqm7x.representations._scattering._transformer import _channel_charges

POWERS = (0.5, 1.0, 2.0, 3.0)


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _oriented(X, scale):
    atoms = X.reshape(len(X), -1, 4)
    positions, _ = _geometry.orient_molecules(atoms[..., 0], atoms[..., 1:])
    return _channel_charges(atoms[..., 0], "test"), positions * scale


def test_real_harmonics_are_orthonormal():
    # Gauss-Legendre in cos(polar) times a uniform azimuth grid integrates
    # products of degree <= 2 L exactly.
    L = 3
    nodes, weights = np.polynomial.legendre.leggauss(2 * L + 2)
    azimuth = np.linspace(0, 2 * np.pi, 4 * L + 4, endpoint=False)
    cos_polar, phi = np.meshgrid(nodes, azimuth, indexing="ij")
    quadrature = weights[:, None] * (2 * np.pi / len(azimuth))
    harmonics = np.concatenate(
        [
            _fast_backend._real_spherical_harmonics(degree, cos_polar, phi)
            for degree in range(L + 1)
        ]
    )
    gram = np.einsum("aij,bij,ij->ab", harmonics, harmonics, quadrature)
    np.testing.assert_allclose(gram, np.eye(16), atol=1e-12)


@pytest.mark.parametrize("width", [1.0, 2.5])
def test_filters_have_kymatio_moduli(width):
    # Real and complex harmonics span the same space: per degree, the sums of
    # squared moduli over m of our filters and of kymatio's must agree.
    shape, L = (12, 10, 8), 3
    ours = _fast_backend._filters(shape, 1.0, width, L)
    theirs = _kymatio_backend.solid_harmonic_filters(shape, J=0, L=L, sigma=width)
    cell = _fast_backend._Grid(shape, 1.0).cell
    for degree in range(L + 1):
        half = theirs[degree][0][..., : shape[2] // 2 + 1]
        np.testing.assert_allclose(
            (np.abs(ours[degree] * cell) ** 2).sum(0),
            (np.abs(half) ** 2).sum(0),
            rtol=1e-4,
            atol=1e-6 * np.abs(half).max() ** 2,
        )


def test_resampled_spectrum_is_the_fourier_transform():
    rng = np.random.default_rng(0)
    source = _fast_backend._Grid((6, 5, 4), 0.7)
    target = _fast_backend._Grid((4, 6, 6), 1.3)
    maps = rng.normal(size=(2, *source.shape))
    x, y, z = np.meshgrid(*source.coordinates, indexing="ij")
    wx, wy, wz = np.meshgrid(*target.frequencies, indexing="ij")
    phase = (
        wx[..., None, None, None] * x
        + wy[..., None, None, None] * y
        + wz[..., None, None, None] * z
    )
    expected = np.einsum("nxyz,abcxyz->nabc", maps, np.exp(-1j * phase)) * source.cell
    ours = _fast_backend._resample_spectrum(
        torch.as_tensor(maps, dtype=torch.float32), source, target
    )
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-4, atol=1e-4)


def test_dependent_channels_are_combined_not_recomputed():
    weights = np.array([[[6.0, 1.0, 8.0], [4.0, 1.0, 6.0], [2.0, 0.0, 2.0]]])
    independent, mixing = _fast_backend._channel_basis(weights)
    assert independent == [0, 1]
    np.testing.assert_allclose(mixing, [[1, 0], [0, 1], [1, -1]], atol=1e-12)
    np.testing.assert_allclose(
        np.einsum("cb,nba->nca", mixing, weights[:, independent]),
        weights,
        atol=1e-12,
    )


def test_channels_computed_together_or_alone_agree(small_molecules):
    X, _ = small_molecules
    weights, positions = _oriented(X[:3], 3.0)
    # Powers >= 1: the power 0.5 also depends on the box, through the float32
    # rounding noise it sums over the box.
    settings = dict(
        grid_shape=None, J=1, L=2, sigma=1.5, integral_powers=POWERS[1:], device="cpu"
    )
    together = _fast_backend.scattering_features(weights, positions, **settings)
    for channel in range(3):
        alone = _fast_backend.scattering_features(
            weights[:, [channel]], positions, **settings
        )
        # Alone, the core channel gets a smaller box (hydrogen has no core);
        # measured: 4e-5 relative.
        np.testing.assert_allclose(together[:, channel], alone[:, 0], rtol=1e-4)


def test_matches_kymatio_on_a_grid_without_wraparound(small_molecules):
    # kymatio on a grid with room for every wavelet (about 7 widths of the
    # widest map between the molecule and the edges) computes the same
    # integrals as the fast backend. Measured: 1.7e-3 at most for the powers
    # >= 1 (the same on grids of 64 to 112 points: kymatio has converged; the
    # fast backend's resolution sets it, 2.3e-4 with 3 samples per width);
    # 1.1e-2 for the power 0.5, which both sum with float32 rounding noise
    # over their grids (kymatio's: 1.0e-2 on a 64-point grid, 3.3e-2 on 112
    # points, measured with an earlier version of the fast backend).
    X, _ = small_molecules
    X = X[:1]
    params = dict(J=1, L=2, width=2.0, integral_powers=POWERS, scale=1.5)
    kymatio = SolidHarmonicScatteringTransformer(
        **params, grid_shape=(80, 80, 80), backend="kymatio"
    ).fit(X)
    fast = SolidHarmonicScatteringTransformer(**params, backend="fast").fit(X)
    expected = kymatio.transform(X).reshape(3, -1)
    ours = fast.transform(X).reshape(3, -1)
    half = np.array([p == 0.5 for p in POWERS] * (ours.shape[1] // len(POWERS)))
    np.testing.assert_allclose(ours[:, ~half], expected[:, ~half], rtol=2.5e-3)
    np.testing.assert_allclose(ours[:, half], expected[:, half], rtol=3e-2)


def test_larger_molecules_than_in_fit_are_transformed(small_molecules):
    X, _ = small_molecules
    scattering = SolidHarmonicScatteringTransformer(J=1, L=1).fit(X[:4])
    stretched = X[:4].reshape(4, -1, 4).copy()
    stretched[..., 1:] *= 2.0
    features = scattering.transform(stretched.reshape(4, -1))
    assert np.all(np.isfinite(features))
    # kymatio's grid has edges; it refuses rather than wrap around.
    kymatio = SolidHarmonicScatteringTransformer(J=1, L=1, backend="kymatio")
    with pytest.raises(ValueError, match="do not fit"):
        kymatio.fit(X[:4]).transform(stretched.reshape(4, -1))


def test_grid_keys_follow_molecule_size(small_molecules):
    X, _ = small_molecules
    weights, positions = _oriented(X, 5.0)
    keys = _fast_backend.grid_key(weights, positions, J=2, sigma=2.0)
    assert keys.shape == (len(X), 3 * 4)
    doubled = _fast_backend.grid_key(weights, 2 * positions, J=2, sigma=2.0)
    assert np.all(doubled >= keys) and np.any(doubled > keys)
    # Ladder sizes are FFT-friendly and spaced, so similar molecules share.
    assert all(_geometry.fft_size(n) == n for n in np.unique(keys))
    assert len(np.unique(keys, axis=0)) < len(X)


def test_features_do_not_depend_on_the_batch(small_molecules):
    X, _ = small_molecules
    X = X[:8]
    scattering = SolidHarmonicScatteringTransformer(J=1, L=1, batch_size=8).fit(X)
    together = scattering.transform(X)
    alone = np.vstack([scattering.transform(X[i : i + 1]) for i in range(len(X))])
    np.testing.assert_allclose(alone, together, rtol=1e-6)


def test_runs_on_a_dask_cluster(small_molecules):
    from tests.helpers import local_dask_cluster

    X, _ = small_molecules
    X = X[:6]
    scattering = SolidHarmonicScatteringTransformer(J=1, L=1, batch_size=2).fit(X)
    local = scattering.transform(X)
    with local_dask_cluster() as client:
        remote = scattering.set_params(n_jobs=-1).transform(X)
        ran_on = client.run(lambda: True)
    assert len(ran_on) == 2
    np.testing.assert_allclose(remote, local, rtol=1e-6)


def test_memory_budget_bounds_batches_and_ffts_not_features(
    small_molecules, monkeypatch
):
    X, _ = small_molecules
    X = X[:6]
    batches, responses = [], []
    compute, irfftn = _fast_backend.scattering_features, torch.fft.irfftn

    def recording_compute(weights, positions, **kwargs):
        # Bytes of one molecule's maps on the batch's largest scattering grid.
        keys = _fast_backend.grid_key(weights, positions, **kwargs)
        points = keys.reshape(len(keys), -1, 3)[:, 1:].prod(axis=-1).max()
        batches.append((len(weights), 4 * weights.shape[1] * points))
        return compute(weights, positions, **kwargs)

    def recording_irfftn(*args, **kwargs):
        result = irfftn(*args, **kwargs)
        responses.append(result.numel() * result.element_size())
        return result

    monkeypatch.setattr(_fast_backend, "scattering_features", recording_compute)
    monkeypatch.setattr(torch.fft, "irfftn", recording_irfftn)
    scattering = SolidHarmonicScatteringTransformer(J=1, L=2, batch_size=6).fit(X)
    unbounded = scattering.transform(X)
    largest = max(size for _, size in batches)

    # Room for two of the largest molecules: batches shrink, and the five
    # filters of degree 2 go through the inverse FFT a few at a time.
    budget = 2 * largest
    monkeypatch.setattr(_fast_backend, "BLOCK_BYTES", budget)
    batches.clear()
    responses.clear()
    bounded = scattering.transform(X)
    assert all(n * size <= budget for n, size in batches)
    assert sum(n for n, _ in batches) == 6 and max(n for n, _ in batches) == 2
    assert max(responses) <= budget
    np.testing.assert_allclose(bounded, unbounded, rtol=1e-6)
