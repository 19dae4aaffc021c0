"""A regressor whose predictions stay within the range of its training targets."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.linear_model import LinearRegression
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted, validate_data


class ClippedRegressor(RegressorMixin, BaseEstimator):
    """Any regressor, its predictions clipped to the range of its training targets.

    A model that extrapolates, such as a linear one, can predict far outside
    anything it was trained on for an input unlike every training input. When
    the target is known to stay within a bounded range (the error of a
    physical baseline, say), clipping to the training range caps that damage:
    the prediction is at most the largest target seen. Inside a pipeline that
    ``GridSearchCV`` tunes, every candidate is scored on its clipped
    predictions, so the search picks the hyper-parameters that are best with
    the clipping.

    Parameters
    ----------
    regressor : estimator, default=None
        The regressor to clip. ``None`` means ``LinearRegression()``.

    Attributes
    ----------
    regressor_ : estimator
        The fitted regressor.
    target_range_ : ndarray of shape (2,)
        Smallest and largest training target: the bounds of the predictions.
    n_features_in_ : int
        Number of features seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen in :meth:`fit`, when ``X`` has string column
        names.

    See Also
    --------
    sklearn.compose.TransformedTargetRegressor : A fixed transform of the target.
    sklearn.isotonic.IsotonicRegression : Clips its input with
        ``out_of_bounds="clip"``.

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x import ClippedRegressor
    >>> X, y = np.arange(5.0)[:, None], np.arange(5.0)
    >>> ClippedRegressor().fit(X, y).predict([[-3.0], [2.5], [10.0]])
    array([0. , 2.5, 4. ])
    """

    _parameter_constraints: dict = {
        "regressor": [HasMethods(["fit", "predict"]), None],
    }

    def __init__(self, regressor=None):
        self.regressor = regressor

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Fit the regressor and remember the range of ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Targets.
        **fit_params : dict
            Passed to ``regressor.fit``.

        Returns
        -------
        self : object
            The fitted regressor.
        """
        X, y = validate_data(self, X, y, accept_sparse=True, y_numeric=True)
        self.regressor_ = clone(self._regressor()).fit(X, y, **fit_params)
        self.target_range_ = np.array([y.min(), y.max()], dtype=float)
        return self

    def predict(self, X):
        """Predict with the regressor, clipped to ``target_range_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predictions within ``target_range_``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=True, reset=False)
        return np.clip(self.regressor_.predict(X), *self.target_range_)

    def _regressor(self):
        return LinearRegression() if self.regressor is None else self.regressor

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Sparse input is passed through as is: the regressor decides.
        tags.input_tags.sparse = get_tags(self._regressor()).input_tags.sparse
        return tags
