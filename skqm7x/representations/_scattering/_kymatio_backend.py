"""The reference backend: kymatio's solid-harmonic scattering on a 3D grid.

A backend turns molecules (charges per channel and oriented positions in grid
units) into scattering features; :func:`scattering_features` is the whole
interface, with :func:`grid_key` saying which molecules may share a batch
and :func:`max_batch_size` how many of them.
"""

# SPDX-License-Identifier: BSD-3-Clause

import functools
import warnings

import numpy as np

from skqm7x.representations._scattering._geometry import gaussian_densities
from skqm7x.representations._scattering._scipy_compat import legacy_sph_harm

# The features are computed on one periodic grid: atoms must keep clear of
# its edges, or their densities wrap around.
PERIODIC_GRID = True


def _harmonic_scattering_class():
    # kymatio 0.3.0 imports scipy.special.sph_harm, removed in SciPy 1.17.
    with legacy_sph_harm(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        from kymatio.torch import HarmonicScattering3D
    return HarmonicScattering3D


def solid_harmonic_filters(grid_shape, J, L, sigma):
    """kymatio's Fourier-domain solid-harmonic filters, as NumPy arrays.

    Returns
    -------
    filters : list of ndarray
        ``filters[l]`` has shape ``(J + 1, 2 l + 1, *grid_shape)``.

    Examples
    --------
    >>> from skqm7x.representations._scattering._kymatio_backend import (
    ...     solid_harmonic_filters,
    ... )
    >>> [f.shape for f in solid_harmonic_filters((8, 8, 8), J=1, L=1, sigma=1.0)]
    [(2, 1, 8, 8, 8), (2, 3, 8, 8, 8)]
    """
    _harmonic_scattering_class()  # imports kymatio under the shim
    from kymatio.scattering3d.filter_bank import solid_harmonic_filter_bank

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return solid_harmonic_filter_bank(*grid_shape, J, L, sigma)


# Filters are rebuilt per process and per device rather than stored on the
# estimator: a 64-point grid's filter bank weighs tens of megabytes, which would
# otherwise go into every pickle, every clone of a grid search and every
# Pipeline(memory=...) cache entry.
@functools.lru_cache(maxsize=2)
def _scattering_module(grid_shape, J, L, sigma, integral_powers, device):
    HarmonicScattering3D = _harmonic_scattering_class()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module = HarmonicScattering3D(
            J=J,
            shape=grid_shape,
            L=L,
            sigma_0=sigma,
            max_order=2,
            integral_powers=integral_powers,
        )
    return module.to(device)


def grid_key(weights, positions, **_):
    """Every molecule shares the one grid: any molecules may batch together."""
    return np.zeros((len(weights), 1), dtype=int)


def max_batch_size(keys, n_channels):
    """No cap: the caller's batch size alone sets kymatio's memory."""
    return np.full(len(keys), np.iinfo(np.int64).max)


def scattering_features(
    weights, positions, *, grid_shape, J, L, sigma, integral_powers, device
):
    """Order-0, 1 and 2 solid-harmonic scattering features of a batch.

    Parameters
    ----------
    weights : ndarray of shape (n_molecules, n_channels, n_atoms_max)
        Charge of each atom in each channel (0 for padding).
    positions : ndarray of shape (n_molecules, n_atoms_max, 3)
        Oriented positions in grid units.
    grid_shape : tuple of 3 ints
    J, L : int
    sigma : float
        Gaussian and mother-wavelet width, in grid units.
    integral_powers : tuple of float
    device : str
        A torch device.

    Returns
    -------
    features : ndarray of shape (n_molecules, n_channels, n_features_per_channel)
        Per channel: the ``len(integral_powers)`` order-0 integrals, then the
        order-1 and order-2 coefficients ordered as ``(path, l, power)`` with
        the paths of ``_transformer.scattering_paths``.

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x.representations._scattering._kymatio_backend import (
    ...     scattering_features,
    ... )
    >>> features = scattering_features(
    ...     np.ones((1, 1, 1)), np.zeros((1, 1, 3)), grid_shape=(16, 16, 16),
    ...     J=1, L=1, sigma=1.0, integral_powers=(1.0,), device="cpu")
    >>> features.shape
    (1, 1, 7)
    >>> round(float(features[0, 0, 0]), 4)  # the Gaussian integrates to one
    1.0
    """
    import torch

    integral_powers = tuple(float(p) for p in integral_powers)
    scattering = _scattering_module(
        tuple(grid_shape), J, L, float(sigma), integral_powers, device
    )
    n_molecules, n_channels, _ = weights.shape
    with torch.no_grad():
        densities = gaussian_densities(
            torch.as_tensor(positions, dtype=torch.float32, device=device),
            torch.as_tensor(weights, dtype=torch.float32, device=device),
            grid_shape=tuple(grid_shape),
            sigma=sigma,
        ).reshape(n_molecules * n_channels, *grid_shape)
        flat = densities.reshape(n_molecules * n_channels, -1)
        order_0 = torch.stack([(flat**p).sum(dim=1) for p in integral_powers], dim=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            # (batch, path, l, power)
            orders_1_2 = scattering(densities)
        features = torch.cat([order_0, orders_1_2.reshape(len(flat), -1)], dim=1)
    return (
        features.cpu().numpy().astype(np.float64).reshape(n_molecules, n_channels, -1)
    )
