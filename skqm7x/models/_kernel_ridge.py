"""Kernel ridge regression with the Gaussian-process standard deviation."""

# SPDX-License-Identifier: BSD-3-Clause

import os
from numbers import Real

import numpy as np
from scipy.linalg import blas, lapack
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.metrics.pairwise import euclidean_distances, manhattan_distances
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skqm7x._utils._cache import as_memory
from skqm7x._utils._docstrings import shared_parameters


class GaussianProcessKernelRidge(RegressorMixin, BaseEstimator):
    """Kernel ridge regression that also predicts its standard deviation.

    The mean is scikit-learn's :class:`~sklearn.kernel_ridge.KernelRidge`
    with a Laplacian or Gaussian (RBF) kernel. Kernel ridge regression is the
    posterior mean of a Gaussian process with the same kernel, scaled by a
    prior variance ``s**2``, and with noise variance ``s**2 * alpha``
    (Rasmussen and Williams, 2006, section 6.2). ``predict(X, return_std=True)``
    also returns that process's predictive standard deviation for a new
    observation, ``s * sqrt(1 + alpha - k(x)^T (K + alpha I)^-1 k(x))``, as
    :class:`~sklearn.gaussian_process.GaussianProcessRegressor` does.

    The scale ``s`` is calibrated on held-out training points: it makes the
    leave-one-out errors of the training set have unit mean square when
    divided by their predicted standard deviations. Leave-one-out errors and
    their standard deviations come in closed form from the same Cholesky
    factor, with no refit (Rasmussen and Williams, 2006, section 5.4.2).

    Parameters
    ----------
    alpha : float, default=1.0
        Regularization: ``alpha`` added to the diagonal of the kernel matrix.
        Must be positive, which makes that matrix positive definite.
    kernel : {"laplacian", "rbf", "precomputed"}, default="laplacian"
        ``exp(-gamma * ||x - x'||_1)`` or ``exp(-gamma * ||x - x'||_2**2)``,
        as in :func:`sklearn.metrics.pairwise.pairwise_kernels`; or
        ``"precomputed"``: ``X`` is a kernel matrix, as in
        :class:`~sklearn.kernel_ridge.KernelRidge`, square and symmetric in
        :meth:`fit`, of shape ``(n_queries, n_samples_fitted)`` in
        :meth:`predict`. A precomputed kernel gives the mean and the
        leave-one-out results, not ``return_std``: the standard deviation
        needs each query's ``k(x, x)``, which such a kernel does not hold.
    gamma : float, default=None
        Inverse kernel width; ``None`` means ``1 / n_features``. Must be None
        with a precomputed kernel.

    Attributes
    ----------
    gamma_ : float or None
        The inverse kernel width used: ``gamma``, or ``1 / n_features``;
        None with a precomputed kernel.
    alpha_ : float
        The regularization used, ``alpha``.
    dual_coef_ : ndarray of shape (n_samples,)
        ``(K + alpha I)^-1 y``, as :class:`~sklearn.kernel_ridge.KernelRidge`
        has it: the mean prediction is the query's kernel row times it.
    X_fit_ : ndarray of shape (n_samples, n_features)
        Training data, needed to evaluate the kernel at prediction time (the
        training kernel, when precomputed).
    inverse_cholesky_ : ndarray of shape (n_samples, n_samples)
        ``L^-1``, the inverse of the lower Cholesky factor ``L`` of ``K +
        alpha I`` (lower triangular): what the leave-one-out errors and the
        predictive standard deviation need.
    std_scale_ : float
        The calibrated prior standard deviation ``s``, in the target's unit.
    loo_predictions_ : ndarray of shape (n_samples,)
        Each training sample's prediction by the model fitted without it,
        in closed form (what :class:`BlendingRegressor` weighs models by).
    loo_std_ : ndarray of shape (n_samples,)
        The calibrated standard deviation of each of those predictions.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`, when ``X`` has string
        column names.

    See Also
    --------
    sklearn.kernel_ridge.KernelRidge : The mean alone.
    sklearn.gaussian_process.GaussianProcessRegressor : The same posterior with
        ``PairwiseKernel(metric=kernel)``, an uncalibrated scale, and the
        standard deviation of the noise-free function.

    References
    ----------
    .. [1] C. E. Rasmussen and C. K. I. Williams, "Gaussian Processes for
       Machine Learning", MIT Press (2006).

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x import GaussianProcessKernelRidge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-3, 3, size=(80, 1))
    >>> y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=80)
    >>> model = GaussianProcessKernelRidge(kernel="rbf", gamma=1.0, alpha=0.01)
    >>> mean, std = model.fit(X, y).predict([[0.0], [10.0]], return_std=True)
    >>> std.round(2)  # the noise (0.1) near the data, the prior far from it
    array([0.1 , 0.95])
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "kernel": [StrOptions({"laplacian", "rbf", "precomputed"})],
        "gamma": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(self, *, alpha=1.0, kernel="laplacian", gamma=None):
        self.alpha = alpha
        self.kernel = kernel
        self.gamma = gamma

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # As KernelRidge: cross-validation then takes the kernel's rows and
        # columns of each fold's training samples.
        tags.input_tags.pairwise = self.kernel == "precomputed"
        return tags

    def _distances(self, X, Y=None):
        return kernel_distances(self.kernel, X, Y)

    def _kernel(self, X, Y=None, *, gamma):
        if self.kernel == "precomputed":
            return X
        return np.exp(-gamma * self._distances(X, Y))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the kernel ridge mean and calibrate the standard deviation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Targets.

        Returns
        -------
        self : object
            The fitted regressor.
        """
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        if self.kernel == "precomputed":
            check_precomputed_kernel(self, X, gamma=self.gamma)
            self.gamma_ = None
        else:
            self.gamma_ = 1.0 / X.shape[1] if self.gamma is None else float(self.gamma)
        solution = solve_kernel_ridge(
            self._kernel(X, gamma=self.gamma_), y, float(self.alpha)
        )
        store_solution(self, solution, y)
        self.X_fit_ = X
        return self

    def predict(self, X, return_std=False):
        """Predict the mean, and optionally its standard deviation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Query points.
        return_std : bool, default=False
            Also return the calibrated predictive standard deviation.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted mean.
        y_std : ndarray of shape (n_samples,)
            Predictive standard deviation, in the target's unit. Only when
            ``return_std`` is True.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        if return_std and self.kernel == "precomputed":
            raise ValueError(
                f"{type(self).__name__}(kernel='precomputed') predicts no std: it "
                "needs each query's k(x, x), which a precomputed kernel does not "
                "give; predict without return_std."
            )
        K = self._kernel(X, self.X_fit_, gamma=self.gamma_)
        mean = K @ self.dual_coef_
        if not return_std:
            return mean
        # Both kernels have k(x, x) = 1.
        return mean, gaussian_process_std(self, K, 1.0)


@shared_parameters
class GaussianProcessKernelRidgeCV(GaussianProcessKernelRidge):
    """:class:`GaussianProcessKernelRidge` choosing gamma and alpha by leave-one-out.

    Each candidate pair is scored by its leave-one-out RMSE on the training
    samples, in closed form (as :class:`~sklearn.linear_model.RidgeCV`
    does): one distance matrix serves every ``gamma``, and one Cholesky
    factor of the whole training kernel each candidate, where a
    :class:`~sklearn.model_selection.GridSearchCV` would solve a kernel
    system per candidate and fold. The factor of the pair of lowest RMSE is
    the fitted model, with the calibrated standard deviation of
    :class:`GaussianProcessKernelRidge`.

    Parameters
    ----------
    gammas : array-like of float, default=None
        Candidates for the inverse kernel width; ``None`` means ``(0.1, 1,
        10) / n_features``. Must be None with a precomputed kernel.
    alphas : array-like of float, default=(1e-6, 1e-4, 1e-2, 1.0)
        Candidates for the regularization added to the diagonal of the
        kernel matrix, in the kernel's unit, as in every kernel model of the
        library (here the kernel is 1 on its diagonal, so ``alpha`` is also
        the noise variance relative to the prior's).
    kernel : {"laplacian", "rbf", "precomputed"}, default="laplacian"
        ``exp(-gamma * ||x - x'||_1)`` or ``exp(-gamma * ||x - x'||_2**2)``;
        or ``"precomputed"``, as in :class:`GaussianProcessKernelRidge`: only
        ``alphas`` are then searched.
    memory : None, str, path or joblib.Memory, default=None
        {memory}
        Kept here: the search's result (every candidate's score and the
        chosen solution, an ``n_samples`` square matrix), keyed by the
        training data, the targets and the candidates: a second fit on the
        same data reads it.

    Attributes
    ----------
    gamma_ : float or None
        The inverse kernel width chosen; None with a precomputed kernel.
    alpha_ : float
        The regularization chosen.
    loo_rmse_ : ndarray of shape (n_gammas, n_alphas)
        Leave-one-out RMSE of each candidate pair, in the target's unit; of
        shape ``(1, n_alphas)`` with a precomputed kernel.
    dual_coef_ : ndarray of shape (n_samples,)
        ``(K + alpha_ I)^-1 y``: the mean prediction is the query's kernel
        row times it.
    X_fit_ : ndarray of shape (n_samples, n_features)
        Training data, needed to evaluate the kernel at prediction time (the
        training kernel, when precomputed).
    inverse_cholesky_ : ndarray of shape (n_samples, n_samples)
        ``L^-1``, the inverse of the lower Cholesky factor ``L`` of ``K +
        alpha_ I``.
    std_scale_ : float
        The calibrated prior standard deviation, in the target's unit.
    loo_predictions_ : ndarray of shape (n_samples,)
        Each training sample's prediction by the chosen model fitted without
        it, in closed form.
    loo_std_ : ndarray of shape (n_samples,)
        The calibrated standard deviation of each of those predictions.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`, when ``X`` has string
        column names.

    See Also
    --------
    GaussianProcessKernelRidge : One gamma and alpha, given.
    LocalKernelRidge : The same choice, for a kernel on atomic environments.

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x import GaussianProcessKernelRidgeCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-3, 3, size=(80, 1))
    >>> y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=80)
    >>> model = GaussianProcessKernelRidgeCV(
    ...     kernel="rbf", gammas=[0.01, 1.0], alphas=[1e-6, 1e-2]
    ... ).fit(X, y)
    >>> model.gamma_, model.alpha_, model.loo_rmse_.shape
    (1.0, 0.01, (2, 2))

    A kernel of one's own, precomputed, has only its penalty chosen:

    >>> from sklearn.metrics.pairwise import rbf_kernel
    >>> K = rbf_kernel(X, gamma=1.0)
    >>> same = GaussianProcessKernelRidgeCV(
    ...     kernel="precomputed", alphas=[1e-6, 1e-2]
    ... ).fit(K, y)
    >>> same.alpha_, bool(np.allclose(same.loo_rmse_, model.loo_rmse_[1]))
    (0.01, True)
    """

    _parameter_constraints: dict = {
        "gammas": ["array-like", None],
        "alphas": ["array-like"],
        "kernel": [StrOptions({"laplacian", "rbf", "precomputed"})],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
    }

    def __init__(
        self,
        *,
        gammas=None,
        alphas=(1e-6, 1e-4, 1e-2, 1.0),
        kernel="laplacian",
        memory=None,
    ):
        self.gammas = gammas
        self.alphas = alphas
        self.kernel = kernel
        self.memory = memory

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Choose gamma and alpha, then fit the mean and its std.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Targets.

        Returns
        -------
        self : object
            The fitted regressor.
        """
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        if self.kernel == "precomputed":
            check_precomputed_kernel(self, X, gammas=self.gammas)
            gammas = np.array([np.nan])  # one candidate: the kernel itself
        elif self.gammas is None:
            gammas = np.array([0.1, 1.0, 10.0]) / X.shape[1]
        else:
            gammas = kernel_candidates(self, self.gammas, "gammas")
        alphas = kernel_candidates(self, self.alphas, "alphas")
        search = as_memory(self.memory).cache(search_kernel_ridge)
        self.loo_rmse_, self.gamma_, best = search(X, y, self.kernel, gammas, alphas)
        if self.kernel == "precomputed":
            self.gamma_ = None
        store_solution(self, best, y)
        self.X_fit_ = X
        return self


def kernel_distances(kernel, X, Y=None):
    """The L1 (Laplacian) or squared L2 (RBF) distances the kernel decays with."""
    if kernel == "laplacian":
        return manhattan_distances(X, Y)
    return euclidean_distances(X, Y, squared=True)


def search_kernel_ridge(X, y, kernel, gammas, alphas):
    """Every candidate's leave-one-out RMSE, the chosen gamma and its solution.

    One distance matrix serves every width (L1 distances, on one thread,
    cost far more than the kernels' exponentials). Raises ValueError if no
    candidate can be solved.
    """
    loo_rmse = np.empty((len(gammas), len(alphas)))
    best, best_gamma = None, None
    if kernel == "precomputed":
        loo_rmse[0], best = kernel_ridge_path(X, y, alphas)
        check_some_candidate_fits(loo_rmse, alphas)
        return loo_rmse, None, best
    distances = kernel_distances(kernel, X)
    K = np.empty_like(distances)
    for k, gamma in enumerate(gammas):
        np.exp(np.multiply(distances, -gamma, out=K), out=K)
        loo_rmse[k], solution = kernel_ridge_path(K, y, alphas)
        if solution is not None and (best is None or solution.loo_rmse < best.loo_rmse):
            best, best_gamma = solution, float(gamma)
    check_some_candidate_fits(loo_rmse, alphas)
    return loo_rmse, best_gamma, best


class KernelRidgeSolution:
    """Kernel ridge regression solved by one Cholesky factor, and its leave-one-out.

    With ``A = K + alpha I``, ``dual_coef = A^-1 y``; the error on sample
    ``i`` when it is left out is ``dual_coef_i / [A^-1]_ii`` (Rasmussen and
    Williams, 2006, eq. 5.12), with ``diag(A^-1)`` the squared column norms
    of ``inverse_factor = L^-1``, the inverse of the Cholesky factor ``L``
    of ``A``. The same inverse factor gives the predictive variance of any
    query (:func:`variance_reduction`).

    Parameters
    ----------
    K : ndarray of shape (n_samples, n_samples)
        Symmetric training kernel; not changed.
    y : ndarray of shape (n_samples,)
        Targets.
    alpha : float
        Added to the diagonal of ``K``.

    Raises
    ------
    numpy.linalg.LinAlgError
        If ``K + alpha I`` is not numerically positive definite.
    """

    def __init__(self, K, y, alpha):
        self.alpha = float(alpha)
        # K is symmetric: its transpose is the Fortran-ordered copy LAPACK
        # works in, made by one plain copy of the memory.
        A = np.array(K.T, order="F")
        A.flat[:: len(A) + 1] += self.alpha
        factor, info = lapack.dpotrf(A, lower=1, clean=1, overwrite_a=1)
        if info != 0:
            raise np.linalg.LinAlgError(
                f"the kernel matrix plus alpha={self.alpha:g} is not numerically "
                "positive definite"
            )
        self.dual_coef, _ = lapack.dpotrs(factor, y, lower=1)
        self.inverse_factor, _ = lapack.dtrtri(factor, lower=1, overwrite_c=1)
        self.inverse_diagonal = np.einsum(
            "ij,ij->j", self.inverse_factor, self.inverse_factor
        )
        self.loo_errors = self.dual_coef / self.inverse_diagonal
        self.loo_rmse = float(np.sqrt(np.mean(self.loo_errors**2)))

    def calibration(self, y):
        """``std_scale``, ``loo_predictions`` and ``loo_std``.

        ``std_scale`` is the prior standard deviation ``s`` that gives the
        leave-one-out errors unit mean square when divided by their
        predicted standard deviations, ``s / sqrt([A^-1]_ii)``.
        """
        std_scale = float(np.sqrt(np.mean(self.loo_errors**2 * self.inverse_diagonal)))
        loo_std = std_scale / np.sqrt(self.inverse_diagonal)
        return std_scale, y - self.loo_errors, loo_std


def store_solution(estimator, solution, y):
    """Set the fitted attributes of a kernel model from its chosen solution.

    ``alpha_``, ``dual_coef_``, ``inverse_cholesky_``, ``std_scale_``,
    ``loo_predictions_`` and ``loo_std_``.
    """
    estimator.alpha_ = solution.alpha
    estimator.dual_coef_ = solution.dual_coef
    estimator.inverse_cholesky_ = solution.inverse_factor
    (
        estimator.std_scale_,
        estimator.loo_predictions_,
        estimator.loo_std_,
    ) = solution.calibration(y)


def solve_kernel_ridge(K, y, alpha):
    """:class:`KernelRidgeSolution` of ``K + alpha I``, or a ValueError that says so."""
    try:
        return KernelRidgeSolution(K, y, alpha)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"The kernel matrix plus alpha={alpha:g} is not numerically "
            "positive definite (duplicate samples?); increase alpha."
        ) from None


def kernel_ridge_path(K, y, alphas):
    """The leave-one-out RMSE of each alpha, and the solution of the lowest.

    One Cholesky factor per alpha: one eigendecomposition would serve every
    alpha, but costs as much as several factors, and the ready-made models
    try two or three alphas. Only the best solution so far is kept. An alpha
    for which ``K + alpha I`` is not numerically positive definite scores
    infinity; if every alpha does, the solution is None.
    """
    rmse = np.full(len(alphas), np.inf)
    best = None
    for i, alpha in enumerate(alphas):
        try:
            solution = KernelRidgeSolution(K, y, alpha)
        except np.linalg.LinAlgError:
            continue
        rmse[i] = solution.loo_rmse
        if best is None or solution.loo_rmse < best.loo_rmse:
            best = solution
    return rmse, best


def check_some_candidate_fits(rmse, alphas):
    """Raise ValueError if no candidate of a search could be solved (all infinite)."""
    if not np.isfinite(rmse).any():
        raise ValueError(
            "The kernel matrix plus each of alphas="
            f"{[float(alpha) for alpha in alphas]} is not numerically positive "
            "definite (duplicate samples?); give larger alphas."
        )


def gaussian_process_std(estimator, K, prior_variance):
    """Predictive standard deviation of a new observation, by a fitted kernel model.

    ``std_scale_ * sqrt(k(x, x) + alpha_ - k(x)^T (K + alpha_ I)^-1 k(x))``,
    with ``K`` the kernel between the queries and the training samples (one
    row per query) and ``prior_variance`` the queries' ``k(x, x)``.
    """
    alpha = estimator.alpha_
    variance = (
        prior_variance + alpha - variance_reduction(estimator.inverse_cholesky_, K)
    )
    return estimator.std_scale_ * np.sqrt(np.clip(variance, alpha, None))


def variance_reduction(inverse_cholesky, K):
    """``k^T A^-1 k`` for each row ``k`` of ``K``, from ``L^-1`` of ``A = L L^T``."""
    # K L^-T, whose rows are L^-1 k: a triangular product, half a full one's work.
    rotated = blas.dtrmm(1.0, inverse_cholesky, K, side=1, lower=1, trans_a=1)
    return np.einsum("ij,ij->i", rotated, rotated)


def leave_one_out_errors(K, y, alphas):
    """Closed-form leave-one-out errors of kernel ridge, one row per alpha."""
    return np.array([solve_kernel_ridge(K, y, alpha).loo_errors for alpha in alphas])


def leave_one_out_rmse(K, y, alphas):
    """Closed-form leave-one-out RMSE of kernel ridge for each alpha (inf: unsolved)."""
    rmse, _ = kernel_ridge_path(K, y, alphas)
    return rmse


def check_precomputed_kernel(estimator, K, **widths):
    """Refuse a training kernel that is not square and symmetric, or a width given."""
    name = type(estimator).__name__
    for parameter, value in widths.items():
        if value is not None:
            raise ValueError(
                f"{name}(kernel='precomputed') takes no {parameter}: the kernel "
                f"is given; leave {parameter}=None."
            )
    if K.shape[0] != K.shape[1]:
        raise ValueError(
            f"{name}(kernel='precomputed'): fit takes the square kernel of the "
            f"training samples, got shape {K.shape}."
        )
    if not np.allclose(K, K.T, rtol=1e-10, atol=0):
        raise ValueError(
            f"{name}(kernel='precomputed'): the training kernel is not symmetric."
        )


def kernel_candidates(estimator, value, name):
    """The candidates of ``gammas`` or ``alphas``, as positive floats."""
    values = np.atleast_1d(np.asarray(value, dtype=float)).ravel()
    if values.size == 0 or not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(
            f"{type(estimator).__name__}: {name} must be positive numbers, "
            f"got {value!r}."
        )
    return values
