"""Tests of the solid-harmonic scattering transformer and its recipes."""

import pickle
import tempfile
from math import factorial

import numpy as np
import pytest
import scipy.special
import torch
from sklearn.base import clone

from skqm7x import (
    ClippedRegressor,
    SolidHarmonicScatteringTransformer,
    TightBindingEnergyTransformer,
    make_model,
    make_scattering_ridge,
    pack_molecules,
    unpack_molecules,
)
from skqm7x._molecules import VALENCE_ELECTRONS
from skqm7x._utils._cache import cached_rows
from skqm7x.representations._scattering import _geometry, _kymatio_backend, _transformer
from skqm7x.representations._scattering._scipy_compat import legacy_sph_harm, sph_harm
from tests.helpers import moved, random_rotation

# A grid small enough for fast tests, large enough for real molecules. The
# tests of the grid itself run on the kymatio backend, the one that uses it;
# the tests of the estimator's behaviour run on both.
SMALL = dict(
    J=1, L=1, width=1.0, grid_shape=(16, 16, 16), device="cpu", backend="kymatio"
)
BACKENDS = ["fast", "kymatio"]


@pytest.fixture(autouse=True)
def one_torch_thread():
    # These grids are tiny: a second thread saves nothing, and on a machine
    # whose cores are busy, OpenMP threads waiting on each other make the
    # transforms up to 30 times slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"),
    ),
]


# --- The SciPy shim and kymatio's filters -----------------------------------


def _legendre(degree, m, x):
    """Associated Legendre P_l^m(x), m >= 0, with the Condon-Shortley phase."""
    p_mm = (-1) ** m * np.prod(np.arange(2 * m - 1, 0, -2)) * (1 - x**2) ** (m / 2)
    if degree == m:
        return p_mm
    p_prev, p = p_mm, x * (2 * m + 1) * p_mm
    for k in range(m + 2, degree + 1):
        p_prev, p = p, ((2 * k - 1) * x * p - (k + m - 1) * p_prev) / (k - m)
    return p


def _spherical_harmonic(degree, m, polar, azimuth):
    """Y_l^m by the textbook formula, independent of SciPy."""
    if m < 0:
        return (-1) ** m * np.conj(_spherical_harmonic(degree, -m, polar, azimuth))
    norm = np.sqrt(
        (2 * degree + 1) / (4 * np.pi) * factorial(degree - m) / factorial(degree + m)
    )
    return norm * _legendre(degree, m, np.cos(polar)) * np.exp(1j * m * azimuth)


def test_legendre_reference_matches_closed_forms():
    polar = np.linspace(0, np.pi, 7)
    c, s = np.cos(polar), np.sin(polar)
    assert np.allclose(
        _spherical_harmonic(1, 0, polar, 0.0), np.sqrt(3 / (4 * np.pi)) * c
    )
    assert np.allclose(
        _spherical_harmonic(2, 0, polar, 0.0),
        np.sqrt(5 / (16 * np.pi)) * (3 * c**2 - 1),
    )
    assert np.allclose(
        _spherical_harmonic(3, 3, polar, 0.0), -np.sqrt(35 / (64 * np.pi)) * s**3
    )


@pytest.mark.parametrize("degree", range(4))
def test_shim_matches_reference_spherical_harmonics(degree):
    rng = np.random.default_rng(degree)
    azimuth = rng.uniform(0, 2 * np.pi, 50)
    polar = rng.uniform(0, np.pi, 50)
    for m in range(-degree, degree + 1):
        # The removed SciPy function took (m, degree, azimuth, polar).
        assert np.allclose(
            sph_harm(m, degree, azimuth, polar),
            _spherical_harmonic(degree, m, polar, azimuth),
            atol=1e-12,
        )


def _reference_filters(shape, sigma, degree):
    """kymatio's Fourier solid-harmonic filters, with the reference harmonics."""
    grid = np.fft.ifftshift(
        np.mgrid[tuple(slice(-(n // 2), n - n // 2) for n in shape)],
        axes=(1, 2, 3),
    ).astype(float)
    for axis, n in enumerate(shape):
        grid[axis] *= 2 * np.pi / n
    z, y, x = grid
    r2 = (grid**2).sum(0)
    polar = np.arctan2(z, np.sqrt(x**2 + y**2)) + np.pi / 2
    azimuth = np.arctan2(y, x)
    radial = np.sqrt(r2) ** degree * np.exp(-0.5 * r2 * sigma**2) * sigma**degree
    if degree == 0:
        return radial[None].astype(complex)
    if degree % 2 == 0:
        norm = 1 / (
            2 * np.pi * np.sqrt(degree + 0.5) * np.prod(np.arange(degree + 1, 0, -2))
        )
    else:
        norm = 1 / (
            2 ** (0.5 * (degree + 3))
            * np.sqrt(np.pi * (2 * degree + 1))
            * factorial((degree + 1) // 2)
        )
    norm *= (2 * np.pi) ** 1.5 * (-1j) ** degree
    return np.stack(
        [
            norm * radial * _spherical_harmonic(degree, m, polar, azimuth)
            for m in range(-degree, degree + 1)
        ]
    )


def test_kymatio_filters_unchanged_under_shim():
    shape, sigma, J, L = (10, 12, 8), 1.5, 1, 3
    filters = _kymatio_backend.solid_harmonic_filters(shape, J, L, sigma)
    for degree in range(L + 1):
        for j in range(J + 1):
            expected = _reference_filters(shape, sigma * 2**j, degree)
            assert filters[degree][j].shape == expected.shape
            # kymatio builds the filters in single precision.
            np.testing.assert_allclose(filters[degree][j], expected, atol=2e-6, rtol=0)


def test_shim_is_temporary():
    had_it = hasattr(scipy.special, "sph_harm")
    _kymatio_backend.solid_harmonic_filters((8, 8, 8), 0, 1, 1.0)
    with legacy_sph_harm():
        assert hasattr(scipy.special, "sph_harm")
    assert hasattr(scipy.special, "sph_harm") == had_it


# --- Geometry ----------------------------------------------------------------


def test_orientation_puts_long_axis_first(small_molecules):
    X, _ = small_molecules
    atoms = X.reshape(len(X), -1, 4)
    positions, half = _geometry.orient_molecules(atoms[..., 0], atoms[..., 1:])
    assert np.all(half[:, 0] >= half[:, 2])
    # Distances are preserved.
    present = atoms[0, :, 0] > 0
    before = atoms[0, present, 1:]
    after = positions[0, present]
    assert np.allclose(
        np.linalg.norm(before[:, None] - before[None], axis=-1),
        np.linalg.norm(after[:, None] - after[None], axis=-1),
    )


def test_fit_learns_scale_and_grid(qm7x_train):
    X = qm7x_train.data
    scattering = SolidHarmonicScatteringTransformer(device="cpu").fit(X)
    assert scattering.grid_shape_[0] == _transformer.DEFAULT_LONGEST_AXIS
    assert all(n % 2 == 0 for n in scattering.grid_shape_)
    limit = _geometry.usable_half_width(
        scattering.grid_shape_, scattering.width, scattering.margin
    )
    needed = _geometry.HEADROOM * scattering.max_half_extent_ * scattering.scale_
    assert np.all(needed <= limit + 1e-9)
    assert np.isclose(needed[0], limit[0])

    fixed = SolidHarmonicScatteringTransformer(scale=5.0, device="cpu").fit(X)
    assert fixed.scale_ == 5.0
    assert np.all(
        _geometry.usable_half_width(fixed.grid_shape_, 2.0, 3.0)
        >= _geometry.HEADROOM * fixed.max_half_extent_ * 5.0
    )

    longest = SolidHarmonicScatteringTransformer(grid_shape=96, device="cpu").fit(X)
    assert longest.grid_shape_[0] == 96
    assert longest.scale_ > scattering.scale_


def test_molecule_too_large_raises(small_molecules):
    X, _ = small_molecules
    scattering = SolidHarmonicScatteringTransformer(**SMALL).fit(X)
    stretched = X.reshape(len(X), -1, 4).copy()
    stretched[..., 1:] *= 1.5
    with pytest.raises(ValueError, match="do not fit"):
        scattering.transform(stretched.reshape(len(X), -1))
    # A user-given scale that does not fit fails in fit.
    with pytest.raises(ValueError, match="do not fit"):
        SolidHarmonicScatteringTransformer(**{**SMALL, "scale": 50.0}).fit(X)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(grid_shape=(16, 16)), "grid_shape"),
        (dict(grid_shape=(4, 4, 4), width=2.0), "too small"),
        (dict(integral_powers=(1.0, -2.0)), "integral_powers"),
    ],
)
def test_invalid_parameters(small_molecules, params, match):
    X, _ = small_molecules
    with pytest.raises(ValueError, match=match):
        SolidHarmonicScatteringTransformer(**{**SMALL, **params}).fit(X)


# --- Features ----------------------------------------------------------------


def test_default_feature_names():
    scattering = SolidHarmonicScatteringTransformer()
    scattering.fit(pack_molecules([(["H", "H"], [[0, 0, 0], [0.74, 0, 0]])]))
    names = scattering.get_feature_names_out()
    assert len(names) == 300 == len(set(names))
    assert names[0] == "full_order0_p0.5"
    assert names[4] == "full_order1_j0_l0_p0.5"
    assert "valence_order2_j1_j2_l3_p3" in names
    assert names[-1] == "core_order2_j1_j2_l3_p3"


def test_water_order_0_matches_numpy_reference(water):
    scattering = SolidHarmonicScatteringTransformer(
        J=1, L=1, width=2.0, grid_shape=(32, 32, 32), device="cpu"
    )
    features = scattering.fit_transform(water)[0]
    names = list(scattering.get_feature_names_out())
    # The integral of a sum of normalised Gaussians is the sum of the charges.
    for channel, charge in [("full", 10), ("valence", 8), ("core", 2)]:
        assert np.isclose(features[names.index(f"{channel}_order0_p1")], charge, 1e-4)
    # The integral of rho**2 is a sum of Gaussian overlaps.
    Z = np.array([8.0, 1.0, 1.0])
    R = water.reshape(-1, 4)[:, 1:] * scattering.scale_
    d2 = ((R[:, None] - R[None]) ** 2).sum(-1)
    sigma = scattering.width
    overlap = np.exp(-d2 / (4 * sigma**2)) / (4 * np.pi * sigma**2) ** 1.5
    assert np.isclose(features[names.index("full_order0_p2")], Z @ overlap @ Z, 1e-4)


def test_channels_of_integer_and_fractional_charges():
    Z = np.array([[6.0, 1.0, 17.0, 0.0], [0.4, 2.6, 7.2, 1.0]])
    full, valence, core = np.moveaxis(_transformer._channel_charges(Z, "t"), 1, 0)
    assert np.array_equal(full, Z)
    assert np.array_equal(valence[0], VALENCE_ELECTRONS[[6, 1, 17, 0]])
    assert np.all(valence >= 0) and np.all(core >= 0)
    assert np.allclose(valence + core, Z)


def test_matches_kymatio_directly(small_molecules):
    from kymatio.scattering3d.utils import generate_weighted_sum_of_gaussians

    X, _ = small_molecules
    X = X[:2]
    params = dict(J=1, L=2, width=1.0, integral_powers=(0.5, 1.0, 2.0))
    scattering = SolidHarmonicScatteringTransformer(
        **params, grid_shape=(24, 20, 16), device="cpu", backend="kymatio"
    ).fit(X)
    ours = scattering.transform(X).reshape(2, 3, -1)

    shape = scattering.grid_shape_
    atoms = X.reshape(2, -1, 4)
    positions, _ = _geometry.orient_molecules(atoms[..., 0], atoms[..., 1:])
    grid = np.fft.ifftshift(
        np.mgrid[tuple(slice(-(n // 2), n - n // 2) for n in shape)].astype(float),
        axes=(1, 2, 3),
    )
    kymatio_scattering = _kymatio_backend._scattering_module(
        shape, 1, 2, 1.0, (0.5, 1.0, 2.0), "cpu"
    )
    charges = _transformer._channel_charges(atoms[..., 0], "t")
    for channel in range(3):
        weights = charges[:, channel]
        # kymatio stops at the first zero weight: move real atoms first.
        order = np.argsort(weights == 0, axis=1, kind="stable")
        density = generate_weighted_sum_of_gaussians(
            grid,
            np.take_along_axis(positions * scattering.scale_, order[..., None], 1),
            np.take_along_axis(weights, order, 1),
            1.0,
        )
        expected = kymatio_scattering(torch.as_tensor(density, dtype=torch.float32))
        np.testing.assert_allclose(
            ours[:, channel, 3:], expected.reshape(2, -1).numpy(), rtol=2e-4
        )


# --- Invariance --------------------------------------------------------------


def _relative_change(before, after):
    return np.max(np.abs(after - before) / np.abs(before).clip(1e-12))


@pytest.mark.parametrize("backend", BACKENDS)
def test_invariance_on_challenge_molecules(small_molecules, backend):
    # Default settings but a smaller grid, on real molecules. Translations and
    # rotations are undone by the centring and orientation, up to float64
    # rounding of the oriented positions, which the float32 maps and the
    # power-0.5 integrals of their rounding noise carry on. Permutations
    # change nothing: the atoms are summed in one canonical order (without
    # it the fast backend's power-0.5 features moved by up to 5.3e-4).
    X, _ = small_molecules
    X = X[:6]
    scattering = SolidHarmonicScatteringTransformer(
        grid_shape=32, device="cpu", backend=backend
    )
    features = scattering.fit(X).transform(X)
    for motion in ("translation", "rotation"):
        after = scattering.transform(moved(X, 0, motions=(motion,)))
        assert _relative_change(features, after) < 1e-5, motion
    for seed in (0, 1, 2):
        permuted = moved(X, seed, motions=("permutation",))
        np.testing.assert_array_equal(scattering.transform(permuted), features)


def test_rotation_invariance_without_orientation_is_only_approximate(water):
    # The wavelet moduli are rotation invariant in the continuum; on the grid
    # the features still change a little when the orientation is not undone.
    # This guards the meaning of the tolerance above.
    scattering = SolidHarmonicScatteringTransformer(
        J=1, L=1, width=2.0, grid_shape=(32, 32, 32), device="cpu"
    ).fit(water)
    atoms = water.reshape(1, -1, 4)
    positions, _ = _geometry.orient_molecules(atoms[..., 0], atoms[..., 1:])
    weights = _transformer._channel_charges(atoms[..., 0], "t")
    settings = dict(
        grid_shape=(32, 32, 32),
        J=1,
        L=1,
        sigma=2.0,
        integral_powers=(1.0, 2.0),
        device="cpu",
    )
    straight = _kymatio_backend.scattering_features(
        weights, positions * scattering.scale_, **settings
    )
    rotation = random_rotation(np.random.default_rng(1))
    turned = _kymatio_backend.scattering_features(
        weights, positions @ rotation.T * scattering.scale_, **settings
    )
    change = _relative_change(straight, turned)
    assert 1e-6 < change < 0.05


# --- Estimator contract on real molecules ------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_estimator_contract_on_molecules(small_molecules, backend):
    X, _ = small_molecules
    X = X[:5]
    scattering = SolidHarmonicScatteringTransformer(**{**SMALL, "backend": backend})
    features = scattering.fit_transform(X)
    assert features.shape == (5, 84) and features.dtype == np.float64
    assert np.all(np.isfinite(features))
    assert scattering.n_features_in_ == X.shape[1]
    # float32 input, read-only input, refit, clone and pickle agree. Rounding
    # the input to float32 moves the float32 rounding noise that the
    # power-0.5 integrals add up over the grid (measured: 1.9e-4 with the
    # fast backend, whose grids reach further than kymatio's).
    np.testing.assert_allclose(
        scattering.transform(X.astype(np.float32)), features, rtol=5e-4
    )
    readonly = X.copy()
    readonly.flags.writeable = False
    np.testing.assert_array_equal(scattering.transform(readonly), features)
    np.testing.assert_array_equal(clone(scattering).fit(X).transform(X), features)
    restored = pickle.loads(pickle.dumps(scattering))
    np.testing.assert_array_equal(restored.transform(X), features)
    # Transforming one molecule at a time gives the same rows.
    np.testing.assert_allclose(scattering.transform(X[2:3]), features[2:3], rtol=1e-6)
    with pytest.raises(ValueError, match="features"):
        scattering.transform(X[:, :-4])


@pytest.mark.parametrize("backend", BACKENDS)
def test_batches_bound_memory_and_do_not_change_features(
    small_molecules, monkeypatch, backend
):
    X, _ = small_molecules
    X = X[:7]
    sizes = []
    module = _transformer._BACKENDS[backend]
    compute = module.scattering_features

    def recording(weights, *args, **kwargs):
        sizes.append(len(weights))
        return compute(weights, *args, **kwargs)

    monkeypatch.setattr(module, "scattering_features", recording)
    params = {**SMALL, "backend": backend}
    one = SolidHarmonicScatteringTransformer(**params, batch_size=1).fit(X)
    one = one.transform(X)
    assert sizes == [1] * 7
    sizes.clear()
    three = SolidHarmonicScatteringTransformer(**params, batch_size=3).fit(X)
    three = three.transform(X)
    assert max(sizes) <= 3 and sum(sizes) == 7
    if backend == "kymatio":
        # One grid for all: batches follow the order of X.
        assert sizes == [3, 3, 1]
    np.testing.assert_allclose(one, three, rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_batches_match(small_molecules, backend):
    X, _ = small_molecules
    X = X[:6]
    serial = SolidHarmonicScatteringTransformer(
        **{**SMALL, "backend": backend}, batch_size=2
    ).fit(X)
    parallel = clone(serial).set_params(n_jobs=2)
    np.testing.assert_allclose(
        parallel.fit(X).transform(X), serial.transform(X), rtol=1e-6
    )


def test_verbose_shows_progress(small_molecules, capsys):
    X, _ = small_molecules
    SolidHarmonicScatteringTransformer(
        **{**SMALL, "backend": "fast"}, verbose=True
    ).fit(X[:3]).transform(X[:3])
    assert "3/3" in capsys.readouterr().err
    SolidHarmonicScatteringTransformer(**SMALL).fit(X[:3]).transform(X[:3])
    assert capsys.readouterr().err == ""


# --- Devices -----------------------------------------------------------------


def test_device_selection(monkeypatch):
    from skqm7x._utils._device import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="device='cuda'"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"
    assert resolve_device("cuda") == "cuda"


def test_cuda_unavailable_fails_early(small_molecules, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    X, _ = small_molecules
    with pytest.raises(ValueError, match="no usable CUDA device"):
        SolidHarmonicScatteringTransformer(**{**SMALL, "device": "cuda"}).fit(X)


@pytest.mark.parametrize("backend", BACKENDS)
def test_auto_device_passes_the_resolved_device(small_molecules, monkeypatch, backend):
    devices = []
    module = _transformer._BACKENDS[backend]
    compute = module.scattering_features

    def recording(*args, device, **kwargs):
        devices.append(device)
        return compute(*args, device="cpu", **kwargs)

    monkeypatch.setattr(module, "scattering_features", recording)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    X, _ = small_molecules
    params = {**SMALL, "device": "auto", "backend": backend}
    SolidHarmonicScatteringTransformer(**params).fit(X[:2]).transform(X[:2])
    assert devices and set(devices) == {"cuda"}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("device", DEVICES)
def test_devices_agree(small_molecules, device, backend):
    X, _ = small_molecules
    X = X[:3]
    params = {**SMALL, "backend": backend}
    cpu = SolidHarmonicScatteringTransformer(**params).fit_transform(X)
    other = SolidHarmonicScatteringTransformer(**{**params, "device": device})
    np.testing.assert_allclose(other.fit_transform(X), cpu, rtol=1e-4)


# --- Caching and the ridge search --------------------------------------------


def _count_computed(monkeypatch, backend):
    """Record the number of molecules each backend call computes."""
    computed = []
    module = _transformer._BACKENDS[backend]
    compute = module.scattering_features

    def counting(weights, *args, **kwargs):
        computed.append(len(weights))
        return compute(weights, *args, **kwargs)

    monkeypatch.setattr(module, "scattering_features", counting)
    return computed


@pytest.mark.parametrize("backend", BACKENDS)
def test_alpha_search_computes_each_molecule_once(
    small_molecules, monkeypatch, tmp_path, backend
):
    X, y = small_molecules
    computed = _count_computed(monkeypatch, backend)
    small = {**SMALL, "backend": backend}
    model = make_scattering_ridge(memory=tmp_path, batch_size=32, **small)
    model.fit(X, y)
    search = model.named_steps["gridsearchcv"]
    assert len(search.param_grid["ridge__alpha"]) == 11
    # Folds whose training molecules would learn another scale do not
    # recompute: the scale is learned once, from all the molecules.
    fold_scales = {
        SolidHarmonicScatteringTransformer(**small).fit(X[train]).scale_
        for train, _ in search.cv.split(X)
    }
    assert len(fold_scales) > 1
    assert sum(computed) == len(X)
    assert np.isfinite(search.best_score_)

    # A second run with the same cache computes nothing.
    computed.clear()
    make_scattering_ridge(memory=tmp_path, **small).fit(X, y)
    assert computed == []
    # Changing a parameter that changes the features misses the cache.
    make_scattering_ridge(memory=tmp_path, **{**small, "width": 1.1}).fit(X, y)
    assert sum(computed) == len(X)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cache_is_per_molecule(small_molecules, monkeypatch, tmp_path, backend):
    X, _ = small_molecules
    fixed = {**SMALL, "backend": backend, "scale": 0.7}
    fresh = SolidHarmonicScatteringTransformer(**fixed).fit(X).transform(X)
    computed = _count_computed(monkeypatch, backend)
    cached = SolidHarmonicScatteringTransformer(**fixed, memory=tmp_path).fit(X)
    # Any subset, in any order, reads back what the first call computed.
    np.testing.assert_allclose(cached.transform(X[:12]), fresh[:12], rtol=1e-6)
    assert sum(computed) == 12
    np.testing.assert_allclose(cached.transform(X[::-1]), fresh[::-1], rtol=1e-6)
    assert sum(computed) == len(X)
    # A molecule twice in one call is computed once.
    computed.clear()
    other = SolidHarmonicScatteringTransformer(**{**fixed, "width": 1.2})
    other.set_params(memory=tmp_path).fit(X).transform(X[[0, 0, 1]])
    assert sum(computed) == 2

    # The padding of the packed array is not part of the key.
    computed.clear()
    wider = pack_molecules(
        [(Z[Z > 0], R[Z > 0]) for Z, R in zip(*unpack_molecules(X), strict=True)],
        n_atoms_max=X.shape[1] // 4 + 5,
    )
    padded = SolidHarmonicScatteringTransformer(**fixed, memory=tmp_path).fit(wider)
    np.testing.assert_allclose(padded.transform(wider), fresh, rtol=1e-6)
    assert computed == []


def test_default_model_writes_no_cache(small_molecules, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    model = make_scattering_ridge(**SMALL)
    assert model[0].memory is None
    assert isinstance(model[-1].cv.random_state, int)
    X, y = small_molecules
    predictions = model.fit(X, y).predict(X[:3])
    assert predictions.shape == (3,)
    assert list(tmp_path.iterdir()) == []


def test_search_takes_several_scales_side_by_side(small_molecules, tmp_path):
    X, y = small_molecules
    one = make_scattering_ridge(memory=tmp_path, **SMALL).fit(X, y)
    two = make_scattering_ridge(memory=tmp_path, scales=("auto", 0.6), **SMALL)
    two.fit(X, y)
    union = two.named_steps["featureunion"]
    assert [part.scale for _, part in union.transformer_list] == ["auto", 0.6]
    names = union.get_feature_names_out()
    single = one[0].get_feature_names_out()
    assert len(names) == 2 * len(single)
    assert names[0] == f"scale_auto__{single[0]}"
    assert names[len(single)] == f"scale_0.6__{single[0]}"
    # The auto part is the single-scale transformer, read from the same cache.
    np.testing.assert_array_equal(
        union.transform(X)[:, : len(single)],
        one[0].transform(X),
    )
    with pytest.raises(ValueError, match="`scale` or `scales`, not both"):
        make_scattering_ridge(scale=1.0, scales=("auto",))


@pytest.mark.parametrize(
    "scales, message",
    [((), "non-empty sequence"), ("auto", "non-empty"), ((5.0, 5.0), "repeats")],
)
def test_bad_scales_are_a_clear_error(scales, message):
    with pytest.raises(ValueError, match=f"`scales`.*{message}"):
        make_scattering_ridge(scales=scales)


@pytest.mark.parametrize("backend, shares", [("fast", True), ("kymatio", False)])
def test_grid_shape_is_in_the_cache_key_only_where_it_sets_features(
    small_molecules, monkeypatch, tmp_path, backend, shares
):
    X, _ = small_molecules
    fixed = {**SMALL, "backend": backend, "scale": 0.7, "memory": tmp_path}
    SolidHarmonicScatteringTransformer(**fixed).fit(X).transform(X)
    computed = _count_computed(monkeypatch, backend)
    wider = {**fixed, "grid_shape": (18, 18, 18)}
    SolidHarmonicScatteringTransformer(**wider).fit(X).transform(X)
    assert sum(computed) == (0 if shares else len(X))


def test_the_same_rows_again_read_one_file(tmp_path, monkeypatch):
    def compute(indices):
        return np.asarray(indices, dtype=float)[:, None]

    keys = [f"row{index}" for index in range(5)]
    first = cached_rows(compute, keys, tmp_path)
    from skqm7x._utils import _cache

    loads = []

    def counted(path, load=_cache._load):
        array = load(path)
        if array is not None:
            loads.append(path)
        return array

    monkeypatch.setattr(_cache, "_load", counted)
    # Every candidate of a search transforms the same folds: one read each.
    np.testing.assert_array_equal(cached_rows(compute, keys, tmp_path), first)
    assert len(loads) == 1
    # Another selection of the same rows assembles them from their files.
    loads.clear()
    np.testing.assert_array_equal(cached_rows(compute, keys[:3], tmp_path), first[:3])
    assert len(loads) == 3


def test_xtb_scattering_ridge_is_two_resolutions_on_a_baseline(small_molecules):
    X, y = small_molecules
    model = make_model("xtb-scattering-ridge")
    assert isinstance(model.baseline, TightBindingEnergyTransformer)
    union, search = model.regressor.named_steps.values()
    assert [part.scale for _, part in union.transformer_list] == [5.0, 8.9]
    assert all(part.backend == "fast" for _, part in union.transformer_list)
    assert isinstance(search.estimator[-1], ClippedRegressor)
    np.testing.assert_array_equal(
        search.param_grid["clippedregressor__regressor__alpha"],
        np.logspace(-9, 1, 11),
    )
    small = {"J": 1, "L": 1, "backend": "fast", "device": "cpu"}
    model.set_params(
        **{
            f"regressor__featureunion__{part}__{name}": value
            for part in ("scale_5.0", "scale_8.9")
            for name, value in small.items()
        }
    )
    predictions = model.fit(X, y).predict(X[:5])
    assert predictions.shape == (5,)
    assert np.all(np.isfinite(predictions))


def test_progress_counts_the_molecules_computed(small_molecules, tmp_path, capsys):
    X, _ = small_molecules
    params = {**SMALL, "verbose": True, "memory": tmp_path}
    scattering = SolidHarmonicScatteringTransformer(**params).fit(X)
    first = scattering.transform(X[:8])
    assert " 8/8 " in capsys.readouterr().err
    # 8 molecules read back, 12 computed.
    second = scattering.transform(X)
    assert " 12/12 " in capsys.readouterr().err
    np.testing.assert_array_equal(second[:8], first)
    # All in the cache (as for every candidate of a search): no bar at all.
    scattering.transform(X)
    scattering.transform(X[3:9])
    assert capsys.readouterr().err == ""


def test_cache_keeps_the_chunks_an_interrupted_run_finished(tmp_path):
    def compute(indices):
        if indices[0] >= 4:
            raise KeyboardInterrupt
        return np.asarray(indices, dtype=float)[:, None]

    keys = [f"row{index}" for index in range(6)]
    with pytest.raises(KeyboardInterrupt):
        cached_rows(compute, keys, tmp_path, chunk_size=2)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        f"row{index}.npy" for index in range(4)
    ]
