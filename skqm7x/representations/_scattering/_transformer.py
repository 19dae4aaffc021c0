"""The solid-harmonic wavelet scattering transformer and its ridge-regression search."""

# SPDX-License-Identifier: BSD-3-Clause

import hashlib
import inspect
import os
from contextlib import contextmanager
from numbers import Integral, Real
from pathlib import Path

import joblib
import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from skqm7x._molecules import MAX_ATOMIC_NUMBER, VALENCE_ELECTRONS, check_molecules
from skqm7x._utils._cache import cache_location, rows_with_progress
from skqm7x._utils._device import resolve_device
from skqm7x._utils._docstrings import shared_parameters
from skqm7x.representations._scattering import (
    _fast_backend,
    _geometry,
    _kymatio_backend,
)

CHANNELS = ("full", "valence", "core")

# First-axis size of the grid when `grid_shape` is None. benchmarks/
# bench_scattering.py measures the accuracy/time trade-off behind this choice.
DEFAULT_LONGEST_AXIS = 64

_BACKENDS = {"fast": _fast_backend, "kymatio": _kymatio_backend}


def _channel_charges(Z, estimator_name):
    """Charges of the full, valence and core channels, shape (n, 3, n_atoms_max).

    Fractional charges (which scikit-learn's common checks feed) take the core
    of the nearest element, capped to the charge itself, so that no channel is
    ever negative.
    """
    nearest = np.rint(Z).astype(int)
    if np.any(nearest > MAX_ATOMIC_NUMBER):
        raise ValueError(
            f"{estimator_name}: nuclear charges above {MAX_ATOMIC_NUMBER} have no "
            "valence electron count."
        )
    core = np.clip(nearest - VALENCE_ELECTRONS[nearest], 0, Z)
    return np.stack([Z, Z - core, core], axis=1)


def _in_canonical_order(Z, positions):
    """Each molecule's atoms sorted by charge, then oriented position.

    The oriented positions do not depend on the order the atoms were given
    in, so neither does this order: the features are then summed in the
    same order for any permutation, and come out the same to the last bit
    (the power-0.5 integrals of float32 maps would otherwise carry rounding
    noise that depends on the order, up to 1e-3 of their value). Padding
    slots go last.
    """
    order = np.lexsort(
        (positions[..., 2], positions[..., 1], positions[..., 0], Z, Z == 0), axis=-1
    )
    return (
        np.take_along_axis(Z, order, axis=-1),
        np.take_along_axis(positions, order[..., None], axis=-2),
    )


def _molecule_keys(weights, positions):
    """One cache key per molecule: its charges and grid positions, padding left out.

    Positions are hashed after orientation and scaling, so the learned scale
    is part of the key and a molecule padded to any number of atoms keeps it.
    A plain digest of the bytes: a search reads the same molecules hundreds
    of times, and pickling each one for ``joblib.hash`` took most of a cached
    fit.
    """
    present = weights[:, 0] != 0
    keys = []
    for charges, place, mask in zip(weights, positions, present, strict=True):
        digest = hashlib.sha1(str(charges.dtype).encode())
        digest.update(np.ascontiguousarray(charges[:, mask]).tobytes())
        digest.update(np.ascontiguousarray(place[mask]).tobytes())
        keys.append(digest.hexdigest())
    return keys


def _compute_features(
    weights,
    positions,
    *,
    backend,
    grid_shape,
    J,
    L,
    sigma,
    integral_powers,
    device,
    batch_size,
    n_jobs,
    progress,
):
    """Features of all molecules, batch by batch; ``progress`` counts them."""
    compute = _BACKENDS[backend].scattering_features
    settings = dict(
        grid_shape=grid_shape,
        J=J,
        L=L,
        sigma=sigma,
        integral_powers=integral_powers,
        device=device,
    )
    # Only molecules with equal keys (the same grids) share a batch, so that a
    # molecule's features never depend on the other molecules transformed
    # with it. The backend may cap the batches of large grids to bound memory.
    keys = _BACKENDS[backend].grid_key(weights, positions, **settings)
    order = np.lexsort(keys.T[::-1])
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.any(sorted_keys[1:] != sorted_keys[:-1], axis=1)) + 1
    sizes = np.minimum(
        batch_size,
        _BACKENDS[backend].max_batch_size(
            sorted_keys[np.r_[0, starts]], weights.shape[1]
        ),
    )
    batches = [
        group[start : start + size]
        for group, size in zip(np.split(order, starts), sizes, strict=True)
        for start in range(0, len(group), size)
    ]
    jobs = (
        delayed(compute)(weights[batch], positions[batch], **settings)
        for batch in batches
    )
    features = None
    # torch releases the GIL in its kernels, so threads share the filter
    # caches and skip pickling: the whole challenge set took 260 s with two
    # threads against 380 s with two loky processes, which restarted as their
    # caches grew. A joblib backend set by the caller (Dask, for a cluster)
    # still takes precedence over this hint.
    with _torch_threads_per_job(n_jobs):
        blocks = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(jobs)
        for batch, block in zip(batches, blocks, strict=True):
            # One output array, allocated up front: keeping many small blocks
            # alive between the large, short-lived tensors of each batch
            # fragments the heap, and the process grew with the number of
            # molecules (about 0.15 MiB per molecule on a 32-point grid).
            if features is None:
                features = np.empty((len(weights), *block.shape[1:]))
            features[batch] = block
            progress.update(len(block))
    return features


@contextmanager
def _torch_threads_per_job(n_jobs):
    """torch's threads shared among ``n_jobs`` jobs, at least one each.

    Two jobs each on all of torch's threads would put twice as many threads
    as cores to work, and torch's threads wait for work by spinning: the
    jobs then slowed each other down many times over.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, threads // effective_n_jobs(n_jobs)))
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@shared_parameters
class SolidHarmonicScatteringTransformer(TransformerMixin, BaseEstimator):
    """Solid-harmonic wavelet scattering features of molecules.

    Each molecule becomes three densities, sums of Gaussians of width
    ``width`` centred on the atoms and weighted by the full nuclear charge, the
    valence charge and the core charge (full minus valence). For each density
    the transformer returns the order-0 coefficients (integrals of the density
    to the ``integral_powers``) and the order-1 and order-2 solid-harmonic
    scattering coefficients of kymatio's ``HarmonicScattering3D`` (scales
    ``0..J``, degrees ``0..L``, same powers):
    ``3 * (P + (J + 1)(J + 2) / 2 * (L + 1) * P)`` features with
    ``P = len(integral_powers)``, 300 with the defaults.

    Molecules are centred and turned to their principal axes (long axis first)
    before the transform, so the features do not depend on the pose of a
    molecule, up to rounding and to the grid where principal moments
    coincide. ``fit`` only learns the geometry: the largest extent of the
    training molecules sets the scale from Angstrom to grid units (with 10 %
    headroom) that fits them on ``grid_shape``.

    Two backends compute the same coefficients. ``"fast"`` (the default)
    integrates over all space, on grids sized to each batch and coarser for
    larger scales, starting from the closed-form Fourier transform of the
    Gaussian densities; ``"kymatio"`` runs kymatio on one periodic grid of
    shape ``grid_shape_``, where the wide wavelets wrap around the grid's
    edges. On a kymatio grid large enough to avoid the wrap-around they agree
    to a few 1e-3 (see the user guide for the measured figures).

    Parameters
    ----------
    J : int, default=2
        Largest wavelet scale index; scales are ``width * 2**j``.
    L : int, default=3
        Largest degree of the solid harmonics.
    width : float, default=2.0
        Width (standard deviation) of the atomic Gaussians and of the mother
        wavelet, in grid units: kymatio's ``sigma_0``.
    integral_powers : array-like of float, default=(0.5, 1.0, 2.0, 3.0)
        Exponents ``p`` of the integrals of ``|U|**p`` (one grid unit per
        unit of volume, as kymatio's sums over its grid).
    grid_shape : int, tuple of 3 ints or None, default=None
        Shape of the grid the scale is learned for. An int sets the size of the
        first (longest) axis and leaves the other two to be sized in ``fit`` to
        the training molecules; ``None`` means 64 points on the first axis, or,
        when ``scale`` is a number, the smallest grid that holds the training
        molecules. Only the kymatio backend computes on this grid.
    scale : "auto" or float, default="auto"
        Grid units per Angstrom. "auto" learns in ``fit`` the largest scale at
        which every training molecule, enlarged by 10 %, stays ``margin *
        width`` away from the grid's edges. Larger scales resolve the
        molecules more finely (``width / scale`` is the Gaussian width in
        Angstrom) and cost more.
    margin : float, default=3.0
        Clearance, in units of ``width``, between any atom and the edges of the
        grid. With the kymatio backend ``transform`` raises a ``ValueError``
        for a molecule that comes closer, rather than let its density be cut
        off and wrap around; the fast backend has no edges and transforms
        every molecule.
    backend : {"fast", "kymatio"}, default="fast"
        Implementation of the scattering transform: the fast closed-form and
        multi-grid path, or kymatio's torch frontend (the reference).
    device : {"auto", "cpu", "cuda"}, default="auto"
        Torch device. "auto" uses CUDA when torch finds it; "cuda" raises a
        ``ValueError`` when it does not.
    batch_size : int, default=8
        Most molecules per batch; molecules of similar size are batched
        together. With kymatio, memory grows with it, not with the number of
        molecules: roughly 400 bytes per grid point for the filters plus 450
        bytes per grid point and molecule of a batch (about 230 MB with the
        default grid and batch, 1 GB of filters alone on a 192 x 128 x 96
        grid). The fast backend caps each batch, and the filters it transforms
        at once, to about 4 MiB per array of float32 maps, so that its memory
        stays bounded whatever the batch size and the size of the molecules
        (a few tens of MB per batch).
    n_jobs : int, default=None
        {n_jobs}
        The jobs compute batches, in threads unless the caller sets another
        joblib backend (for example Dask's, to use a cluster). They share
        torch's threads (``torch.get_num_threads()``), at least one each; on
        cores that other processes share, set ``torch.set_num_threads(1)``.
    memory : None, str, path or joblib.Memory, default=None
        {memory}
        Kept here: the features, one file per molecule, keyed by the
        parameters that change them, the learned ``scale_`` and the molecule
        itself, whatever the other molecules: fits that learn the same scale
        share the features of every molecule, and a second run of the
        workflow computes nothing. Unlike ``Pipeline(memory=...)``, which only
        caches ``fit_transform`` of one exact input, this also caches
        ``transform`` at prediction time.
    verbose : int, default=0
        {verbose}
        The bar counts the molecules.

    Attributes
    ----------
    scale_ : float
        Grid units per Angstrom.
    grid_shape_ : tuple of 3 ints
        Shape of the grid (the kymatio backend's; it sets ``scale_``).
    max_half_extent_ : ndarray of shape (3,)
        Largest half-extent of the oriented training molecules along each
        axis, in Angstrom.
    n_features_in_ : int
        Number of columns seen during ``fit``, ``4 * n_atoms_max``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the columns seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    make_scattering_ridge : These features, scaled, into a ridge regression.

    References
    ----------
    .. [1] M. Eickenberg, G. Exarchakis, M. Hirn, S. Mallat and L. Thiry,
       "Solid harmonic wavelet scattering for predictions of molecule
       properties", J. Chem. Phys. 148, 241732 (2018).

    Examples
    --------
    >>> from skqm7x import SolidHarmonicScatteringTransformer, pack_molecules
    >>> water = (["O", "H", "H"], [[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]])
    >>> X = pack_molecules([water])
    >>> scattering = SolidHarmonicScatteringTransformer(
    ...     J=1, L=1, width=1.0, grid_shape=(16, 16, 16), device="cpu")
    >>> scattering.fit_transform(X).shape
    (1, 84)
    >>> scattering.grid_shape_, round(scattering.scale_, 2)
    ((16, 16, 16), 4.78)
    >>> scattering.get_feature_names_out()[[0, 4, 8]].tolist()
    ['full_order0_p0.5', 'full_order1_j0_l0_p0.5', 'full_order1_j0_l1_p0.5']
    """

    _parameter_constraints: dict = {
        "J": [Interval(Integral, 0, None, closed="left")],
        "L": [Interval(Integral, 0, None, closed="left")],
        "width": [Interval(Real, 0, None, closed="neither")],
        "integral_powers": ["array-like"],
        "grid_shape": [None, Interval(Integral, 1, None, closed="left"), "array-like"],
        "scale": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "margin": [Interval(Real, 0, None, closed="left")],
        "backend": [StrOptions(set(_BACKENDS))],
        "device": [StrOptions({"auto", "cpu", "cuda"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        J=2,
        L=3,
        width=2.0,
        integral_powers=(0.5, 1.0, 2.0, 3.0),
        grid_shape=None,
        scale="auto",
        margin=3.0,
        backend="fast",
        device="auto",
        batch_size=8,
        n_jobs=None,
        memory=None,
        verbose=0,
    ):
        self.J = J
        self.L = L
        self.width = width
        self.integral_powers = integral_powers
        self.grid_shape = grid_shape
        self.scale = scale
        self.margin = margin
        self.backend = backend
        self.device = device
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.memory = memory
        self.verbose = verbose

    def _powers(self):
        powers = np.asarray(self.integral_powers, dtype=float).ravel()
        if powers.size == 0 or not np.all(np.isfinite(powers) & (powers > 0)):
            raise ValueError(
                "integral_powers must be a non-empty sequence of positive numbers, "
                f"got {self.integral_powers!r}."
            )
        return tuple(powers.tolist())

    def _requested_grid(self):
        if self.grid_shape is None or isinstance(self.grid_shape, Integral):
            return self.grid_shape
        shape = np.asarray(self.grid_shape)
        if shape.shape != (3,) or not np.all(shape == np.round(shape)):
            raise ValueError(
                "grid_shape must be None, an int or three ints, got "
                f"{self.grid_shape!r}."
            )
        return tuple(int(n) for n in shape)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the scale and the grid from the training molecules.

        Parameters
        ----------
        X : array-like of shape (n_molecules, 4 * n_atoms_max)
            Packed molecules (see :func:`skqm7x.pack_molecules`).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        name = type(self).__name__
        Z, R = check_molecules(X, name)
        _channel_charges(Z, name)
        self._powers()
        resolve_device(self.device)
        grid = self._requested_grid()

        positions, half_extents = _geometry.orient_molecules(Z, R)
        self.max_half_extent_ = half_extents.max(axis=0)
        if grid is None and self.scale != "auto":
            self.scale_ = float(self.scale)
            self.grid_shape_ = _geometry.default_grid_for_scale(
                self.max_half_extent_,
                scale=self.scale_,
                sigma=self.width,
                margin=self.margin,
            )
        else:
            self.grid_shape_, self.scale_ = _geometry.resolve_grid(
                self.max_half_extent_,
                grid_shape=grid,
                scale=self.scale,
                sigma=self.width,
                margin=self.margin,
                longest=DEFAULT_LONGEST_AXIS,
            )
        # Only a user-given scale and grid can fail here; the learned scale
        # fits the training molecules by construction.
        self._check_on_grid(positions * self.scale_, Z)
        return self

    def _check_on_grid(self, positions, Z):
        # Only a backend that computes on the periodic grid has edges to
        # keep clear of; the fast backend transforms any molecule.
        if _BACKENDS[self.backend].PERIODIC_GRID:
            _geometry.check_on_grid(
                positions,
                Z > 0,
                grid_shape=self.grid_shape_,
                sigma=self.width,
                margin=self.margin,
                estimator_name=type(self).__name__,
            )

    def _cache_directory(self, settings):
        """Where this transformer's per-molecule features live, or None."""
        location = cache_location(self.memory)
        if location is None:
            return None
        # What only changes how the features are computed (device, batches,
        # threads) stays out of the key; the backend's source goes in, so a
        # change of the computation never reads stale features.
        backend = _BACKENDS[settings["backend"]]
        key_settings = dict(settings)
        if not backend.PERIODIC_GRID:
            # The grid then sets no feature, only the scale (in the
            # positions): folds that size it differently share their features.
            del key_settings["grid_shape"]
        key = joblib.hash((key_settings, inspect.getsource(backend)))
        return Path(location) / "skqm7x-scattering" / key

    def transform(self, X):
        """Compute the scattering features.

        Parameters
        ----------
        X : array-like of shape (n_molecules, 4 * n_atoms_max)
            Packed molecules.

        Returns
        -------
        X_new : ndarray of shape (n_molecules, n_features_out)
            Features in the order of :meth:`get_feature_names_out`: channel,
            then order 0, then the order-1 and order-2 paths, then ``l``, then
            the power.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        name = type(self).__name__
        Z, R = check_molecules(X, name)
        positions, _ = _geometry.orient_molecules(Z, R)
        Z, positions = _in_canonical_order(Z, positions)
        weights = _channel_charges(Z, name)
        positions *= self.scale_
        self._check_on_grid(positions, Z)
        settings = dict(
            backend=self.backend,
            grid_shape=tuple(int(size) for size in self.grid_shape_),
            J=int(self.J),
            L=int(self.L),
            sigma=float(self.width),
            integral_powers=self._powers(),
        )
        run = dict(
            device=resolve_device(self.device),
            batch_size=int(self.batch_size),
            n_jobs=self.n_jobs,
        )
        features = rows_with_progress(
            lambda rows, progress: _compute_features(
                weights[rows], positions[rows], **settings, **run, progress=progress
            ),
            len(X),
            self._cache_directory(settings),
            lambda: _molecule_keys(weights, positions),
            disable=not self.verbose,
            unit="molecule",
            desc="scattering",
        )
        return features.reshape(len(X), -1)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the names seen in ``fit``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``{channel}_order0_p{power}``, ``{channel}_order1_j{j}_l{l}_p{power}``
            and ``{channel}_order2_j{j1}_j{j2}_l{l}_p{power}``.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        powers = [f"p{p:g}" for p in self._powers()]
        per_channel = [f"order0_{p}" for p in powers]
        for path in scattering_paths(self.J):
            scales = "_".join(f"j{j}" for j in path)
            per_channel += [
                f"order{len(path)}_{scales}_l{degree}_{p}"
                for degree in range(self.L + 1)
                for p in powers
            ]
        return np.asarray(
            [f"{channel}_{name}" for channel in CHANNELS for name in per_channel],
            dtype=object,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Nuclear charges are non-negative; the common checks then feed
        # positive data, which reads as fractional charges.
        tags.input_tags.positive_only = True
        return tags


def scattering_paths(J):
    """First-order ``(j,)`` and second-order ``(j1, j2)`` scale paths.

    The order of the features of every backend (and of their names).

    Examples
    --------
    >>> from skqm7x.representations._scattering._transformer import scattering_paths
    >>> scattering_paths(2)
    [(0,), (1,), (2,), (0, 1), (0, 2), (1, 2)]
    """
    return [(j,) for j in range(J + 1)] + [
        (j1, j2) for j1 in range(J + 1) for j2 in range(j1 + 1, J + 1)
    ]
