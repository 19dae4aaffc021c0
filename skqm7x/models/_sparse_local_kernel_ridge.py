"""Sparse kernel ridge regression on atomic environments (representative atoms)."""

# SPDX-License-Identifier: BSD-3-Clause

import os
from numbers import Integral, Real

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from tqdm.auto import tqdm

from skqm7x._molecules import (
    check_atomic_numbers,
    check_known_elements,
    check_molecules,
)
from skqm7x._utils._cache import as_memory
from skqm7x._utils._memory import check_fits_in_memory
from skqm7x.models._local_kernel_ridge import (
    _self_kernels,
    kernel_candidates,
    local_kernels,
    representation_parameters,
    training_elements,
)
from skqm7x.representations import AtomicEnvironments, fchl19_environments

# The fewest representative atoms of an element (or all its atoms, if it has
# fewer): a rare element still gets a few, whatever its share of the atoms.
_MIN_PER_ELEMENT = 20
# Farthest-point sampling runs on the vectors projected onto this many random
# directions: it loops once per chosen point over all the element's atoms,
# and in this size a loop reads a few MB instead of a vector's ~1000 floats
# per atom; distances keep their order closely (Johnson-Lindenstrauss).
_SAMPLING_DIMENSIONS = 128
# Added to the diagonal of the representative atoms' kernel (whose diagonal
# is 1): two very close environments make it singular to rounding.
_JITTER = 1e-8


def inducing_counts(charges, n_inducing):
    """How many representative atoms each element gets.

    ``n_inducing`` is shared among the elements in proportion to their atoms,
    each getting at least ``_MIN_PER_ELEMENT`` (or all of its atoms).
    """
    elements, counts = np.unique(charges, return_counts=True)
    shares = np.ceil(n_inducing * counts / counts.sum()).astype(int)
    return dict(
        zip(
            elements.tolist(),
            np.minimum(counts, np.maximum(shares, _MIN_PER_ELEMENT)).tolist(),
            strict=True,
        )
    )


def farthest_points(vectors, n_points):
    """Indices of up to ``n_points`` rows of ``vectors``, farthest-point first.

    Starts from the row farthest from the mean, then repeatedly adds the row
    farthest from all those chosen; stops early when every row left
    duplicates a chosen one. Rows longer than ``_SAMPLING_DIMENSIONS`` are
    compared through a fixed random projection to that size. Deterministic.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.shape[1] > _SAMPLING_DIMENSIONS:
        directions = np.random.default_rng(0).normal(
            size=(vectors.shape[1], _SAMPLING_DIMENSIONS)
        )
        vectors = vectors @ directions
    squared_norms = np.einsum("ij,ij->i", vectors, vectors)
    centred = vectors - vectors.mean(axis=0)
    chosen = [int(np.argmax(np.einsum("ij,ij->i", centred, centred)))]
    distances = np.full(len(vectors), np.inf)
    for _ in range(min(n_points, len(vectors)) - 1):
        last = vectors[chosen[-1]]
        to_last = squared_norms + squared_norms[chosen[-1]] - 2.0 * (vectors @ last)
        np.minimum(distances, to_last, out=distances)
        farthest = int(np.argmax(distances))
        if distances[farthest] <= 1e-12 * max(squared_norms[farthest], 1.0):
            break
        chosen.append(farthest)
    return np.array(chosen)


def _select_inducing(environments, n_inducing):
    """Representative atoms of each element, by farthest-point sampling."""
    counts = inducing_counts(environments.charges, n_inducing)
    atoms = []
    for element, count in counts.items():
        of_element = np.flatnonzero(environments.charges == element)
        atoms.append(
            of_element[farthest_points(environments.vectors[of_element], count)]
        )
    atoms = np.concatenate(atoms)
    return AtomicEnvironments(
        environments.vectors[atoms],
        environments.charges[atoms],
        np.arange(len(atoms)),
        len(atoms),
    )


def _kernels_to_inducing(
    X,
    elements,
    parameters,
    inducing_vectors,
    inducing_charges,
    gammas,
    n_jobs=None,
    verbose=0,
    environments=None,
):
    """Kernels between molecules and representative atoms, one per width.

    ``n_jobs``, ``verbose`` and ``environments`` (those of ``X``, when
    already computed) do not change the result: a cache leaves them out of
    its key.
    """
    if environments is None:
        environments = fchl19_environments(X, elements, parameters)
    inducing = AtomicEnvironments(
        inducing_vectors,
        inducing_charges,
        np.arange(len(inducing_charges)),
        len(inducing_charges),
    )
    with tqdm(
        total=int(np.isin(environments.charges, inducing.charges).sum()),
        desc="local kernel to representative atoms",
        unit="atom",
        disable=not verbose,
    ) as bar:
        return local_kernels(
            environments, inducing, gammas, progress=bar, n_jobs=n_jobs
        )


def _projected_features(K_nm, K_mm):
    """``Phi = K_nm L^-T`` with ``L L^T = K_mm``: ``Phi Phi^T`` is the
    Nystroem approximation of the kernel between the molecules."""
    K_mm = K_mm.copy()
    K_mm.flat[:: len(K_mm) + 1] += _JITTER * np.max(np.diag(K_mm))
    cholesky = linalg.cholesky(K_mm, lower=True)
    features = linalg.solve_triangular(cholesky, K_nm.T, lower=True).T
    return features, cholesky


def _leave_one_out_rmse(features, y, alphas):
    """Closed-form leave-one-out RMSE of ridge regression on ``features``.

    One thin SVD serves every alpha: with ``features = U S V^T``, the fitted
    values are ``U diag(s^2 / (s^2 + alpha)) U^T y`` and the leverages the
    row sums of ``U^2`` weighted the same way.
    """
    U, s, _ = linalg.svd(features, full_matrices=False)
    projected = U.T @ y
    squared_U = U**2
    rmse = []
    for alpha in alphas:
        shrink = s**2 / (s**2 + alpha)
        residuals = y - U @ (shrink * projected)
        leverages = squared_U @ shrink
        rmse.append(np.sqrt(np.mean((residuals / (1.0 - leverages)) ** 2)))
    return np.array(rmse)


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
    ``O(n n_inducing^2)`` and memory ``O(n n_inducing)`` for ``n`` molecules,
    where :class:`LocalKernelRidge` takes ``O(n^3)`` and ``O(n^2)``. With
    every distinct training environment representative, the mean is that of
    :class:`LocalKernelRidge`.

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
        Blocks of atoms whose kernels are computed at once, in threads
        (joblib; ``None`` means 1 unless in a ``joblib.parallel_config``
        context, ``-1`` all cores). It changes the result by rounding only.
    memory : None, str, path or joblib.Memory, default=None
        Cache of the kernels between molecules and representative atoms,
        keyed by the molecules, the representative atoms and the parameters.
        ``None`` caches nothing.
    verbose : int, default=0
        0 is silent; 1 or more shows a progress bar over the atoms while
        computing kernels.

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

    def _kernels(self, X, gammas, environments=None):
        """Kernels between molecules and the representative atoms."""
        compute = as_memory(self.memory).cache(
            _kernels_to_inducing, ignore=["n_jobs", "verbose", "environments"]
        )
        return compute(
            X,
            self.elements_,
            representation_parameters(self),
            self.inducing_.vectors,
            self.inducing_.charges,
            tuple(float(gamma) for gamma in gammas),
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            environments=environments,
        )

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
        environments = fchl19_environments(X, self.elements_, parameters)
        self.inducing_ = _select_inducing(environments, self.n_inducing)
        n, m = len(X), self.inducing_.n_molecules
        # The kernels and their projections, one per width, and an SVD.
        check_fits_in_memory(
            8 * n * m * (2 * gammas.size + 2),
            f"SparseLocalKernelRidge.fit on {n} molecules with {m} "
            f"representative atoms ({gammas.size} kernels of {n} x {m})",
            "lower n_inducing, or pass fewer gammas",
        )
        kernels = self._kernels(X, gammas, environments)
        inducing_kernels = local_kernels(self.inducing_, self.inducing_, gammas)
        projected = [
            _projected_features(K_nm, K_mm)
            for K_nm, K_mm in zip(kernels, inducing_kernels, strict=True)
        ]
        if gammas.size * alphas.size == 1:  # nothing to choose
            self.loo_rmse_ = np.full((1, 1), np.nan)
            best_gamma, best_alpha = 0, 0
        else:
            self.loo_rmse_ = np.array(
                [_leave_one_out_rmse(features, y, alphas) for features, _ in projected]
            )
            best_gamma, best_alpha = np.unravel_index(
                np.argmin(self.loo_rmse_), self.loo_rmse_.shape
            )
        self.gamma_, self.alpha_ = float(gammas[best_gamma]), float(alphas[best_alpha])
        features, self._inducing_cholesky = projected[best_gamma]
        self._fit_weights(features, y, _self_kernels(environments, self.gamma_))
        return self

    def _fit_weights(self, features, y, self_kernels):
        gram = features.T @ features
        gram.flat[:: len(gram) + 1] += self.alpha_
        try:
            self._posterior_cholesky = linalg.cholesky(gram, lower=True)
        except linalg.LinAlgError as error:
            raise ValueError(
                f"{type(self).__name__}: the system of the representative atoms "
                f"plus alpha={self.alpha_:g} is not numerically positive "
                "definite; increase alpha."
            ) from error
        projected_weights = linalg.cho_solve(
            (self._posterior_cholesky, True), features.T @ y
        )
        self.weights_ = linalg.solve_triangular(
            self._inducing_cholesky, projected_weights, lower=True, trans="T"
        )
        # Leave-one-out calibration of the prior scale, as the exact model's:
        # error_i = r_i / (1 - h_i), with the variance predict gives a new
        # molecule, alpha / (1 - h_i) + k_ii - Q_ii.
        residuals = y - features @ projected_weights
        half = linalg.solve_triangular(self._posterior_cholesky, features.T, lower=True)
        leverages = np.einsum("ij,ij->j", half, half)
        unexplained = np.clip(
            self_kernels - np.einsum("ij,ij->i", features, features), 0.0, None
        )
        variances = self.alpha_ / (1.0 - leverages) + unexplained
        errors = residuals / (1.0 - leverages)
        self.std_scale_ = float(np.sqrt(np.mean(errors**2 / variances)))

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
        X = validate_data(self, X, reset=False, dtype=np.float64)
        Z, _ = check_molecules(X, type(self).__name__)
        check_atomic_numbers(Z, type(self).__name__, "FCHL19")
        check_known_elements(Z, self.elements_, self.handle_unknown)
        environments = fchl19_environments(
            X, self.elements_, representation_parameters(self)
        )
        (K,) = self._kernels(X, [self.gamma_], environments)
        mean = K @ self.weights_
        if not return_std:
            return mean
        projected = linalg.solve_triangular(self._inducing_cholesky, K.T, lower=True)
        half = linalg.solve_triangular(self._posterior_cholesky, projected, lower=True)
        variance = (
            _self_kernels(environments, self.gamma_)
            - np.einsum("ij,ij->j", projected, projected)
            + self.alpha_ * (1.0 + np.einsum("ij,ij->j", half, half))
        )
        return mean, self.std_scale_ * np.sqrt(np.clip(variance, self.alpha_, None))
