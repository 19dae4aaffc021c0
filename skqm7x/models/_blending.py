"""A weighted mean of regressors, weighed on their held-out predictions."""

# SPDX-License-Identifier: BSD-3-Clause

import inspect

import numpy as np
from scipy import optimize
from sklearn.base import RegressorMixin, _fit_context, clone
from sklearn.model_selection import check_cv, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
)

from skqm7x.models._delegation import checked_target, fitted_inner_attribute


class BlendingRegressor(RegressorMixin, _BaseComposition):
    """Weighted mean of regressors, weights chosen on their held-out predictions.

    Every regressor is fitted on all the training samples. Its held-out
    predictions of those samples then choose the weights: non-negative,
    summing to one, of the lowest RMSE of the weighted mean. A kernel model
    that knows its leave-one-out predictions in closed form (a
    ``loo_predictions_`` attribute, of the regressor or of a pipeline's last
    step, as :class:`GaussianProcessKernelRidge`,
    :class:`GaussianProcessKernelRidgeCV` and :class:`LocalKernelRidge`
    have) gives them at no extra cost; any other regressor is fitted again
    on each fold of ``cv``, as in :class:`~sklearn.ensemble.StackingRegressor`.
    (A pipeline's transformers are fitted on all the samples, so its last
    step's leave-one-out predictions are held out from that step only.)

    Two models whose errors differ blend into one better than either; the
    weights of models that add nothing go to zero.

    ``predict(X, return_std=True)`` also returns a standard deviation when
    every regressor with a positive weight has one (``loo_std_``): the
    weighted mean of their standard deviations, times a factor that gives
    the blend's held-out errors unit mean square when divided by it, the
    calibration of :class:`GaussianProcessKernelRidge`.

    Parameters
    ----------
    estimators : list of (str, estimator)
        The regressors, named; the names serve :meth:`set_params` (as in
        :class:`~sklearn.ensemble.VotingRegressor`) and
        ``named_estimators_``.
    cv : int, cross-validation generator or iterable, default=5
        The folds of the regressors that have no closed-form leave-one-out
        predictions, as in :func:`~sklearn.model_selection.cross_val_predict`
        (an int is ``KFold(cv)``, unshuffled).

    Attributes
    ----------
    estimators_ : list of estimator
        The fitted regressors, in the order of ``estimators``.
    named_estimators_ : Bunch
        The fitted regressors by name.
    weights_ : ndarray of shape (n_estimators,)
        The weight of each regressor: non-negative, summing to one.
    held_out_rmse_ : ndarray of shape (n_estimators,)
        The RMSE of each regressor's held-out predictions.
    blend_held_out_rmse_ : float
        The RMSE of their weighted mean. The weights were chosen on the same
        predictions, so it is a little optimistic.
    std_scale_ : float or None
        The factor of the weighted standard deviations; None when a regressor
        with a positive weight has no ``loo_std_``.
    n_features_in_ : int
        Number of features seen during :meth:`fit`, by the first regressor.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit` by the first regressor,
        when ``X`` has string column names.

    See Also
    --------
    sklearn.ensemble.VotingRegressor : Fixed weights.
    sklearn.ensemble.StackingRegressor : Any final regressor on
        cross-validated predictions.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skqm7x import BlendingRegressor, GaussianProcessKernelRidgeCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-3, 3, size=(100, 1))
    >>> y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=100)
    >>> blend = BlendingRegressor(
    ...     [("line", Ridge()), ("kernel", GaussianProcessKernelRidgeCV(kernel="rbf"))]
    ... ).fit(X, y)
    >>> blend.weights_.round(2)
    array([0., 1.])
    >>> mean, std = blend.predict([[0.0]], return_std=True)
    """

    _parameter_constraints: dict = {
        "estimators": [list],
        "cv": ["cv_object"],
    }

    def __init__(self, estimators, *, cv=5):
        self.estimators = estimators
        self.cv = cv

    def get_params(self, deep=True):
        """Get the parameters, with those of each regressor when ``deep``.

        Parameters
        ----------
        deep : bool, default=True
            Also return each regressor's parameters, as ``name__param``.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params):
        """Set the parameters, those of a regressor as ``name__param``.

        Parameters
        ----------
        **params : dict
            Parameters, or a whole regressor by its name.

        Returns
        -------
        self : object
            This estimator.
        """
        self._set_params("estimators", **params)
        return self

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit every regressor, then choose the weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training samples, passed to each regressor as they are.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the choice of the weights, and in
            ``held_out_rmse_``, ``blend_held_out_rmse_`` and ``std_scale_``.
            Without metadata routing they also go to the ``fit`` of every
            regressor (on all the samples and on each fold), which must take
            them, as in :class:`~sklearn.ensemble.VotingRegressor`; with it,
            to the regressors that request them.
        **fit_params : dict
            Metadata for the regressors' ``fit``, only with metadata routing
            enabled: each regressor gets those it requests.

        Returns
        -------
        self : object
            The fitted regressor.
        """
        names = self._check_estimators()
        y = checked_target(self, y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, y, ensure_non_negative=True
            )
        if _routing_enabled():
            routed_params = process_routing(
                self, "fit", sample_weight=sample_weight, **fit_params
            )
        else:
            _raise_for_params(fit_params, self, "fit")
            routed_params = Bunch(**{name: Bunch(fit={}) for name in names})
            if sample_weight is not None:
                self._check_take_sample_weight()
                for name in names:
                    routed_params[name]["fit"]["sample_weight"] = sample_weight
        cv = check_cv(self.cv)
        held_out, held_out_std = [], []
        self.estimators_ = []
        for name, estimator in self.estimators:
            params = routed_params[name]["fit"]
            fitted = clone(estimator).fit(X, y, **params)
            step = _last_step(fitted)
            predictions = getattr(step, "loo_predictions_", None)
            if predictions is None:
                predictions = cross_val_predict(
                    clone(estimator), X, y, cv=cv, params=params
                )
            self.estimators_.append(fitted)
            held_out.append(predictions)
            held_out_std.append(getattr(step, "loo_std_", None))
        self.named_estimators_ = Bunch(
            **dict(zip(names, self.estimators_, strict=True))
        )
        held_out = np.column_stack(held_out)
        self.held_out_rmse_ = np.sqrt(
            np.average((held_out - y[:, None]) ** 2, axis=0, weights=sample_weight)
        )
        self.weights_ = _simplex_least_squares(held_out, y, sample_weight)
        errors = held_out @ self.weights_ - y
        self.blend_held_out_rmse_ = float(
            np.sqrt(np.average(errors**2, weights=sample_weight))
        )
        self._without_std = [
            name
            for name, weight, std in zip(
                names, self.weights_, held_out_std, strict=True
            )
            if weight > 0 and std is None
        ]
        self.std_scale_ = None
        if not self._without_std:
            spread = sum(
                weight * std
                for weight, std in zip(self.weights_, held_out_std, strict=True)
                if weight > 0
            )
            self.std_scale_ = float(
                np.sqrt(np.average((errors / spread) ** 2, weights=sample_weight))
            )
        return self

    def _check_take_sample_weight(self):
        """Refuse, before any fit, a regressor whose fit takes no sample_weight."""
        for name, estimator in self.estimators:
            parameters = inspect.signature(estimator.fit).parameters
            if "sample_weight" not in parameters and not any(
                parameter.kind is inspect.Parameter.VAR_KEYWORD
                for parameter in parameters.values()
            ):
                raise TypeError(
                    f"BlendingRegressor: without metadata routing, sample_weight "
                    f"goes to every regressor's fit, and that of {name!r} "
                    f"({type(estimator).__name__}) does not take it. Enable "
                    "metadata routing (sklearn.set_config("
                    "enable_metadata_routing=True)) and request sample_weight "
                    "from the regressors that take it (set_fit_request)."
                )

    def _check_estimators(self):
        """The regressors' names, checked: a non-empty list of unique names."""
        if not self.estimators or not all(
            isinstance(pair, tuple) and len(pair) == 2 for pair in self.estimators
        ):
            raise ValueError(
                "BlendingRegressor: estimators must be a non-empty list of "
                f"(name, regressor) pairs, got {self.estimators!r}."
            )
        names = [name for name, _ in self.estimators]
        self._validate_names(names)
        for name, estimator in self.estimators:
            if not hasattr(estimator, "fit") or not hasattr(estimator, "predict"):
                raise ValueError(
                    f"BlendingRegressor: estimator {name!r} is no regressor "
                    f"(it has no fit or predict): {estimator!r}."
                )
        return names

    def predict(self, X, return_std=False, **predict_params):
        """The weighted mean of the regressors' predictions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, passed to each regressor as they are.
        return_std : bool, default=False
            Also return the calibrated standard deviation.
        **predict_params : dict
            Passed to the ``predict`` of every regressor with a positive
            weight; with metadata routing enabled, each gets those it
            requests.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted mean.
        y_std : ndarray of shape (n_samples,)
            Standard deviation, only when ``return_std`` is True.
        """
        check_is_fitted(self)
        if return_std and self.std_scale_ is None:
            raise ValueError(
                "BlendingRegressor: return_std=True needs a standard deviation "
                "of every regressor with a positive weight (a loo_std_, of the "
                "regressor or of a pipeline's last step); "
                f"{', '.join(map(repr, self._without_std))} has none."
            )
        names = list(self.named_estimators_)
        if _routing_enabled():
            routed_params = process_routing(self, "predict", **predict_params)
        else:
            routed_params = Bunch(
                **{name: Bunch(predict=predict_params) for name in names}
            )
        # Sums start from 0.0, not from an array of len(X), so that X need not
        # have a length (a sparse matrix has none): the regressors read it.
        mean = spread = 0.0
        for name, fitted, weight in zip(
            names, self.estimators_, self.weights_, strict=True
        ):
            if weight == 0:  # a regressor that adds nothing costs nothing
                continue
            params = routed_params[name]["predict"]
            if return_std:
                prediction, std = fitted.predict(X, return_std=True, **params)
                spread = spread + weight * std
            else:
                prediction = fitted.predict(X, **params)
            mean = mean + weight * prediction
        if not return_std:
            return mean
        return mean, self.std_scale_ * spread

    @property
    def n_features_in_(self):
        """Number of features seen by the first regressor in :meth:`fit`."""
        return fitted_inner_attribute(
            self, "n_features_in_", lambda: self.estimators_[0]
        )

    @property
    def feature_names_in_(self):
        """Names of the features seen by the first regressor in :meth:`fit`."""
        return fitted_inner_attribute(
            self, "feature_names_in_", lambda: self.estimators_[0]
        )

    def get_metadata_routing(self):
        """Get the metadata routing of this object.

        The blend requests its own ``sample_weight`` (``set_fit_request``)
        and routes ``fit`` and ``predict`` metadata to every regressor. See
        scikit-learn's metadata routing user guide.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter`
            encapsulating the routing information.
        """
        router = MetadataRouter(owner=type(self).__name__).add_self_request(self)
        for name, estimator in self.estimators:
            router.add(
                **{name: estimator},
                method_mapping=MethodMapping()
                .add(caller="fit", callee="fit")
                .add(caller="predict", callee="predict"),
            )
        return router


def _simplex_least_squares(P, y, sample_weight=None):
    """The weights ``w >= 0``, ``sum(w) = 1``, of the least ``|P w - y|``.

    With ``sample_weight``, of the least weighted sum of squares.
    """
    if sample_weight is not None:
        # Weighted least squares is plain least squares of the rows scaled
        # by the square roots of the weights.
        root = np.sqrt(sample_weight)
        P, y = P * root[:, None], y * root
    n = P.shape[1]
    if n == 1:
        return np.ones(1)
    # In units of the best column's squared error, so that the optimizer's
    # tolerance means the same whatever the unit of y.
    scale = len(y) * (np.min(np.sum((P - y[:, None]) ** 2, axis=0)) or 1.0)

    def loss(w):
        residual = P @ w - y
        return residual @ residual / scale, 2 * P.T @ residual / scale

    result = optimize.minimize(
        loss,
        np.full(n, 1.0 / n),
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * n,
        constraints={"type": "eq", "fun": lambda w: w.sum() - 1.0},
        options={"ftol": 1e-12},
    )
    weights = np.clip(result.x, 0.0, None)
    # SLSQP leaves ~1e-10 where a bound is active: such a weight is zero.
    weights[weights < 1e-8] = 0.0
    return weights / weights.sum()


def _last_step(estimator):
    """A pipeline's last step, or the estimator itself."""
    return estimator[-1] if isinstance(estimator, Pipeline) else estimator
