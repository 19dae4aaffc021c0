"""What a meta-estimator reads from the estimator it wraps."""

# SPDX-License-Identifier: BSD-3-Clause

from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d


def fitted_inner_attribute(meta, name, inner):
    """``getattr(inner(), name)`` once ``meta`` is fitted, else AttributeError.

    For properties such as ``n_features_in_`` that a meta-estimator takes
    from the estimator it fitted: before ``fit`` they raise AttributeError,
    so that ``hasattr`` is False, as scikit-learn's meta-estimators do.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from skqm7x import ClippedRegressor
    >>> from skqm7x.models._delegation import fitted_inner_attribute
    >>> model = ClippedRegressor(Ridge())
    >>> hasattr(model, "n_features_in_")
    False
    >>> fitted_inner_attribute(model.fit([[0.0], [1.0]], [0.0, 1.0]),
    ...                        "n_features_in_", lambda: model.regressor_)
    1
    """
    try:
        check_is_fitted(meta)
    except NotFittedError as error:
        raise AttributeError(
            f"{type(meta).__name__} object has no {name} attribute."
        ) from error
    return getattr(inner(), name)


def checked_target(meta, y):
    """``y`` of a meta-estimator's ``fit``, checked; ``X`` is the regressors' to check.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from skqm7x import ClippedRegressor
    >>> from skqm7x.models._delegation import checked_target
    >>> checked_target(ClippedRegressor(Ridge()), [1, 2, 3])
    array([1, 2, 3])
    """
    if y is None:
        raise ValueError(
            f"{type(meta).__name__} requires y to be passed, but the target y is None."
        )
    return column_or_1d(
        check_array(y, input_name="y", ensure_2d=False, dtype="numeric"), warn=True
    )
