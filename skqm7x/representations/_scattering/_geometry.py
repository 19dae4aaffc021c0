"""Geometry for the scattering transform: centring, orientation, scale and grid.

Molecules are placed on a periodic grid whose origin is the voxel ``(0, 0, 0)``
(the ``ifftshift`` convention of kymatio's filters), with the coordinates of
axis ``i`` running from ``-n_i // 2`` to ``n_i - n_i // 2 - 1``. The scattering
coefficients are integrals over the whole grid, so where a molecule sits on the
grid does not matter; what matters is that its density stays clear of the
grid's edges, where it would be cut off and, through the circular convolutions,
wrapped around onto the opposite side.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

# The scale learned in ``fit`` leaves this much room (relative to the largest
# training molecule along each axis) so that test molecules slightly larger
# than any training molecule, and the held-out folds of a cross-validation,
# still fit on the grid.
HEADROOM = 1.1

# Smallest half-extent assumed for a molecule along any axis, in Angstrom, so
# that training on single atoms or flat molecules does not give an unbounded
# scale.
MIN_HALF_EXTENT = 0.5


def orient_molecules(Z, R):
    """Centre and orient molecules in a way that does not depend on their pose.

    Each molecule is expressed in the principal axes of its charge-weighted
    second moment, sorted by decreasing spread (so the long axis of a molecule
    goes along the long axis of the grid), with each axis signed by the
    charge-weighted third moment, then shifted so that its bounding box is
    centred on the origin. Translations, rotations, reflections and
    permutations of the atoms all give the same result, up to rounding, except
    where two principal moments coincide (then the axes inside that plane are
    arbitrary and only the grid sampling differs).

    Parameters
    ----------
    Z : ndarray of shape (n_molecules, n_atoms_max)
        Nuclear charges, 0 for padding.
    R : ndarray of shape (n_molecules, n_atoms_max, 3)
        Positions in Angstrom.

    Returns
    -------
    positions : ndarray of shape (n_molecules, n_atoms_max, 3)
        Oriented positions in Angstrom; padding slots are 0.
    half_extents : ndarray of shape (n_molecules, 3)
        Half the size of each molecule's bounding box along the three axes.

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x.representations._scattering._geometry import orient_molecules
    >>> Z = np.array([[6.0, 6.0, 0.0]])
    >>> R = np.array([[[1.0, 1.0, 1.0], [1.0, 1.0, 2.5], [0.0, 0.0, 0.0]]])
    >>> positions, half_extents = orient_molecules(Z, R)
    >>> np.round(np.abs(positions[0]), 3) + 0.0
    array([[0.75, 0.  , 0.  ],
           [0.75, 0.  , 0.  ],
           [0.  , 0.  , 0.  ]])
    >>> np.round(half_extents, 3) + 0.0
    array([[0.75, 0.  , 0.  ]])
    """
    Z = np.asarray(Z, dtype=float)
    R = np.asarray(R, dtype=float)
    present = Z > 0
    total = Z.sum(axis=1, keepdims=True)
    safe_total = np.where(total > 0, total, 1.0)
    centre = np.einsum("na,nad->nd", Z, R) / safe_total
    centred = np.where(present[..., None], R - centre[:, None, :], 0.0)
    moment = np.einsum("na,nad,nae->nde", Z, centred, centred)
    _, axes = np.linalg.eigh(moment)
    # eigh sorts eigenvalues in increasing order; the grid's first axis is
    # its longest.
    axes = axes[..., ::-1]
    positions = np.einsum("nad,nde->nae", centred, axes)
    skew = np.einsum("na,nae->ne", Z, positions**3)
    positions *= np.where(skew < 0, -1.0, 1.0)[:, None, :]
    high = np.where(present[..., None], positions, -np.inf).max(axis=1)
    low = np.where(present[..., None], positions, np.inf).min(axis=1)
    empty = ~present.any(axis=1)
    high[empty] = 0.0
    low[empty] = 0.0
    positions = positions - ((high + low) / 2)[:, None, :]
    positions = np.where(present[..., None], positions, 0.0)
    return positions, (high - low) / 2


def fft_size(n):
    """Smallest even integer ``>= n`` whose prime factors are 2, 3 and 5.

    Examples
    --------
    >>> from skqm7x.representations._scattering._geometry import fft_size
    >>> fft_size(47), fft_size(49), fft_size(97)
    (48, 50, 100)
    """
    size = max(2, int(np.ceil(n)))
    while True:
        if size % 2 == 0:
            rest = size
            for p in (2, 3, 5):
                while rest % p == 0:
                    rest //= p
            if rest == 1:
                return size
        size += 1


def usable_half_width(grid_shape, sigma, margin):
    """Largest ``|coordinate|`` an atom may have on each axis, in grid units.

    Examples
    --------
    >>> from skqm7x.representations._scattering._geometry import usable_half_width
    >>> usable_half_width((48, 36, 30), sigma=2.0, margin=3.0)
    array([17., 11.,  8.])
    """
    grid_shape = np.asarray(grid_shape)
    # The ifftshifted axis runs from -n // 2 to n - n // 2 - 1.
    return (grid_shape - 1) // 2 - margin * sigma


def resolve_grid(max_half_extent, *, grid_shape, scale, sigma, margin, longest):
    """Choose the grid shape and the Angstrom-to-grid scale from training data.

    Parameters
    ----------
    max_half_extent : ndarray of shape (3,)
        Largest half-extent of the oriented training molecules along each axis,
        in Angstrom.
    grid_shape : None, int or tuple of 3 ints
        ``None`` uses ``longest`` points on the first axis; an int sets that
        axis; the other two axes are then sized to the molecules. A tuple is
        used as is.
    scale : "auto" or float
        Grid units per Angstrom; "auto" is the largest scale at which the
        training molecules (times :data:`HEADROOM`) fit.
    sigma, margin : float
        Gaussian width in grid units, and the clearance an atom keeps from the
        grid's edges, in units of ``sigma``.
    longest : int
        First-axis size used when ``grid_shape`` is None.

    Returns
    -------
    grid_shape : tuple of 3 ints
    scale : float

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x.representations._scattering._geometry import resolve_grid
    >>> shape, scale = resolve_grid(
    ...     np.array([4.7, 3.1, 2.2]), grid_shape=None, scale="auto", sigma=2.0,
    ...     margin=3.0, longest=48)
    >>> shape, round(scale, 2)
    ((48, 40, 30), 3.29)
    """
    needed = HEADROOM * np.maximum(max_half_extent, MIN_HALF_EXTENT)
    clearance = margin * sigma
    if isinstance(grid_shape, tuple) and len(grid_shape) == 3:
        shape = tuple(int(n) for n in grid_shape)
        if scale == "auto":
            scale = float(np.min(usable_half_width(shape, sigma, margin) / needed))
    else:
        first = longest if grid_shape is None else int(grid_shape)
        if scale == "auto":
            scale = float(usable_half_width((first,), sigma, margin)[0] / needed[0])
        others = [fft_size(2 * (scale * half + clearance) + 2) for half in needed[1:]]
        shape = (first, *others)
    if scale <= 0 or np.any(usable_half_width(shape, sigma, margin) <= 0):
        raise ValueError(
            f"The grid {shape} is too small for sigma={sigma} and margin={margin}: "
            f"each axis needs more than 2 * margin * sigma + 1 = "
            f"{2 * clearance + 1:g} points."
        )
    return shape, float(scale)


def default_grid_for_scale(max_half_extent, *, scale, sigma, margin):
    """Smallest FFT-friendly grid that holds the training molecules at ``scale``.

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x.representations._scattering._geometry import default_grid_for_scale
    >>> default_grid_for_scale(
    ...     np.array([4.7, 3.1, 2.2]), scale=5.0, sigma=2.0, margin=3.0)
    (72, 50, 40)
    """
    needed = HEADROOM * np.maximum(max_half_extent, MIN_HALF_EXTENT)
    return tuple(fft_size(2 * (scale * half + margin * sigma) + 2) for half in needed)


def check_on_grid(positions, present, *, grid_shape, sigma, margin, estimator_name):
    """Raise if an atom comes closer than ``margin * sigma`` to the grid's edge.

    Parameters
    ----------
    positions : ndarray of shape (n_molecules, n_atoms_max, 3)
        Oriented positions in grid units.
    present : ndarray of shape (n_molecules, n_atoms_max)
        Which slots hold atoms.
    """
    limit = usable_half_width(grid_shape, sigma, margin)
    outside = present & np.any(np.abs(positions) > limit, axis=-1)
    if outside.any():
        i, a = np.argwhere(outside)[0]
        raise ValueError(
            f"{estimator_name}: atom {a} of molecule {i} lies at "
            f"{np.round(positions[i, a], 2).tolist()} grid units, beyond the "
            f"usable half-widths {limit.tolist()} of the grid {tuple(grid_shape)} "
            f"(margin={margin} sigma from the edges); {int(outside.any(1).sum())} "
            "molecule(s) do not fit. The molecule is larger than the training "
            "molecules allow: fit on data that includes such molecules, or set "
            "a smaller `scale` or a larger `grid_shape`."
        )


def grid_axes(grid_shape):
    """The ifftshifted coordinates of each grid axis, in grid units.

    Examples
    --------
    >>> from skqm7x.representations._scattering._geometry import grid_axes
    >>> grid_axes((4, 5, 2))[1]
    array([ 0.,  1.,  2., -2., -1.])
    """
    return [
        np.fft.ifftshift(np.arange(-(n // 2), n - n // 2, dtype=float))
        for n in grid_shape
    ]


def gaussian_densities(positions, weights, *, grid_shape, sigma):
    """Sums of normalised 3D Gaussians sampled on the grid, with torch.

    The same densities as kymatio's ``generate_weighted_sum_of_gaussians``,
    built from separable one-dimensional factors.

    Parameters
    ----------
    positions : torch.Tensor of shape (n_molecules, n_atoms_max, 3)
        Centres in grid units.
    weights : torch.Tensor of shape (n_molecules, n_channels, n_atoms_max)
        Weight of each Gaussian in each channel; padding slots weigh 0.
    grid_shape : tuple of 3 ints
    sigma : float
        Width in grid units.

    Returns
    -------
    densities : torch.Tensor of shape (n_molecules, n_channels, *grid_shape)

    Examples
    --------
    >>> import torch
    >>> from skqm7x.representations._scattering._geometry import gaussian_densities
    >>> rho = gaussian_densities(torch.zeros(1, 1, 3), torch.ones(1, 1, 1),
    ...                          grid_shape=(32, 32, 32), sigma=2.0)
    >>> rho.shape, round(float(rho.sum()), 4)
    (torch.Size([1, 1, 32, 32, 32]), 1.0)
    """
    import torch

    factors = [
        torch.exp(
            -0.5
            * (
                torch.as_tensor(axis, dtype=positions.dtype, device=positions.device)
                - positions[..., d, None]
            )
            ** 2
            / sigma**2
        )
        for d, axis in enumerate(grid_axes(grid_shape))
    ]
    weighted = torch.einsum("nca,nai->ncai", weights, factors[0])
    densities = torch.einsum("ncai,naj,nak->ncijk", weighted, factors[1], factors[2])
    return densities / ((2 * np.pi) ** 1.5 * sigma**3)
