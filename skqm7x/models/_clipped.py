"""A regressor whose predictions stay within the range of its training targets."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.linear_model import LinearRegression
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted

from skqm7x.models._delegation import checked_target, fitted_inner_attribute


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

        ``X`` goes to the regressor as it is: the regressor validates it, so
        whatever input it accepts (missing values, sparse matrices, data
        frames) this meta-estimator accepts too.

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
        y = checked_target(self, y)
        self.regressor_ = clone(self._regressor()).fit(X, y, **fit_params)
        self.target_range_ = np.array([np.min(y), np.max(y)], dtype=float)
        return self

    def predict(self, X, **predict_params):
        """Predict with the regressor, clipped to ``target_range_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        **predict_params : dict
            Passed to ``regressor.predict``. With ``return_std=True`` (for a
            regressor that takes it), the mean is clipped and the standard
            deviation returned as the regressor gives it.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predictions within ``target_range_``.
        y_std : ndarray of shape (n_samples,)
            The regressor's standard deviations, only with ``return_std=True``.
        """
        check_is_fitted(self)
        prediction = self.regressor_.predict(X, **predict_params)
        if isinstance(prediction, tuple):  # the mean, then std or covariance
            mean, *spread = prediction
            return (np.clip(mean, *self.target_range_), *spread)
        return np.clip(prediction, *self.target_range_)

    @property
    def n_features_in_(self):
        """Number of features seen by the regressor in :meth:`fit`."""
        return fitted_inner_attribute(self, "n_features_in_", lambda: self.regressor_)

    @property
    def feature_names_in_(self):
        """Names of the features seen by the regressor in :meth:`fit`."""
        return fitted_inner_attribute(
            self, "feature_names_in_", lambda: self.regressor_
        )

    def _regressor(self):
        return LinearRegression() if self.regressor is None else self.regressor

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Input is passed through as is: the regressor decides.
        regressor_tags = get_tags(self._regressor())
        tags.input_tags.sparse = regressor_tags.input_tags.sparse
        tags.input_tags.allow_nan = regressor_tags.input_tags.allow_nan
        return tags
