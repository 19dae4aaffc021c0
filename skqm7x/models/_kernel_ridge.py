"""Kernel ridge regression with the Gaussian-process standard deviation."""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Real

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.kernel_ridge import KernelRidge
from sklearn.metrics.pairwise import euclidean_distances, manhattan_distances
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data


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
    kernel : {"laplacian", "rbf"}, default="laplacian"
        ``exp(-gamma * ||x - x'||_1)`` or ``exp(-gamma * ||x - x'||_2**2)``,
        as in :func:`sklearn.metrics.pairwise.pairwise_kernels`.
    gamma : float, default=None
        Inverse kernel width; ``None`` means ``1 / n_features``.

    Attributes
    ----------
    gamma_ : float
        The inverse kernel width used: ``gamma``, or ``1 / n_features``.
    alpha_ : float
        The regularization used, ``alpha``.
    kernel_ridge_ : KernelRidge
        The fitted mean, on the precomputed training kernel.
    X_fit_ : ndarray of shape (n_samples, n_features)
        Training data, needed to evaluate the kernel at prediction time.
    cholesky_ : ndarray of shape (n_samples, n_samples)
        Lower Cholesky factor of ``K + alpha I``.
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
        "kernel": [StrOptions({"laplacian", "rbf"})],
        "gamma": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(self, *, alpha=1.0, kernel="laplacian", gamma=None):
        self.alpha = alpha
        self.kernel = kernel
        self.gamma = gamma

    def _distances(self, X, Y=None):
        """The L1 (Laplacian) or squared L2 (RBF) distances the kernel decays with."""
        if self.kernel == "laplacian":
            return manhattan_distances(X, Y)
        return euclidean_distances(X, Y, squared=True)

    def _kernel(self, X, Y=None, *, gamma):
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
        self.gamma_ = 1.0 / X.shape[1] if self.gamma is None else float(self.gamma)
        self.alpha_ = float(self.alpha)
        self._fit_gaussian_process(self._kernel(X, gamma=self.gamma_), X, y)
        return self

    def _fit_gaussian_process(self, K, X, y):
        (
            self.kernel_ridge_,
            self.cholesky_,
            self.std_scale_,
            self.loo_predictions_,
            self.loo_std_,
        ) = fit_gaussian_process(K, y, self.alpha_)
        self.X_fit_ = X

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
        K = self._kernel(X, self.X_fit_, gamma=self.gamma_)
        mean = self.kernel_ridge_.predict(K)
        if not return_std:
            return mean
        # Both kernels have k(x, x) = 1.
        return mean, gaussian_process_std(
            self.cholesky_, K, 1.0, self.alpha_, self.std_scale_
        )


class GaussianProcessKernelRidgeCV(GaussianProcessKernelRidge):
    """:class:`GaussianProcessKernelRidge` choosing gamma and alpha by leave-one-out.

    Each candidate pair is scored by its leave-one-out RMSE on the training
    samples, in closed form (as :class:`~sklearn.linear_model.RidgeCV`
    does): one kernel and one eigendecomposition per ``gamma`` serve every
    ``alpha``, where a :class:`~sklearn.model_selection.GridSearchCV` would
    solve a kernel system per candidate and fold. The pair of lowest RMSE is
    then fitted as :class:`GaussianProcessKernelRidge` would be, with the
    same calibrated standard deviation.

    Parameters
    ----------
    gammas : array-like of float, default=None
        Candidates for the inverse kernel width; ``None`` means ``(0.1, 1,
        10) / n_features``.
    alphas : array-like of float, default=(1e-6, 1e-4, 1e-2, 1.0)
        Candidates for the regularization added to the kernel's diagonal
        (the kernel is 1 on its diagonal, so ``alpha`` is the noise variance
        relative to the prior's).
    kernel : {"laplacian", "rbf"}, default="laplacian"
        ``exp(-gamma * ||x - x'||_1)`` or ``exp(-gamma * ||x - x'||_2**2)``.

    Attributes
    ----------
    gamma_ : float
        The inverse kernel width chosen.
    alpha_ : float
        The regularization chosen.
    loo_rmse_ : ndarray of shape (n_gammas, n_alphas)
        Leave-one-out RMSE of each candidate pair, in the target's unit.
    kernel_ridge_ : KernelRidge
        The fitted mean, on the precomputed training kernel.
    X_fit_ : ndarray of shape (n_samples, n_features)
        Training data, needed to evaluate the kernel at prediction time.
    cholesky_ : ndarray of shape (n_samples, n_samples)
        Lower Cholesky factor of ``K + alpha_ I``.
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
    """

    _parameter_constraints: dict = {
        "gammas": ["array-like", None],
        "alphas": ["array-like"],
        "kernel": [StrOptions({"laplacian", "rbf"})],
    }

    def __init__(
        self, *, gammas=None, alphas=(1e-6, 1e-4, 1e-2, 1.0), kernel="laplacian"
    ):
        self.gammas = gammas
        self.alphas = alphas
        self.kernel = kernel

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
        if self.gammas is None:
            gammas = np.array([0.1, 1.0, 10.0]) / X.shape[1]
        else:
            gammas = kernel_candidates(self, self.gammas, "gammas")
        alphas = kernel_candidates(self, self.alphas, "alphas")
        # One distance matrix serves every width (L1 distances, on one
        # thread, cost far more than the kernels' exponentials).
        distances = self._distances(X)
        self.loo_rmse_ = np.array(
            [
                leave_one_out_rmse(np.exp(-gamma * distances), y, alphas)
                for gamma in gammas
            ]
        )
        best_gamma, best_alpha = np.unravel_index(
            np.argmin(self.loo_rmse_), self.loo_rmse_.shape
        )
        self.gamma_, self.alpha_ = float(gammas[best_gamma]), float(alphas[best_alpha])
        self._fit_gaussian_process(np.exp(-self.gamma_ * distances), X, y)
        return self


def fit_gaussian_process(K, y, alpha):
    """Kernel ridge on a precomputed kernel, and what its std needs.

    Parameters
    ----------
    K : ndarray of shape (n_samples, n_samples)
        Training kernel; overwritten.
    y : ndarray of shape (n_samples,)
        Targets.
    alpha : float
        Added to the diagonal of ``K``.

    Returns
    -------
    kernel_ridge : KernelRidge
        Fitted on ``K`` with ``kernel="precomputed"``.
    cholesky : ndarray of shape (n_samples, n_samples)
        Lower Cholesky factor of ``K + alpha I``.
    std_scale : float
        The prior standard deviation ``s`` that gives the leave-one-out
        errors of the training set unit mean square when divided by their
        predicted standard deviations.
    loo_predictions : ndarray of shape (n_samples,)
        Each sample's prediction by the model fitted without it.
    loo_std : ndarray of shape (n_samples,)
        Their standard deviations, times ``std_scale``.
    """
    kernel_ridge = KernelRidge(alpha=alpha, kernel="precomputed").fit(K, y)
    K.flat[:: len(K) + 1] += alpha
    try:
        cholesky = linalg.cholesky(K, lower=True, overwrite_a=True)
    except linalg.LinAlgError as error:
        raise ValueError(
            f"The kernel matrix plus alpha={alpha:g} is not numerically "
            "positive definite (duplicate samples?); increase alpha."
        ) from error
    # Leave-one-out: error_i = c_i / [A^-1]_ii and variance_i = 1 / [A^-1]_ii
    # (unit scale), with c = A^-1 y and A = K + alpha I.
    inverse_factor = linalg.solve_triangular(cholesky, np.eye(len(K)), lower=True)
    inverse_diagonal = np.einsum("ij,ij->j", inverse_factor, inverse_factor)
    loo_errors = kernel_ridge.dual_coef_ / inverse_diagonal
    std_scale = float(np.sqrt(np.mean(loo_errors**2 * inverse_diagonal)))
    loo_std = std_scale / np.sqrt(inverse_diagonal)
    return kernel_ridge, cholesky, std_scale, y - loo_errors, loo_std


def gaussian_process_std(cholesky, K, prior_variance, alpha, std_scale):
    """Predictive standard deviation of a new observation.

    ``std_scale * sqrt(k(x, x) + alpha - k(x)^T (K + alpha I)^-1 k(x))``, with
    ``K`` the kernel between the queries and the training samples (one row
    per query) and ``prior_variance`` the queries' ``k(x, x)``.
    """
    v = linalg.solve_triangular(cholesky, K.T, lower=True)
    variance = prior_variance + alpha - np.einsum("ij,ij->j", v, v)
    return std_scale * np.sqrt(np.clip(variance, alpha, None))


def leave_one_out_errors(K, y, alphas):
    """Closed-form leave-one-out errors of kernel ridge, one row per alpha.

    With ``A = K + alpha I`` and ``c = A^-1 y``, the error on sample ``i``
    when it is left out is ``c_i / [A^-1]_ii`` (Rasmussen and Williams, 2006,
    eq. 5.12); one eigendecomposition of ``K`` serves every alpha.
    """
    eigenvalues, vectors = linalg.eigh(K)
    projected = vectors.T @ y
    squared_vectors = vectors**2
    errors = []
    for alpha in alphas:
        inverse = 1.0 / (np.maximum(eigenvalues, 0.0) + alpha)
        dual = vectors @ (inverse * projected)
        errors.append(dual / (squared_vectors @ inverse))
    return np.array(errors)


def leave_one_out_rmse(K, y, alphas):
    """Closed-form leave-one-out RMSE of kernel ridge, for each alpha."""
    return np.sqrt(np.mean(leave_one_out_errors(K, y, alphas) ** 2, axis=1))


def kernel_candidates(estimator, value, name):
    """The candidates of ``gammas`` or ``alphas``, as positive floats."""
    values = np.atleast_1d(np.asarray(value, dtype=float)).ravel()
    if values.size == 0 or not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(
            f"{type(estimator).__name__}: {name} must be positive numbers, "
            f"got {value!r}."
        )
    return values
