"""Sparse kernel ridge regression on atomic environments (representative atoms)."""

# SPDX-License-Identifier: BSD-3-Clause

import os
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from scipy import linalg
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from tqdm.auto import tqdm

from skqm7x._molecules import (
    check_molecules,
)
from skqm7x._utils._cache import as_memory
from skqm7x._utils._docstrings import shared_parameters
from skqm7x._utils._memory import check_fits_in_memory
from skqm7x.models._inducing import select_inducing
from skqm7x.models._kernel_ridge import kernel_candidates
from skqm7x.models._local_kernel_ridge import (
    check_query_molecules,
    representation_parameters,
    training_elements,
)
from skqm7x.models._local_kernels import local_kernels, self_kernels
from skqm7x.representations import AtomicEnvironments, fchl19_environments

# Added to the diagonal of the representative atoms' kernel (whose diagonal
# is 1): two very close environments make it singular to rounding.
_JITTER = 1e-8
# Kernel entries per chunk of molecules (all widths): bounds the memory of a
# chunk's kernels and their projections, whatever the number of molecules.
_CHUNK_ENTRIES = 2**24


def molecule_chunks(n_molecules, n_inducing, n_gammas):
    """Slices of consecutive molecules, each small enough for its kernels."""
    rows = max(1, _CHUNK_ENTRIES // max(1, n_inducing * n_gammas))
    return [
        slice(start, min(start + rows, n_molecules))
        for start in range(0, n_molecules, rows)
    ]


# The largest condition number (largest eigenvalue of the normal equations
# over alpha) whose leverages are still meaningful: a thousandth of float64's
# reciprocal precision. Beyond it the leave-one-out errors collapse towards
# zero (leverages of one and more were seen on 40 molecules at alpha 1e-12)
# and the search would pick the worst penalty.
_LARGEST_CONDITION = 1e-3 / np.finfo(np.float64).eps


def _solvable(bases, alphas, leverages):
    """Which (width, alpha) candidates the float64 solution can be trusted for."""
    largest = np.array([values.max() for values, _, _ in bases])
    conditioned = largest[:, None] / np.asarray(alphas)[None, :] <= _LARGEST_CONDITION
    return conditioned & np.all(leverages < 1.0, axis=-1)


def _as_environments(vectors, charges):
    """Representative atoms as environments, each its own "molecule"."""
    return AtomicEnvironments(vectors, charges, np.arange(len(charges)), len(charges))


def _inducing_factors(inducing, gammas):
    """Lower Cholesky factor of each width's kernel among representative atoms."""
    factors = []
    for K_mm in local_kernels(inducing, None, gammas):
        K_mm.flat[:: len(K_mm) + 1] += _JITTER * np.max(np.diag(K_mm))
        factors.append(linalg.cholesky(K_mm, lower=True, overwrite_a=True))
    return factors


def _kernels_to_inducing(
    X, elements, parameters, inducing, gammas, with_self_kernels=True
):
    """``K_nm`` of each width for some molecules, and their ``k(x, x)``."""
    environments = fchl19_environments(X, elements, parameters)
    kernels = local_kernels(environments, inducing, gammas)
    if not with_self_kernels:
        return kernels, None
    return kernels, self_kernels(environments, gammas)


def _normal_equations_of_chunk(X, y, factors, **shared):
    """``Phi^T Phi`` and ``Phi^T y`` of each width, with ``Phi = K_nm L^-T``.

    ``Phi Phi^T`` is the Nystroem approximation of the kernel between the
    molecules, so the sparse model is ridge regression on the rows of
    ``Phi``. Summing ``K_mn K_nm`` and applying ``L^-1`` afterwards would be
    cheaper, but it squares the condition number of ``K_mm``: its rounding
    would then reach the size of the smaller penalties.
    """
    kernels, _ = _kernels_to_inducing(X, **shared, with_self_kernels=False)
    normal_equations = []
    for K, L in zip(kernels, factors, strict=True):
        Phi = linalg.solve_triangular(L, K.T, lower=True, overwrite_b=True).T
        normal_equations.append((Phi.T @ Phi, Phi.T @ y))
    return normal_equations


def _eigenbasis(factors, normal_equations):
    """Each width's solution of the sparse model for every alpha at once.

    With ``U`` the eigenvectors of ``Phi^T Phi``, ``W = L^-T U`` has
    ``W W^T = K_mm^-1``: the weights for a penalty alpha are
    ``W (values + alpha)^-1 U^T Phi^T y``, and ``K_nm W`` holds what
    leave-one-out and the predictive variance need, without a triangular
    solve per molecule.
    """
    bases = []
    for L, (G, b) in zip(factors, normal_equations, strict=True):
        values, U = linalg.eigh(G, overwrite_a=True, driver="evd")
        W = linalg.solve_triangular(L, U, lower=True, trans="T")
        bases.append((np.clip(values, 0.0, None), W, U.T @ b))
    return bases


def _leave_one_out_of_chunk(X, y, bases, alphas, **shared):
    """Residuals and leverages of every (width, alpha), and ``k - Q``."""
    kernels, self_kernels = _kernels_to_inducing(X, **shared)
    residuals = np.empty((len(kernels), len(alphas), len(y)))
    leverages = np.empty_like(residuals)
    unexplained = np.empty((len(kernels), len(y)))
    for k, (K, (values, W, projected_y)) in enumerate(zip(kernels, bases, strict=True)):
        rotated = K @ W
        squared = rotated**2
        for a, alpha in enumerate(alphas):
            inverse = 1.0 / (values + alpha)
            residuals[k, a] = y - rotated @ (inverse * projected_y)
            leverages[k, a] = squared @ inverse
        # W W^T = K_mm^-1, so the squared norm of K W is Q = K K_mm^-1 K^T.
        unexplained[k] = self_kernels[k] - squared.sum(axis=1)
    return residuals, leverages, np.clip(unexplained, 0.0, None)


def _over_chunks(function, X, y, chunks, n_jobs, verbose, desc, **shared):
    """``function`` of each chunk of molecules, as joblib jobs, in order."""
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(function)(X[rows], None if y is None else y[rows], **shared)
        for rows in chunks
    )
    yield from tqdm(results, total=len(chunks), desc=desc, disable=not verbose)


def _fit_statistics(
    X,
    y,
    elements,
    parameters,
    inducing_vectors,
    inducing_charges,
    gammas,
    alphas,
    n_jobs=None,
    verbose=0,
):
    """What the sparse fit needs from the molecules, in two passes over chunks.

    The first pass sums the normal equations ``Phi^T Phi``, ``Phi^T y`` of
    each width, whose eigendecompositions serve every alpha; the second
    gives every molecule's leave-one-out residual and leverage for every
    (width, alpha), and what the representative atoms miss of its kernel.
    ``n_jobs`` and ``verbose`` do not change the result: a cache leaves them
    out of its key.
    """
    inducing = _as_environments(inducing_vectors, inducing_charges)
    shared = dict(
        elements=elements,
        parameters=parameters,
        inducing=inducing,
        gammas=gammas,
    )
    factors = _inducing_factors(inducing, gammas)
    chunks = molecule_chunks(len(X), len(inducing_charges), len(gammas))
    totals = None
    for sums in _over_chunks(
        _normal_equations_of_chunk,
        X,
        y,
        chunks,
        n_jobs,
        verbose,
        "local kernel: normal equations",
        factors=factors,
        **shared,
    ):
        if totals is None:
            totals = sums
            continue
        for (G, b), (G_chunk, b_chunk) in zip(totals, sums, strict=True):
            G += G_chunk
            b += b_chunk
    bases = _eigenbasis(factors, totals)
    parts = list(
        _over_chunks(
            _leave_one_out_of_chunk,
            X,
            y,
            chunks,
            n_jobs,
            verbose,
            "local kernel: leave-one-out",
            bases=bases,
            alphas=alphas,
            **shared,
        )
    )
    residuals, leverages, unexplained = (
        np.concatenate(part, axis=-1) for part in zip(*parts, strict=True)
    )
    return bases, residuals, leverages, unexplained


def _prediction_of_chunk(X, _, basis, weights, alpha, **shared):
    """Mean and, with ``basis``, the unit-scale variance of some molecules."""
    (K,), self_kernels = _kernels_to_inducing(
        X, **shared, with_self_kernels=basis is not None
    )
    mean = K @ weights
    if basis is None:
        return mean, None
    (self_kernel,), (values, W, _) = self_kernels, basis
    squared = (K @ W) ** 2
    sparse = squared @ (1.0 / (values + alpha))
    missed = self_kernel - squared.sum(axis=1)
    return mean, np.clip(missed, 0.0, None) + alpha * (1.0 + sparse)


def _predictions(
    X,
    elements,
    parameters,
    inducing_vectors,
    inducing_charges,
    gamma,
    basis,
    weights,
    alpha,
    n_jobs=None,
    verbose=0,
):
    """Means (and variances, given ``basis``) of molecules, chunk by chunk."""
    chunks = molecule_chunks(len(X), len(inducing_charges), 1)
    parts = list(
        _over_chunks(
            _prediction_of_chunk,
            X,
            None,
            chunks,
            n_jobs,
            verbose,
            "local kernel: predict",
            basis=basis,
            weights=weights,
            alpha=alpha,
            elements=elements,
            parameters=parameters,
            inducing=_as_environments(inducing_vectors, inducing_charges),
            gammas=[gamma],
        )
    )
    means = np.concatenate([mean for mean, _ in parts])
    if basis is None:
        return means, None
    return means, np.concatenate([variance for _, variance in parts])


@shared_parameters
class SparseLocalKernelRidge(RegressorMixin, BaseEstimator):
    """Kernel ridge regression on atomic environments, through representative atoms.

    The model of :class:`LocalKernelRidge` (FCHL19 environments, a Gaussian
    kernel summed over the pairs of atoms of the same element), with the
    energy written as a sum of atomic contributions, each a combination of
    kernels to ``n_inducing`` representative atomic environments rather than
    to every training atom. This is the sparse Gaussian process of the
    subset-of-regressors kind (Quiñonero-Candela and Rasmussen, 2005), as
    in the GAP potentials (Bartók et al., 2010): with ``K_nm`` the kernel
    between the training molecules and the representative atoms and
    ``K_mm`` that among the representative atoms, the weights of the
    representative atoms solve ``(K_mn K_nm + alpha K_mm) w = K_mn y``.

    The cost is that of the kernel between the training atoms and the
    representative ones and of one ``n_inducing``-square system: time
    ``O(n n_inducing^2)`` for ``n`` molecules, where :class:`LocalKernelRidge`
    takes ``O(n^3)``. The molecules are processed a chunk at a time, never
    all held at once: :meth:`fit` makes three passes over them (the
    environments for the choice of representative atoms, the normal
    equations, the leave-one-out terms), and its memory is that of a chunk
    and of a few ``n_inducing``-square matrices per width, whatever ``n``.
    The chunks are joblib jobs: ``n_jobs`` runs them in parallel processes,
    and joblib's Dask backend (``joblib.parallel_config("dask")``) on a
    cluster. With every distinct training environment representative, the
    mean is that of :class:`LocalKernelRidge`.

    The representative atoms are chosen in :meth:`fit`, element by element,
    by farthest-point sampling over the training environments of that
    element: starting from the environment farthest from the element's mean,
    each next one is the environment farthest from all those chosen, so the
    set covers the environments seen rather than their most common kinds.
    ``n_inducing`` is shared among the elements in proportion to their
    training atoms, each getting at least 20 (or all its atoms, if fewer).

    ``gamma`` and ``alpha`` are chosen among the candidates by the
    closed-form leave-one-out RMSE of the sparse model on the training
    molecules, as :class:`LocalKernelRidge` does for the exact one.

    ``predict(X, return_std=True)`` also returns the predictive standard
    deviation of the deterministic training conditional (DTC, the projected
    process; Quiñonero-Candela and Rasmussen, 2005): the variance of the
    sparse model plus what the representative atoms do not capture of the
    query, ``k(x, x) - Q(x, x)``, plus the noise ``alpha``; its prior scale
    is calibrated so that the leave-one-out errors of the training molecules,
    divided by their standard deviations, have unit mean square.

    Parameters
    ----------
    n_inducing : int, default=2000
        About how many representative atomic environments, over all elements
        (see above for how they are shared).
    gammas : float or array-like of float, default=(0.125, 0.03125, 0.0078125)
        Candidates for the coefficient of the Gaussian kernel between atomic
        environments, ``1 / (2 sigma^2)`` for a width ``sigma``.
    alphas : float or array-like of float, default=(1e-8, 1e-6, 1e-4)
        Candidates for the regularization (in the kernel's unit, as in
        :class:`LocalKernelRidge`).
    representation_params : dict, default=None
        Keyword arguments of qmllib's ``generate_fchl19``, as in
        :class:`LocalKernelRidge`; ``None`` keeps its defaults.
    elements : array-like of int, default=None
        Nuclear charges to represent. ``None`` learns them in :meth:`fit`.
    handle_unknown : {"error", "ignore"}, default="error"
        What :meth:`predict` does with an element not in ``elements_``:
        raise, or leave its atoms out.
    n_jobs : int, default=None
        {n_jobs}
        The jobs compute chunks of molecules.
    memory : None, str, path or joblib.Memory, default=None
        {memory}
        Kept here: what :meth:`fit` computes from the molecules (the normal
        equations and leave-one-out terms) and the kernels of the molecules
        :meth:`predict` is given, keyed by the molecules, the targets, the
        representative atoms and the parameters.
    verbose : int, default=0
        {verbose}
        The bar counts the chunks of molecules.

    Attributes
    ----------
    elements_ : ndarray of shape (n_elements,)
        Nuclear charges represented, in increasing order.
    inducing_ : AtomicEnvironments
        The representative atomic environments (each its own "molecule").
    gamma_ : float
        The kernel coefficient used.
    alpha_ : float
        The regularization used.
    loo_rmse_ : ndarray of shape (n_gammas, n_alphas)
        Leave-one-out RMSE of each candidate pair, in the target's unit.
    weights_ : ndarray of shape (n_representative_atoms,)
        Weight of each representative atom's kernel: the prediction of a
        molecule is its kernel to the representative atoms times these.
    std_scale_ : float
        The calibrated prior standard deviation.
    n_features_in_ : int
        Number of columns of the packed molecules.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen in :meth:`fit`, when ``X`` has string column
        names.

    See Also
    --------
    LocalKernelRidge : The exact model, for up to a few thousand molecules.
    AtomicReferenceRegressor : Per-element reference energies; wrap this
        model in it to learn the remainder.

    References
    ----------
    .. [1] J. Quiñonero-Candela and C. E. Rasmussen, "A unifying view of
       sparse approximate Gaussian process regression", JMLR 6, 1939 (2005).
    .. [2] A. P. Bartók, M. C. Payne, R. Kondor and G. Csányi, "Gaussian
       approximation potentials", Phys. Rev. Lett. 104, 136403 (2010).

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x import SparseLocalKernelRidge, pack_molecules
    >>> rng = np.random.default_rng(0)
    >>> water = np.array([[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    >>> molecules = [(["O", "H", "H"], water * s) for s in rng.uniform(0.9, 1.1, 30)]
    >>> X = pack_molecules(molecules)
    >>> y = np.array([np.linalg.norm(R[1] - R[0]) for _, R in molecules])
    >>> model = SparseLocalKernelRidge(n_inducing=10, gammas=0.5, alphas=1e-6)
    >>> model = model.fit(X[:25], y[:25])
    >>> model.inducing_.n_molecules  # at least 20 per element: 20 H and 20 O
    40
    >>> mean, std = model.predict(X[25:], return_std=True)
    >>> bool(np.max(np.abs(mean - y[25:])) < 0.01)
    True
    """

    _parameter_constraints: dict = {
        "n_inducing": [Interval(Integral, 1, None, closed="left")],
        "gammas": [Interval(Real, 0, None, closed="neither"), "array-like"],
        "alphas": [Interval(Real, 0, None, closed="neither"), "array-like"],
        "representation_params": [dict, None],
        "elements": ["array-like", None],
        "handle_unknown": [StrOptions({"error", "ignore"})],
        "n_jobs": [Integral, None],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        n_inducing=2000,
        gammas=(0.125, 0.03125, 0.0078125),
        alphas=(1e-8, 1e-6, 1e-4),
        representation_params=None,
        elements=None,
        handle_unknown="error",
        n_jobs=None,
        memory=None,
        verbose=0,
    ):
        self.n_inducing = n_inducing
        self.gammas = gammas
        self.alphas = alphas
        self.representation_params = representation_params
        self.elements = elements
        self.handle_unknown = handle_unknown
        self.n_jobs = n_jobs
        self.memory = memory
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Choose the representative atoms, the width and the penalty; fit.

        Parameters
        ----------
        X : array-like of shape (n_molecules, 4 * n_atoms_max)
            Packed training molecules.
        y : array-like of shape (n_molecules,)
            Targets (energies).

        Returns
        -------
        self : object
            The fitted regressor.
        """
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        gammas = kernel_candidates(self, self.gammas, "gammas")
        alphas = kernel_candidates(self, self.alphas, "alphas")
        parameters = representation_parameters(self)
        Z, _ = check_molecules(X, type(self).__name__)
        self.elements_ = training_elements(self, Z)
        n_atoms = int(np.count_nonzero(np.isin(Z, self.elements_)))
        # Every atom's projected environment, for the choice; then the
        # n_inducing-square matrices of each width (normal equations,
        # eigenvectors, the factor of one at a time) and a chunk's kernels
        # and their products.
        m = min(self.n_inducing, n_atoms)
        check_fits_in_memory(
            8 * (128 * n_atoms + 4 * gammas.size * m * m + 4 * _CHUNK_ENTRIES),
            f"SparseLocalKernelRidge.fit on {len(X)} molecules ({n_atoms} atoms) "
            f"with {m} representative atoms and {gammas.size} candidate gammas",
            "lower n_inducing, or pass fewer gammas",
        )
        self.inducing_ = select_inducing(
            X,
            self.elements_,
            parameters,
            self.n_inducing,
            molecule_chunks(len(X), self.n_inducing, gammas.size),
            n_jobs=self.n_jobs,
        )
        statistics = as_memory(self.memory).cache(
            _fit_statistics, ignore=["n_jobs", "verbose"]
        )
        bases, residuals, leverages, unexplained = statistics(
            X,
            y,
            self.elements_,
            parameters,
            self.inducing_.vectors,
            self.inducing_.charges,
            tuple(float(gamma) for gamma in gammas),
            tuple(float(alpha) for alpha in alphas),
            n_jobs=self.n_jobs,
            verbose=self.verbose,
        )
        errors = residuals / (1.0 - leverages)
        self.loo_rmse_ = np.sqrt(np.mean(errors**2, axis=-1))
        self.loo_rmse_[~_solvable(bases, alphas, leverages)] = np.inf
        if not np.isfinite(self.loo_rmse_).any():
            largest = max(float(values.max()) for values, _, _ in bases)
            raise ValueError(
                f"{type(self).__name__}: every alpha in "
                f"{[float(alpha) for alpha in alphas]} is too small for the "
                f"normal equations (largest eigenvalue {largest:.3g}) to be "
                f"solved in float64; give alphas of at least "
                f"{largest / _LARGEST_CONDITION:.1g}."
            )
        best_gamma, best_alpha = np.unravel_index(
            np.argmin(self.loo_rmse_), self.loo_rmse_.shape
        )
        if gammas.size * alphas.size == 1:  # nothing to choose
            self.loo_rmse_ = np.full((1, 1), np.nan)
        self.gamma_, self.alpha_ = float(gammas[best_gamma]), float(alphas[best_alpha])
        self._basis = bases[best_gamma]
        values, W, projected_y = self._basis
        self.weights_ = W @ (projected_y / (values + self.alpha_))
        # Leave-one-out calibration of the prior scale, as the exact model's:
        # with error_i = r_i / (1 - h_i), the variance predict gives a new
        # molecule, alpha / (1 - h_i) + k_ii - Q_ii.
        best = (best_gamma, best_alpha)
        variances = self.alpha_ / (1.0 - leverages[best]) + unexplained[best_gamma]
        self.std_scale_ = float(np.sqrt(np.mean(errors[best] ** 2 / variances)))
        return self

    def predict(self, X, return_std=False):
        """Predict the energies, and optionally their standard deviations.

        Parameters
        ----------
        X : array-like of shape (n_molecules, 4 * n_atoms_max)
            Packed molecules.
        return_std : bool, default=False
            Also return the calibrated predictive standard deviation.

        Returns
        -------
        y_pred : ndarray of shape (n_molecules,)
            Predicted mean.
        y_std : ndarray of shape (n_molecules,)
            Predictive standard deviation, in the target's unit. Only when
            ``return_std`` is True.
        """
        check_is_fitted(self)
        X = check_query_molecules(self, X)
        predictions = as_memory(self.memory).cache(
            _predictions, ignore=["n_jobs", "verbose"]
        )
        mean, variance = predictions(
            X,
            self.elements_,
            representation_parameters(self),
            self.inducing_.vectors,
            self.inducing_.charges,
            self.gamma_,
            self._basis if return_std else None,
            self.weights_,
            self.alpha_,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
        )
        if not return_std:
            return mean
        return mean, self.std_scale_ * np.sqrt(np.clip(variance, self.alpha_, None))
