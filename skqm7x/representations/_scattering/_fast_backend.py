"""The fast backend: solid-harmonic scattering on grids sized to each scale.

It computes the quantities kymatio approximates on one periodic grid, but as
integrals over all space, with three shortcuts:

* The density is a sum of Gaussians, so its Fourier transform is known in
  closed form (a sum of plane waves under a Gaussian envelope); order-1 maps
  need no density grid and no forward FFT.
* Each scale ``j`` gets its own grid, with a spacing proportional to the width
  of what lives on it (``RESOLUTION`` samples per width) and a box that holds
  the batch's molecules plus ``PADDING`` widths on every side, so the
  convolutions never wrap around. Coarse scales use coarse grids.
* Order-2 maps need the Fourier transform of an order-1 modulus at the
  frequencies of a coarser, larger grid: a separable partial DFT (three small
  matrix products) gives it directly.

The filters are kymatio's (same normalisation and widths), with real
spherical harmonics in place of the complex ones: the sum of squared moduli
over ``m`` is the same, and with real densities every response is real, so
real FFTs do the work. The features agree with kymatio's on a grid large
enough to avoid wrap-around (``tests/representations/test_scattering_fast.py``,
``benchmarks/bench_scattering.py``).
"""

# SPDX-License-Identifier: BSD-3-Clause

import functools
from math import factorial

import numpy as np
from scipy.special import lpmv

from skqm7x.representations._scattering._geometry import fft_size

# Samples per width (the standard deviation of the Gaussian envelope of what
# is sampled). A band-limited map would need fewer; the moduli are not band
# limited, and 2 samples per width keeps the features of integral power >= 1
# within 1e-3 of a converged computation (measured on challenge molecules,
# see docs), at twice the cost of 1.7 samples (2e-3).
RESOLUTION = 2.0

# Room around the molecules, in widths of the widest map on the grid. Every
# integral of power >= 1 has converged well before 5 widths.
PADDING = 5.0

# Every batch gets grids sized to its molecules: no edges to keep clear of.
PERIODIC_GRID = False

# Memory budget of a batch's largest arrays, float32 maps on one of its grids
# (`max_batch_size`, `_squared_moduli`, the order-0 densities): a batch's
# temporaries then take a few times this, whatever the batch size and the
# molecules. The allocator keeps freed blocks for reuse, so a process holds
# several times the live memory of its largest batch: without a budget, a
# batch of large molecules sets the peak of the whole run
# (`bench_scattering.py --whole` measures it).
BLOCK_BYTES = 4 * 2**20


def _double_factorial(n):
    return int(np.prod(np.arange(n, 0, -2))) if n > 0 else 1


def _kymatio_norm(degree):
    # kymatio's filter_bank.solid_harmonic_3d normalisation, Fourier side
    # without the (-i)^l phase, which leaves every modulus unchanged.
    if degree % 2 == 0:
        norm = 1.0 / (2 * np.pi * np.sqrt(degree + 0.5) * _double_factorial(degree + 1))
    else:
        norm = 1.0 / (
            2 ** (0.5 * (degree + 3))
            * np.sqrt(np.pi * (2 * degree + 1))
            * factorial((degree + 1) // 2)
        )
    return norm * (2 * np.pi) ** 1.5


def _real_spherical_harmonics(degree, cos_polar, azimuth):
    """Orthonormal real spherical harmonics of one degree, shape (2l + 1, ...)."""
    harmonics = []
    for m in range(-degree, degree + 1):
        k = abs(m)
        norm = np.sqrt(
            (2 * degree + 1)
            / (4 * np.pi)
            * factorial(degree - k)
            / factorial(degree + k)
        )
        legendre = norm * lpmv(k, degree, cos_polar)
        if m > 0:
            harmonics.append(np.sqrt(2) * legendre * np.cos(m * azimuth))
        elif m < 0:
            harmonics.append(np.sqrt(2) * legendre * np.sin(k * azimuth))
        else:
            harmonics.append(legendre)
    return np.stack(harmonics)


def _size_ladder(limit=4096, step=1.15):
    """Even 2-3-5-smooth FFT sizes, each at least ``step`` times the last."""
    sizes = [fft_size(8)]
    while sizes[-1] < limit:
        sizes.append(fft_size(np.ceil(sizes[-1] * step)))
    return np.array(sizes)


# Grid sizes come from this sparse ladder rather than from every FFT-friendly
# size, so that molecules of similar size get identical grids and can share a
# batch (see `grid_key`).
_LADDER = _size_ladder()


class _Grid:
    """A periodic grid: spacing, point counts, coordinates and frequencies.

    The sample points are the multiples of ``spacing`` (origin at index 0, in
    numpy's fftfreq order) whatever the number of points, so a larger grid
    only adds room around the molecules. ``frequencies`` are those of a real
    FFT: the last axis keeps the non-negative half.
    """

    def __init__(self, shape, spacing):
        self.spacing = float(spacing)
        self.shape = tuple(int(n) for n in shape)
        self.coordinates = [
            np.fft.fftfreq(n, d=1.0 / (n * self.spacing)) for n in self.shape
        ]
        *full, last = self.shape
        self.frequencies = [
            2 * np.pi * np.fft.fftfreq(n, d=self.spacing) for n in full
        ] + [2 * np.pi * np.fft.rfftfreq(last, d=self.spacing)]

    @property
    def cell(self):
        return self.spacing**3


# Batches come in the order of their grids (see `grid_key`), so a few entries
# suffice; a large cache grew joblib's workers past loky's memory-leak
# threshold (300 MB), and loky restarted them.
@functools.lru_cache(maxsize=16)
def _filters(shape, spacing, width, L):
    """kymatio's solid-harmonic filters of ``width`` on a grid's real spectrum.

    Returns a list over ``l`` of complex arrays of shape ``(2 l + 1, ...)``,
    divided by the cell volume: an inverse DFT times ``1 / cell`` is the
    continuous inverse Fourier transform sampled on the grid.
    """
    grid = _Grid(shape, spacing)
    wx, wy, wz = np.meshgrid(*grid.frequencies, indexing="ij")
    radius = np.sqrt(wx**2 + wy**2 + wz**2)
    safe = np.where(radius > 0, radius, 1.0)
    cos_polar = np.clip(wz / safe, -1.0, 1.0)
    azimuth = np.arctan2(wy, wx)
    envelope = np.exp(-0.5 * (width * radius) ** 2) / grid.cell
    filters = []
    for degree in range(L + 1):
        # (-i)^l makes each filter the transform of a real function.
        radial = (-1j) ** degree * _kymatio_norm(degree) * (width * radius) ** degree
        harmonics = _real_spherical_harmonics(degree, cos_polar, azimuth)
        filters.append((harmonics * (radial * envelope)).astype(np.complex64))
    return filters


@functools.lru_cache(maxsize=16)
def _device_filters(shape, spacing, width, L, device):
    import torch

    return [
        torch.as_tensor(f, device=device) for f in _filters(shape, spacing, width, L)
    ]


def _torch_filters(grid, width, L, device):
    """The filters of :func:`_filters` as tensors, kept on ``device``."""
    return _device_filters(grid.shape, grid.spacing, float(width), L, str(device))


def _as_torch(array, device, dtype=None):
    import torch

    return torch.as_tensor(array, dtype=dtype or torch.float32, device=device)


def _separable_sum(weights, factors):
    """sum_a weights[n, c, a] * fx[n, a, i] * fy[n, a, j] * fz[n, a, k]."""
    import torch

    weighted = torch.einsum("nca,nai->ncai", weights.to(factors[0].dtype), factors[0])
    return torch.einsum("ncai,naj,nak->ncijk", weighted, factors[1], factors[2])


def _density_spectra(weights, positions, grid, sigma):
    """Closed-form Fourier transforms of the Gaussian densities (real FFT half)."""
    import torch

    factors = []
    for d, w in enumerate(grid.frequencies):
        frequencies = _as_torch(w, positions.device)
        envelope = torch.exp(-0.5 * (sigma * frequencies) ** 2)
        factors.append(
            torch.polar(
                envelope.expand(*positions.shape[:2], -1),
                -positions[..., d, None] * frequencies,
            )
        )
    return _separable_sum(weights, factors)


def _densities(weights, positions, grid, sigma):
    """The Gaussian densities sampled on ``grid`` (for the order-0 integrals)."""
    import torch

    factors = [
        torch.exp(
            -0.5
            * (_as_torch(x, positions.device) - positions[..., d, None]) ** 2
            / sigma**2
        )
        for d, x in enumerate(grid.coordinates)
    ]
    return _separable_sum(weights, factors) / ((2 * np.pi) ** 1.5 * sigma**3)


def _integrals(maps, powers, cell, squared=None):
    """cell * sum(maps ** p) over the last three axes, one column per power.

    ``squared``, when the caller has it (a modulus is the root of a sum of
    squares), saves squaring the maps again.
    """
    import torch

    flat = maps.flatten(-3)
    flat_squared = None if squared is None else squared.flatten(-3)
    columns = []
    for p in powers:
        if p == 1:
            powered = flat
        elif p == 2:
            powered = flat * flat if flat_squared is None else flat_squared
        elif p == 0.5:
            powered = torch.sqrt(flat)
        elif p == 3:
            powered = (flat * flat if flat_squared is None else flat_squared) * flat
        else:
            powered = flat**p
        columns.append(powered.sum(-1, dtype=torch.float64) * cell)
    return torch.stack(columns, dim=-1)


def _chunk_size(n_molecules, n_channels, grid, n_filters):
    """Filters per inverse FFT call, so that its maps fit in ``BLOCK_BYTES``."""
    bytes_per_filter = 4 * n_molecules * n_channels * int(np.prod(grid.shape))
    return int(np.clip(BLOCK_BYTES // bytes_per_filter, 1, n_filters))


def _squared_moduli(spectra, filters, grid, mixing=None):
    """sum_m (mixing @ ifft(spectra * filter_m))^2 on ``grid``, for every channel.

    ``spectra`` has shape ``(n, channels, *half_grid)`` and ``filters``
    ``(2 l + 1, *half_grid)``; ``mixing``, when given, combines the channels of
    the responses (see :func:`_channel_basis`) before they are squared. The
    filters go through the inverse FFT a few at a time, at most
    ``BLOCK_BYTES`` of responses per call, and the squares add up in place:
    with all ``2 l + 1`` at once the temporaries of one batch of large
    molecules took hundreds of MB, which the allocator then kept.
    """
    import torch

    n_channels = spectra.shape[1] if mixing is None else max(mixing.shape)
    chunk = _chunk_size(len(spectra), n_channels, grid, len(filters))
    total = None
    for start in range(0, len(filters), chunk):
        responses = torch.fft.irfftn(
            spectra.unsqueeze(-4) * filters[start : start + chunk],
            s=grid.shape,
            dim=(-3, -2, -1),
        )
        if mixing is not None:
            responses = torch.einsum("cb,nb...->nc...", mixing, responses)
        # One filter after the other, so that the result does not depend on
        # the chunks (torch's sum over an axis adds in an order that depends
        # on the shape).
        for response in responses.square_().unbind(-4):
            total = response.clone() if total is None else total.add_(response)
        del responses, response
    return total


@functools.lru_cache(maxsize=256)
def _dft_kernels(source, target, device):
    """Per axis (last first), the partial DFT from ``source`` to ``target``.

    ``source`` and ``target`` are ``(shape, spacing)`` pairs. The last axis,
    whose input is real, gets one real matrix with the cosines and the sines
    side by side.
    """
    import torch

    source, target = _Grid(*source), _Grid(*target)
    kernels = []
    for d in (2, 1, 0):
        phase = np.outer(source.coordinates[d], target.frequencies[d])
        if d == 2:
            kernel = np.concatenate([np.cos(phase), -np.sin(phase)], axis=1)
            kernels.append(torch.as_tensor(kernel, dtype=torch.float32, device=device))
        else:
            kernels.append(
                torch.as_tensor(
                    np.exp(-1j * phase), dtype=torch.complex64, device=device
                )
            )
    return kernels


def _resample_spectrum(maps, source, target):
    """Fourier transform of real maps on ``source`` at ``target``'s frequencies.

    A partial DFT along each axis in turn (three small matrix products); the
    maps are negligible outside ``source``'s box, so this is their continuous
    Fourier transform.
    """
    import torch

    real, *complex_kernels = _dft_kernels(
        (source.shape, source.spacing),
        (target.shape, target.spacing),
        str(maps.device),
    )
    # The maps are real: one real product gives the real and imaginary parts.
    result = torch.view_as_complex(
        (maps @ real).unflatten(-1, (2, -1)).transpose(-1, -2).contiguous()
    )
    for d, kernel in zip((1, 0), complex_kernels, strict=True):
        moved = torch.movedim(result, -3 + d, -1)
        result = torch.movedim(moved @ kernel, -1, -3 + d)
    return result * source.cell


def _channel_basis(weights, tolerance=1e-6):
    """Independent channels, and how the others combine them.

    Convolution is linear, so the responses of a channel that is a
    combination of others (core = full - valence) are that combination of
    their responses: only the independent channels need inverse FFTs.

    Returns
    -------
    independent : list of int
    mixing : ndarray of shape (n_channels, len(independent))
    """
    flat = weights.transpose(1, 0, 2).reshape(weights.shape[1], -1)
    independent = []
    for c, row in enumerate(flat):
        candidate = flat[independent + [c]]
        if np.linalg.matrix_rank(
            candidate, tol=tolerance * max(1.0, np.abs(row).max())
        ) > len(independent):
            independent.append(c)
    coefficients, *_ = np.linalg.lstsq(flat[independent].T, flat.T, rcond=None)
    return independent, coefficients.T


def _spacings_and_paddings(J, sigma):
    """Spacing and padding of the order-0 grid, then of each scale's grid.

    Scale ``j`` holds the order-1 maps (width ``sigma * sqrt(1 + 4**j)``) and
    the order-2 maps ending at ``j`` (band-limited by the wavelet of width
    ``sigma * 2**j``, spread by every wavelet before it).
    """
    layout = [(sigma / RESOLUTION, PADDING * np.sqrt(2) * sigma)]
    for j in range(J + 1):
        wavelet = sigma * 2**j
        finest = min(np.hypot(sigma, wavelet), wavelet if j else np.inf)
        spread = np.sqrt(sigma**2 + sum((sigma * 2**i) ** 2 for i in range(j + 1)))
        layout.append((finest / RESOLUTION, PADDING * spread))
    return layout


def grid_key(weights, positions, *, J, sigma, **_):
    """Per molecule, the shapes of its grids: molecules with equal keys batch.

    A molecule's grids depend on its own extent only, so its features do not
    depend on the other molecules of its batch.

    Returns
    -------
    keys : ndarray of int of shape (n_molecules, 3 * (J + 2))
    """
    present = np.asarray(weights).sum(axis=1) > 0
    reach = np.where(present[..., None], np.abs(positions), 0.0).max(axis=1)
    columns = []
    for spacing, padding in _spacings_and_paddings(J, sigma):
        points = 2 * (reach + padding) / spacing
        columns.append(_LADDER[np.searchsorted(_LADDER, points)])
    return np.concatenate(columns, axis=1)


def max_batch_size(keys, n_channels):
    """Per key, the most molecules whose maps fit in ``BLOCK_BYTES`` (at least 1).

    ``keys`` are rows of :func:`grid_key`; a molecule's maps on its largest
    scattering grid take ``4 * n_channels * points`` bytes. The finer grid of
    the order-0 densities does not count: the densities, cheap to compute,
    are computed a few molecules at a time instead.

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x.representations._scattering._fast_backend import max_batch_size
    >>> max_batch_size(np.array([[32] * 12, [64] * 12]), n_channels=3).tolist()
    [10, 1]
    """
    shapes = np.asarray(keys).reshape(len(keys), -1, 3)[:, 1:]
    points = shapes.prod(axis=-1).max(axis=-1)
    return np.maximum(BLOCK_BYTES // (4 * n_channels * points), 1)


def _grids(weights, positions, J, sigma):
    shapes = grid_key(weights, positions, J=J, sigma=sigma).max(axis=0)
    return [
        _Grid(shapes[3 * i : 3 * i + 3], spacing)
        for i, (spacing, _) in enumerate(_spacings_and_paddings(J, sigma))
    ]


def scattering_features(
    weights, positions, *, grid_shape, J, L, sigma, integral_powers, device
):
    """Order-0, 1 and 2 solid-harmonic scattering features of a batch.

    Same interface and output layout as
    :func:`skqm7x.representations._scattering._kymatio_backend.scattering_features`;
    ``grid_shape`` is ignored: each batch gets grids sized to its largest
    molecule (see :func:`grid_key`).

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x.representations._scattering._fast_backend import scattering_features
    >>> features = scattering_features(
    ...     np.ones((1, 1, 1)), np.zeros((1, 1, 3)), grid_shape=None,
    ...     J=1, L=1, sigma=1.0, integral_powers=(1.0,), device="cpu")
    >>> features.shape
    (1, 1, 7)
    >>> round(float(features[0, 0, 0]), 4)  # the Gaussian integrates to one
    1.0
    """
    import torch

    powers = tuple(float(p) for p in integral_powers)
    weights = np.asarray(weights, dtype=np.float64)
    positions = np.asarray(positions, dtype=np.float64)
    density_grid, *grids = _grids(weights, positions, J, sigma)
    independent, mixing = _channel_basis(weights)

    with torch.no_grad():
        r = _as_torch(positions, device)
        q = _as_torch(weights, device)
        step = max(
            BLOCK_BYTES // (4 * weights.shape[1] * int(np.prod(density_grid.shape))),
            1,
        )
        order_0 = torch.cat(
            [
                _integrals(
                    _densities(q[i : i + step], r[i : i + step], density_grid, sigma),
                    powers,
                    density_grid.cell,
                )
                for i in range(0, len(q), step)
            ]
        )
        mixing = _as_torch(mixing, device)

        # integrals[path][l]: (n, channels, power). Each order-1 modulus goes
        # into its order-2 paths as soon as it is computed, so that only one
        # modulus per batch is alive at a time, not all (J + 1) (L + 1).
        integrals = {}
        for j1, grid in enumerate(grids):
            spectra = _density_spectra(q[:, independent], r, grid, sigma)
            for degree, filters in enumerate(
                _torch_filters(grid, sigma * 2**j1, L, device)
            ):
                squared = _squared_moduli(spectra, filters, grid, mixing)
                modulus = torch.sqrt(squared)
                integrals.setdefault((j1,), []).append(
                    _integrals(modulus, powers, grid.cell, squared)
                )
                del squared
                for j2 in range(j1 + 1, J + 1):
                    target = grids[j2]
                    wavelets = _torch_filters(target, sigma * 2**j2, L, device)
                    resampled = _resample_spectrum(modulus, grid, target)
                    squared = _squared_moduli(resampled, wavelets[degree], target)
                    del resampled
                    integrals.setdefault((j1, j2), []).append(
                        _integrals(torch.sqrt(squared), powers, target.cell, squared)
                    )
                    del squared
                del modulus
            del spectra
        # Order 1, then order 2, each in the order of its scales.
        paths = [
            torch.stack(integrals[path], dim=-2) for path in sorted(integrals, key=len)
        ]
        # (n, channels, path, l, power)
        orders_1_2 = torch.stack(paths, dim=2)
        features = torch.cat([order_0, orders_1_2.flatten(2)], dim=-1)
    return features.cpu().numpy()
