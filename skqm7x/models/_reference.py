"""Atomic reference energies: the part of the energy that counts atoms."""

# SPDX-License-Identifier: BSD-3-Clause

import inspect

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from skqm7x._molecules import ELEMENT_SYMBOLS, check_known_elements, check_molecules
from skqm7x._utils._cache import sharing_results


class AtomicReferenceRegressor(RegressorMixin, BaseEstimator):
    """Per-element reference energies plus any model of the remainder.

    Most of an atomization energy is a sum of per-element contributions. This
    meta-estimator fits one energy per element by least squares on the element
    counts of the training molecules, then fits ``regressor`` on what is left
    (the residual), so the model only has to learn the effect of geometry and
    bonding. ``predict`` adds the two back together.

    With a ``baseline`` (a cheaper physical model of the energy, such as
    :class:`TightBindingEnergyTransformer`), its energy is subtracted from the
    target first, so the element energies and ``regressor`` learn only the
    baseline's error: Delta-learning (Ramakrishnan et al., 2015). Within one
    ``fit`` or ``predict``, a tight-binding baseline and a ``regressor`` that
    reads the atoms' tight-binding quantities (such as
    :class:`LocalKernelRidge` with ``tight_binding_features``) share one
    calculation per molecule, with or without a ``memory`` folder.

    Parameters of ``fit`` and ``predict`` go to ``regressor``, as in
    :class:`~sklearn.compose.TransformedTargetRegressor`; with metadata
    routing enabled (``sklearn.set_config(enable_metadata_routing=True)``),
    to ``regressor`` and ``baseline`` as they request them.

    Parameters
    ----------
    regressor : estimator, default=None
        Any regressor (or pipeline) taking packed molecules. ``None`` predicts
        the reference energies alone.
    baseline : transformer, default=None
        A model of the energy computed from the molecules alone, in the
        target's unit: ``fit_transform(X)`` must return one column. ``None``
        means no baseline.
    handle_unknown : {"error", "ignore"}, default="error"
        What :meth:`predict` does with an element no training molecule had:
        raise, or give it a reference energy of 0 and leave it to
        ``regressor``. Rare elements (Cl is in 3 of the 3792 labelled
        challenge molecules) can miss a cross-validation fold.

    Attributes
    ----------
    elements_ : ndarray of shape (n_elements,)
        Nuclear charges seen in the training molecules.
    element_energies_ : ndarray of shape (n_elements,)
        Fitted energy of each element, in the target's unit.
    regressor_ : estimator or None
        The fitted model of the residual.
    baseline_ : transformer or None
        The fitted baseline.
    n_features_in_ : int
        Number of columns of the packed molecules.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen in :meth:`fit`, when ``X`` has string column
        names.

    See Also
    --------
    sklearn.compose.TransformedTargetRegressor : A fixed transform of the target.

    Examples
    --------
    >>> from skqm7x import AtomicReferenceRegressor, pack_molecules
    >>> molecules = [(["H", "H"], [[0, 0, 0], [0.74, 0, 0]]),
    ...              (["O", "H", "H"], [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]]),
    ...              (["O", "O"], [[0, 0, 0], [1.21, 0, 0]])]
    >>> X = pack_molecules(molecules)
    >>> reference = AtomicReferenceRegressor().fit(X, [-4.5, -7.25, -5.5])
    >>> reference.element_symbols(), reference.element_energies_.round(2).tolist()
    (['H', 'O'], [-2.25, -2.75])
    """

    _parameter_constraints: dict = {
        "regressor": [HasMethods(["fit", "predict"]), None],
        "baseline": [HasMethods(["fit", "transform"]), None],
        "handle_unknown": [StrOptions({"error", "ignore"})],
    }

    def __init__(self, regressor=None, *, baseline=None, handle_unknown="error"):
        self.regressor = regressor
        self.baseline = baseline
        self.handle_unknown = handle_unknown

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the baseline, the element energies, then the residual.

        Parameters
        ----------
        X : array-like of shape (n_molecules, 4 * n_atoms_max)
            Packed molecules (see :func:`pack_molecules`).
        y : array-like of shape (n_molecules,)
            Energies.
        sample_weight : array-like of shape (n_molecules,), default=None
            Weights of the molecules in the least squares of the element
            energies. Without metadata routing they also go to
            ``regressor.fit`` (which must take them); with it, to
            ``regressor`` if it requests them.
        **fit_params : dict
            Passed to ``regressor.fit``; with metadata routing enabled, to
            ``regressor.fit`` and ``baseline.fit_transform`` as they request
            them.

        Returns
        -------
        self : object
            The fitted regressor.
        """
        X, y = validate_data(self, X, y, y_numeric=True)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, ensure_non_negative=True
            )
        routed_params = self._route("fit", fit_params, sample_weight=sample_weight)
        Z, _ = check_molecules(X, type(self).__name__)
        self.elements_ = np.unique(Z[Z > 0])
        # A tight-binding baseline and a regressor that reads the atoms'
        # tight-binding charges need the same calculations: run once.
        with sharing_results():
            self.baseline_ = None
            if self.baseline is not None:
                self.baseline_ = clone(self.baseline)
                energies = self.baseline_.fit_transform(X, **routed_params["baseline"])
                y = y - self._baseline_energies(energies, X)
            counts = self._counts(Z)
            if sample_weight is None:
                self.element_energies_ = np.linalg.lstsq(counts, y, rcond=None)[0]
            else:
                # Weighted least squares: rows scaled by the root weights.
                root = np.sqrt(sample_weight)
                self.element_energies_ = np.linalg.lstsq(
                    counts * root[:, None], y * root, rcond=None
                )[0]
            residual = y - counts @ self.element_energies_
            self.regressor_ = None
            if self.regressor is not None:
                self.regressor_ = clone(self.regressor).fit(
                    X, residual, **routed_params["regressor"]
                )
        return self

    def predict(self, X, return_std=False, **predict_params):
        """Reference energies plus the regressor's residual.

        Parameters
        ----------
        X : array-like of shape (n_molecules, 4 * n_atoms_max)
            Packed molecules.
        return_std : bool, default=False
            Also return the standard deviation of each prediction: the
            regressor's ``predict(X, return_std=True)``, since the reference
            energies are fixed. The regressor's ``predict`` must take
            ``return_std`` (a pipeline passes it to its last step); a
            ``GridSearchCV`` does not, a model that tunes itself (such as
            :class:`LocalKernelRidge`) or the searches of
            :func:`make_model` do.
        **predict_params : dict
            Passed to ``regressor.predict``; with metadata routing enabled,
            to ``regressor.predict`` and ``baseline.transform`` as they
            request them. When the regressor returns a tuple (such as the
            mean and covariance of ``return_cov=True``), the reference
            energies are added to its first entry.

        Returns
        -------
        y_pred : ndarray of shape (n_molecules,)
            Predicted energies.
        y_std : ndarray of shape (n_molecules,)
            Standard deviations, only when ``return_std`` is True.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        routed_params = self._route("predict", predict_params)
        Z, _ = check_molecules(X, type(self).__name__)
        check_known_elements(
            Z,
            self.elements_,
            self.handle_unknown,
            remedy="give it a reference energy of 0",
        )
        with sharing_results():
            return self._predict(X, Z, return_std, routed_params)

    def _predict(self, X, Z, return_std, routed_params):
        prediction = self._counts(Z) @ self.element_energies_
        if self.baseline_ is not None:
            prediction = prediction + self._baseline_energies(
                self.baseline_.transform(X, **routed_params["baseline"]), X
            )
        if self.regressor_ is None:
            if return_std:
                raise ValueError(
                    "return_std=True needs a regressor that predicts a standard "
                    "deviation; the reference energies alone have none."
                )
            return prediction
        params = routed_params["regressor"]
        if return_std:
            parameters = inspect.signature(self.regressor_.predict).parameters
            if "return_std" not in parameters and not any(
                parameter.kind is inspect.Parameter.VAR_KEYWORD
                for parameter in parameters.values()
            ):
                raise ValueError(
                    "return_std=True needs a regressor whose predict takes "
                    f"return_std; {type(self.regressor_).__name__}.predict does not."
                )
            params = {**params, "return_std": True}
        residual = self.regressor_.predict(X, **params)
        if isinstance(residual, tuple):  # the mean, then a std or a covariance
            mean, *spread = residual
            return (prediction + mean, *spread)
        return prediction + residual

    def _route(self, method, params, **own_params):
        """What ``method`` passes on: ``{"regressor": ..., "baseline": ...}``.

        ``own_params`` are those ``method`` uses itself (``sample_weight`` of
        ``fit``); they are passed on too.
        """
        if not _routing_enabled():
            # As TransformedTargetRegressor: everything to the regressor.
            if params and self.regressor is None:
                raise TypeError(
                    f"AtomicReferenceRegressor.{method} got {sorted(params)}, "
                    "but has no regressor to pass them to."
                )
            own = {key: value for key, value in own_params.items() if value is not None}
            return {"regressor": {**params, **own}, "baseline": {}}
        routed_params = process_routing(self, method, **params, **own_params)
        baseline_method = {"fit": "fit_transform", "predict": "transform"}[method]
        return {
            "regressor": routed_params.get("regressor", {}).get(method, {}),
            "baseline": routed_params.get("baseline", {}).get(baseline_method, {}),
        }

    def get_metadata_routing(self):
        """Get the metadata routing of this object.

        This regressor requests its own ``sample_weight``
        (``set_fit_request``), and routes ``fit`` and ``predict`` metadata to
        ``regressor`` (its ``fit`` and ``predict``) and ``baseline`` (its
        ``fit_transform`` and ``transform``). See scikit-learn's metadata
        routing user guide.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter`
            encapsulating the routing information.
        """
        router = MetadataRouter(owner=type(self).__name__).add_self_request(self)
        if self.regressor is not None:
            router.add(
                regressor=self.regressor,
                method_mapping=MethodMapping()
                .add(caller="fit", callee="fit")
                .add(caller="predict", callee="predict"),
            )
        if self.baseline is not None:
            router.add(
                baseline=self.baseline,
                method_mapping=MethodMapping()
                .add(caller="fit", callee="fit_transform")
                .add(caller="predict", callee="transform"),
            )
        return router

    def element_symbols(self):
        """Symbols of ``elements_`` (``"Z=x"`` for a non-integer charge).

        Returns
        -------
        symbols : list of str
            One symbol per fitted element.
        """
        check_is_fitted(self)
        return [
            ELEMENT_SYMBOLS[int(z) - 1]
            if z == int(z) and 1 <= z <= len(ELEMENT_SYMBOLS)
            else f"Z={z:g}"
            for z in self.elements_
        ]

    def _baseline_energies(self, energies, X):
        energies = np.asarray(energies)
        if energies.shape not in {(len(X), 1), (len(X),)}:
            raise ValueError(
                f"AtomicReferenceRegressor: the baseline must give one energy per "
                f"molecule, a column of shape ({len(X)}, 1); "
                f"{type(self.baseline_).__name__} gave shape {energies.shape}."
            )
        energies = energies.reshape(-1).astype(float)
        if not np.all(np.isfinite(energies)):
            molecule = np.flatnonzero(~np.isfinite(energies))[0]
            raise ValueError(
                f"AtomicReferenceRegressor: the baseline "
                f"{type(self.baseline_).__name__} gave a non-finite energy for "
                f"molecule {molecule}."
            )
        return energies

    def _counts(self, Z):
        return (Z[:, :, None] == self.elements_).sum(axis=1).astype(float)
