"""Kernel ridge regression on atomic environments (FCHL19 and a local kernel)."""

# SPDX-License-Identifier: BSD-3-Clause

import os
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skqm7x._molecules import (
    check_atomic_numbers,
    check_known_elements,
    check_molecules,
    fitted_elements,
    unpack_molecules,
)
from skqm7x._utils._cache import as_memory
from skqm7x._utils._docstrings import shared_parameters
from skqm7x._utils._memory import check_fits_in_memory
from skqm7x.models._kernel_ridge import (
    check_some_candidate_fits,
    gaussian_process_std,
    kernel_candidates,
    kernel_ridge_path,
    leave_one_out_rmse,
    solve_kernel_ridge,
    store_solution,
)
from skqm7x.models._local_kernels import (
    COLUMNS_ONLY,
    query_kernels,
    training_atoms,
    training_kernels,
)
from skqm7x.representations import (
    check_fchl19_parameters,
    tight_binding_atoms,
    xtbml_feature_names,
)

# Fewer training atoms of an element than this give too rough a spread to
# scale its tight-binding quantities by.
_MIN_ATOMS_TO_SCALE = 10


def representation_parameters(estimator):
    """The estimator's ``representation_params``, checked."""
    try:
        return check_fchl19_parameters(estimator.representation_params)
    except ValueError as error:
        raise ValueError(
            f"{type(estimator).__name__}: representation_params: {error}"
        ) from None


def xtbml_column_weights(estimator):
    """The weight of each xtbml column: ``representation_params``, else 1."""
    weights = dict(estimator.representation_params or {})
    name = type(estimator).__name__
    columns = xtbml_feature_names().tolist()
    unknown = sorted(set(weights) - set(columns))
    if unknown:
        raise ValueError(
            f"{name}(representation='xtbml'): representation_params maps xtbml "
            f"columns to weights; {unknown} are not columns (see "
            "skqm7x.xtbml_feature_names())."
        )
    for column, weight in weights.items():
        if not (
            isinstance(weight, Real)
            and not isinstance(weight, bool)
            and np.isfinite(weight)
            and weight >= 0
        ):
            raise ValueError(
                f"{name}(representation='xtbml'): the weight of {column!r} in "
                f"representation_params must be a number >= 0, got {weight!r}."
            )
    return np.array([float(weights.get(column, 1.0)) for column in columns])


def tight_binding_weights(estimator):
    """The estimator's ``tight_binding_features`` as sorted ``(name, weight)`` pairs."""
    features = estimator.tight_binding_features or {}
    name = type(estimator).__name__
    known = ("charges", "valences", "energies")
    unknown = sorted(set(features) - set(known))
    if unknown:
        raise ValueError(
            f"{name}: tight_binding_features has unknown quantities {unknown}; "
            f"choose from {list(known)}."
        )
    for quantity, weight in features.items():
        if not (
            isinstance(weight, Real)
            and not isinstance(weight, bool)
            and np.isfinite(weight)
            and weight > 0
        ):
            raise ValueError(
                f"{name}: the weight of {quantity!r} in tight_binding_features "
                f"must be a positive number, got {weight!r}."
            )
    return tuple((quantity, float(features[quantity])) for quantity in sorted(features))


def unit_spread_scales(quantities, Z, elements):
    """Factors that give each quantity unit spread within each element's atoms.

    One over the standard deviation of the quantity over the element's
    atoms; 0 where it does not vary (above 1e-12 of its largest size), so
    that a quantity constant within an element counts nothing for it.
    """
    scales = np.zeros((len(elements), quantities.shape[-1]))
    for row, element in enumerate(elements):
        of_element = quantities[Z == element]
        spread = of_element.std(axis=0)
        size = np.abs(of_element).max(axis=0, initial=0.0)
        varies = spread > 1e-12 * np.maximum(size, 1.0)
        scales[row, varies] = 1.0 / spread[varies]
    return scales


def per_element_scales(quantities, Z, elements):
    """Factors that give every element's atoms the same spread in each quantity.

    The scaling of ``LocalKernelRidge(tight_binding_scaling="per_element")``,
    for atomic quantities appended to any atomic representation. An
    element's factor for a quantity is the median of the elements' standard
    deviations divided by its own: an element whose atoms vary more
    (sulphur's charges, about six times carbon's) is shrunk, one that varies
    less is stretched, the typical one keeps its scale. An element with fewer
    than 10 atoms, or whose quantity does not vary, keeps factor 1.

    Parameters
    ----------
    quantities : ndarray of shape (..., k)
        The ``k`` quantities of each atom (or atom slot).
    Z : ndarray of shape (...)
        The nuclear charge of each atom (slot) of ``quantities``; slots whose
        charge is not in ``elements`` (padding) are ignored.
    elements : ndarray of shape (n_elements,)
        The elements to scale.

    Returns
    -------
    scales : ndarray of shape (n_elements, k)
        Each element's factor for each quantity.

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x import per_element_scales
    >>> rng = np.random.default_rng(0)
    >>> Z = np.repeat([1, 6, 16], 50)
    >>> charges = rng.normal(size=150) * np.repeat([0.1, 0.2, 0.8], 50)
    >>> elements = np.array([1, 6, 16])
    >>> scales = per_element_scales(charges[:, None], Z, elements)
    >>> scaled = charges * scales[np.searchsorted(elements, Z), 0]
    >>> np.round([scaled[Z == z].std() for z in elements], 2)
    array([0.2, 0.2, 0.2])
    """
    spreads = np.zeros((len(elements), quantities.shape[-1]))
    counted = np.zeros(len(elements), dtype=bool)
    for i, element in enumerate(elements):
        atoms = quantities[Z == element]
        counted[i] = len(atoms) >= _MIN_ATOMS_TO_SCALE
        if counted[i]:
            spreads[i] = atoms.std(axis=0)
    scales = np.ones_like(spreads)
    for j, column in enumerate(spreads.T):
        # Rounding noise, not a spread, below a millionth of the largest one.
        varied = counted & (column > 1e-6 * column.max(initial=0.0))
        if varied.any():
            scales[varied, j] = np.median(column[varied]) / column[varied]
    return scales


def training_elements(estimator, Z):
    """The elements a local kernel model represents, learned from ``Z``."""
    name = type(estimator).__name__
    check_atomic_numbers(Z, name, "FCHL19")
    elements = fitted_elements(Z, estimator.elements)
    if np.any(elements != np.round(elements)):
        raise ValueError(
            f"{name}: elements must be atomic numbers, got {elements.tolist()}."
        )
    missing = (Z > 0) & ~np.isin(Z, elements)
    if missing.any():
        molecule, slot = np.argwhere(missing)[0]
        raise ValueError(
            f"{name}: training molecule {molecule} has an element "
            f"(Z={Z[molecule, slot]:g}) that is not in elements="
            f"{elements.tolist()}."
        )
    return elements


def check_query_molecules(estimator, X):
    """Validate molecules to predict against what a local kernel model learned."""
    X = validate_data(estimator, X, reset=False, dtype=np.float64)
    Z, _ = check_molecules(X, type(estimator).__name__)
    check_atomic_numbers(Z, type(estimator).__name__, "FCHL19")
    check_known_elements(Z, estimator.elements_, estimator.handle_unknown)
    return X


@shared_parameters
class LocalKernelRidge(RegressorMixin, BaseEstimator):
    """Kernel ridge regression on the atomic environments of the molecules.

    Each atom is described by its FCHL19 environment vector (two- and
    three-body distributions of its neighbours within a cutoff; Christensen
    et al., 2020, computed by `qmllib <https://github.com/qmlcode/qmllib>`_).
    The kernel between two molecules sums a Gaussian kernel over every pair
    of atoms of the same element, one from each molecule::

        k(A, B) = sum_{I in A} sum_{J in B, Z_J = Z_I} exp(-gamma |x_I - x_J|^2)

    so the energy it models is a sum of atomic contributions, each a smooth
    function of the atom's surroundings. The vectors are invariant to
    translation and rotation, and the double sum to permutation of the atoms.

    The mean is scikit-learn's :class:`~sklearn.kernel_ridge.KernelRidge` on
    this precomputed kernel; ``predict(X, return_std=True)`` also returns the
    calibrated Gaussian-process standard deviation, as
    :class:`GaussianProcessKernelRidge` does.

    :meth:`fit` chooses ``gamma`` and ``alpha`` among the candidates
    ``gammas`` and ``alphas``: the pair with the lowest leave-one-out RMSE on
    the training molecules, in closed form (as
    :class:`~sklearn.linear_model.RidgeCV` does), from one pass over the atom
    pairs for all widths and one Cholesky factor per candidate, the chosen
    one's being the fitted model. A single
    candidate each also works in
    :class:`~sklearn.model_selection.GridSearchCV`, at the cost of a kernel
    per candidate and fold.

    Parameters
    ----------
    gammas : float or array-like of float, default=(0.125, 0.03125, 0.0078125)
        Candidates for the coefficient of the Gaussian kernel between atomic
        environments, as ``gamma`` of :class:`GaussianProcessKernelRidge`:
        ``1 / (2 sigma^2)`` for a width ``sigma`` (the defaults: widths 2, 4
        and 8).
    alphas : float or array-like of float, default=(1e-8, 1e-6, 1e-4)
        Candidates for the regularization added to the diagonal of the
        kernel matrix, in the kernel's unit, as in every kernel model of the
        library (here a sum over pairs of atoms: a molecule's diagonal entry
        is about its number of atoms squared).
    representation : {"fchl19", "xtbml"}, default="fchl19"
        What an atom is to the kernel. ``"fchl19"``: its FCHL19 vector, a
        function of the positions of its neighbours (Christensen et al.,
        2020). ``"xtbml"``: the 39 columns of tblite's xtbml post-processing
        of the atom's GFN2-xTB calculation (its partitioned energies, shell
        populations and multipoles, frontier-orbital quantities, and their
        averages over its neighbours; see
        :func:`~skqm7x.representations.tight_binding_atoms`), each divided by
        its standard deviation over the training atoms of the same element
        (a column constant within an element counts nothing): what the
        electrons of each atom are like, in place of where its neighbours
        sit. Its kernel errs where FCHL19's does not, and a blend of the two
        beats either (:doc:`/performance`).
    representation_params : dict, default=None
        With ``representation="fchl19"``: keyword arguments of qmllib's
        ``generate_fchl19`` (``rcut``, ``acut``, ``nRs2``, ``nRs3``,
        ``eta2``, ``eta3``, ``zeta``, ``nFourier``, ``two_body_decay``,
        ``three_body_decay``, ``three_body_weight``); ``None`` keeps its
        defaults, which its authors fitted to molecular energies. With
        ``representation="xtbml"``: xtbml columns (names of
        :func:`~skqm7x.representations.xtbml_feature_names`) mapped to the
        weight, 0 or more, that the column is multiplied by after its
        scaling, which sets how far apart two atoms that differ in it are
        for the kernel; a column not named keeps weight 1, and ``None``
        weighs all alike.
    tight_binding_features : dict, default=None
        What a GFN2-xTB calculation knows about each atom's electrons,
        appended to its FCHL19 vector: any of ``"charges"`` (partial charges
        in e), ``"valences"`` (sums of Wiberg bond orders) and
        ``"energies"`` (atom-resolved energies in hartree), each mapped to
        the positive weight its column is multiplied by, which sets how far
        apart two atoms that differ in it are for the kernel. Computed by
        :func:`~skqm7x.representations.tight_binding_atoms` (with
        :class:`~skqm7x.representations.TightBindingEnergyTransformer`'s
        defaults), once per molecule and with ``memory``, from the same
        single point as that transformer's energy. ``None`` appends nothing.
        Only with ``representation="fchl19"``: the xtbml columns hold them.
    tight_binding_scaling : {None, "per_element"}, default=None
        How the ``tight_binding_features`` are scaled before their weights.
        ``None`` keeps them as computed. ``"per_element"`` brings every
        element's atoms to the same spread: each quantity of an element's
        atoms is multiplied by the median, over the elements with at least
        10 training atoms, of its standard deviation on those atoms, divided
        by that element's own.
        Sulphur's charges vary about six times as much as carbon's; scaled,
        a weight then separates atoms of every element alike. Elements with
        fewer than 10 training atoms, or whose quantity does not vary, keep
        factor 1. Only with ``tight_binding_features``.
    molecule_features : transformer, default=None
        A transformer of packed molecules into one vector per molecule (such
        as :class:`~skqm7x.ManyBodyTensorTransformer`), cloned and fitted in
        :meth:`fit`. Its Gaussian kernel is added to the local kernel, scaled
        to the local kernel's mean diagonal on the training molecules and
        times a weight: two molecules alike as wholes are then alike to the
        model, whatever their atoms' environments say. ``None`` adds nothing.
    molecule_gamma : float or "scale", default="scale"
        Coefficient of that Gaussian kernel; ``"scale"`` is ``1 /
        (n_features * variance)`` of the training vectors (1 if they are all
        alike), as in :class:`~sklearn.svm.SVR`.
    molecule_weights : float or array-like of float, default=(0.1, 1.0)
        Candidates for the weight of the molecules' kernel, relative to the
        local kernel, chosen with ``gammas`` and ``alphas`` by leave-one-out
        (one Cholesky factor per width, weight and penalty). Only with
        ``molecule_features``.
    elements : array-like of int, default=None
        Nuclear charges to represent. ``None`` learns them in :meth:`fit`
        from the training molecules.
    handle_unknown : {"error", "ignore"}, default="error"
        What :meth:`predict` does with an element not in ``elements_``:
        raise, or leave its atoms out (of the molecule and of its
        neighbours' environments; the tight-binding calculation still sees
        the whole molecule).
    n_jobs : int, default=None
        {n_jobs}
        The jobs compute blocks of atoms' kernels in threads (each on one
        BLAS thread, with buffers of a few MB) and molecules' tight-binding
        quantities in processes.
    memory : None, str, path or joblib.Memory, default=None
        {memory}
        Kept here: the training atoms, the kernels between molecules and
        their leave-one-out errors, keyed by the molecules and the
        parameters, so that a second run of a workflow skips the costly
        part; the fitted ``molecule_features`` and the training molecules'
        vectors; and the tight-binding quantities, one file per molecule. A
        kernel between ``n`` and ``m`` molecules with ``k`` widths takes
        ``8 k n m`` bytes (460 MB for the 3792 labelled challenge molecules
        with four widths).
    verbose : int, default=0
        {verbose}
        The bar counts the atoms while kernels are computed.

    Attributes
    ----------
    elements_ : ndarray of shape (n_elements,)
        Nuclear charges represented, in increasing order.
    gamma_ : float
        The kernel coefficient used.
    alpha_ : float
        The regularization used.
    loo_rmse_ : ndarray of shape (n_gammas, n_alphas)
        Leave-one-out RMSE of each candidate pair, in the target's unit;
        with ``molecule_features``, of shape ``(n_gammas,
        n_molecule_weights, n_alphas)``.
    dual_coef_ : ndarray of shape (n_samples,)
        ``(K + alpha_ I)^-1 y`` for the training kernel ``K`` chosen: the
        mean prediction is the query's kernel row times it, as in
        :class:`~sklearn.kernel_ridge.KernelRidge`.
    inverse_cholesky_ : ndarray of shape (n_samples, n_samples)
        ``L^-1``, the inverse of the lower Cholesky factor ``L`` of ``K +
        alpha_ I``: what the standard deviation needs.
    std_scale_ : float
        The calibrated prior standard deviation.
    loo_predictions_ : ndarray of shape (n_samples,)
        Each training molecule's prediction by the model fitted without it
        (with the width, penalty and weight chosen), in closed form: what
        :class:`BlendingRegressor` weighs models by.
    loo_std_ : ndarray of shape (n_samples,)
        The calibrated standard deviation of each of those predictions.
    X_fit_ : ndarray of shape (n_samples, n_features)
        The training molecules.
    training_atoms_ : object
        The training molecules' atoms of each element, written as the local
        kernel needs them (their FCHL19 vectors in the basis of the
        directions they span, with their squared norms): :meth:`predict`
        pairs the queries' atoms with them.
    molecule_features_ : transformer or None
        The fitted clone of ``molecule_features``, or None without it (and
        then none of the four attributes below).
    molecule_gamma_ : float
        The coefficient of the molecules' Gaussian kernel.
    molecule_weight_ : float
        The weight chosen for the molecules' kernel.
    molecule_scale_ : float
        The mean diagonal of the local kernel chosen, on the training
        molecules: the molecules' kernel is multiplied by it and the weight.
    molecule_vectors_fit_ : ndarray of shape (n_samples, n_molecule_features)
        The training molecules' vectors.
    tight_binding_scales_ : ndarray of shape (n_elements, n_quantities) or None
        The factor of each quantity of ``tight_binding_features``, or of
        each xtbml column with ``representation="xtbml"`` (columns in
        alphabetical order) for the atoms of each element of ``elements_``,
        applied before the weights: all 1 unless ``tight_binding_scaling``
        is ``"per_element"``; None without ``tight_binding_features``.
    tight_binding_fit_ : ndarray of shape (n_samples, n_atoms_max, n_quantities) or None
        The scaled and weighted ``tight_binding_features`` of the training
        atoms (their xtbml columns with ``representation="xtbml"``), one
        column per quantity in alphabetical order, kept so that
        :meth:`predict` does not compute them again; None without them.
    n_features_in_ : int
        Number of columns of the packed molecules.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen in :meth:`fit`, when ``X`` has string column
        names.

    See Also
    --------
    GaussianProcessKernelRidge : Kernel ridge on one vector per molecule.
    AtomicReferenceRegressor : Per-element reference energies; wrap this
        model in it to learn the remainder.

    References
    ----------
    .. [1] A. S. Christensen, L. A. Bratholm, F. A. Faber and O. A. von
       Lilienfeld, "FCHL revisited: Faster and more accurate quantum
       machine learning", J. Chem. Phys. 152, 044107 (2020).
    .. [2] A. P. Bartók, R. Kondor and G. Csányi, "On representing chemical
       environments", Phys. Rev. B 87, 184115 (2013).

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x import LocalKernelRidge, pack_molecules
    >>> rng = np.random.default_rng(0)
    >>> water = np.array([[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    >>> molecules = [(["O", "H", "H"], water * s) for s in rng.uniform(0.9, 1.1, 30)]
    >>> X = pack_molecules(molecules)
    >>> y = np.array([np.linalg.norm(R[1] - R[0]) for _, R in molecules])
    >>> model = LocalKernelRidge(gammas=[0.5, 0.005], alphas=1e-6).fit(X[:25], y[:25])
    >>> model.gamma_, model.loo_rmse_.shape
    (0.5, (2, 1))
    >>> mean, std = model.predict(X[25:], return_std=True)
    >>> bool(np.max(np.abs(mean - y[25:])) < 0.01)
    True
    """

    _parameter_constraints: dict = {
        "gammas": [Interval(Real, 0, None, closed="neither"), "array-like"],
        "alphas": [Interval(Real, 0, None, closed="neither"), "array-like"],
        "representation_params": [dict, None],
        "representation": [StrOptions({"fchl19", "xtbml"})],
        "tight_binding_features": [dict, None],
        "tight_binding_scaling": [StrOptions({"per_element"}), None],
        "molecule_features": [HasMethods(["fit", "transform"]), None],
        "molecule_gamma": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"scale"}),
        ],
        "molecule_weights": [Interval(Real, 0, None, closed="neither"), "array-like"],
        "elements": ["array-like", None],
        "handle_unknown": [StrOptions({"error", "ignore"})],
        "n_jobs": [Integral, None],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        gammas=(0.125, 0.03125, 0.0078125),
        alphas=(1e-8, 1e-6, 1e-4),
        representation="fchl19",
        representation_params=None,
        tight_binding_features=None,
        tight_binding_scaling=None,
        molecule_features=None,
        molecule_gamma="scale",
        molecule_weights=(0.1, 1.0),
        elements=None,
        handle_unknown="error",
        n_jobs=None,
        memory=None,
        verbose=0,
    ):
        self.gammas = gammas
        self.alphas = alphas
        self.representation = representation
        self.representation_params = representation_params
        self.tight_binding_features = tight_binding_features
        self.tight_binding_scaling = tight_binding_scaling
        self.molecule_features = molecule_features
        self.molecule_gamma = molecule_gamma
        self.molecule_weights = molecule_weights
        self.elements = elements
        self.handle_unknown = handle_unknown
        self.n_jobs = n_jobs
        self.memory = memory
        self.verbose = verbose

    def _parameters(self):
        if self.representation == "xtbml":
            name = type(self).__name__
            if self.tight_binding_features is not None:
                raise ValueError(
                    f"{name}(representation='xtbml') takes no "
                    "tight_binding_features: its atoms are their xtbml columns "
                    "alone; leave tight_binding_features=None."
                )
            xtbml_column_weights(self)
            if self.tight_binding_scaling is not None:
                raise ValueError(
                    f"{name}(representation='xtbml') scales each xtbml column "
                    "by its spread within each element; leave "
                    "tight_binding_scaling=None."
                )
            return COLUMNS_ONLY
        return representation_parameters(self)

    def _tight_binding_names(self):
        """The quantities of the atoms' columns, and their weights."""
        if self.representation == "xtbml":
            return ["xtbml"], xtbml_column_weights(self)
        weights = tight_binding_weights(self)
        return [name for name, _ in weights], np.array([w for _, w in weights])

    def _tight_binding_quantities(self, X):
        """The atoms' tight-binding columns of ``X`` as computed, or None."""
        names, _ = self._tight_binding_names()
        if not names:
            return None
        return tight_binding_atoms(
            X, names, memory=self.memory, n_jobs=self.n_jobs, verbose=self.verbose
        )

    def _fit_tight_binding(self, X, Z):
        """Learn ``tight_binding_scales_``; the training atoms' columns, or None."""
        quantities = self._tight_binding_quantities(X)
        if self.representation == "xtbml":
            self.tight_binding_scales_ = unit_spread_scales(
                quantities, Z, self.elements_
            )
            return self._tight_binding_columns(quantities, Z)
        if quantities is None:
            if self.tight_binding_scaling is not None:
                raise ValueError(
                    f"{type(self).__name__}: tight_binding_scaling="
                    f"{self.tight_binding_scaling!r} scales tight_binding_features; "
                    "give them, or leave tight_binding_scaling=None."
                )
            self.tight_binding_scales_ = None
            return None
        if self.tight_binding_scaling == "per_element":
            self.tight_binding_scales_ = per_element_scales(
                quantities, Z, self.elements_
            )
        else:
            self.tight_binding_scales_ = np.ones(
                (len(self.elements_), quantities.shape[-1])
            )
        return self._tight_binding_columns(quantities, Z)

    def _tight_binding_columns(self, quantities, Z):
        """``quantities`` scaled for each atom's element, then weighted."""
        if quantities is None:
            return None
        factors = np.ones_like(quantities)
        for element, scales in zip(
            self.elements_, self.tight_binding_scales_, strict=True
        ):
            factors[Z == element] = scales
        _, weights = self._tight_binding_names()
        return quantities * factors * weights

    def _training_kernels(self, X, gammas):
        """The training molecules' atoms and kernels, through the cache."""
        memory = as_memory(self.memory)
        shared = (X, self.elements_, self._parameters(), self.tight_binding_fit_)
        atoms = memory.cache(training_atoms)(*shared)
        kernels = memory.cache(training_kernels, ignore=["atoms", "n_jobs", "verbose"])(
            *shared,
            tuple(float(gamma) for gamma in gammas),
            atoms=atoms,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
        )
        return atoms, kernels

    def _query_kernels(self, X, columns):
        """The queries' kernel with the training molecules, and their own."""
        compute = as_memory(self.memory).cache(
            query_kernels, ignore=["training", "n_jobs", "verbose"]
        )
        return compute(
            X,
            self.X_fit_,
            self.elements_,
            self._parameters(),
            columns,
            self.tight_binding_fit_,
            self.gamma_,
            training=self.training_atoms_,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Choose the width, penalty and weights, then fit the mean and its std.

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
        self._parameters()
        Z, R = check_molecules(X, type(self).__name__)
        self.elements_ = training_elements(self, Z)
        self.tight_binding_fit_ = self._fit_tight_binding(X, Z)
        molecule_kernel, weights = self._fit_molecule_features(X, y)
        n = len(X)
        # The kernels, then two solutions (the candidate's factor, the best
        # one's), and the molecules' kernel and a sum with molecule_features.
        check_fits_in_memory(
            8 * n * n * (gammas.size + 2 + 2 * (molecule_kernel is not None)),
            f"LocalKernelRidge.fit on {n} molecules ({gammas.size} kernels of "
            f"{n} x {n})",
            "SparseLocalKernelRidge (make_model('sparse-fchl-krr')) grows "
            "linearly with the molecules; fewer gammas also help",
        )
        self.training_atoms_, kernels = self._training_kernels(X, gammas)
        # The molecules' kernel is 1 on its diagonal: scaled to the local
        # kernel's mean diagonal, its weight is a share of the prior variance.
        scales = [float(np.mean(np.diag(K))) for K in kernels]

        summed = None if molecule_kernel is None else np.empty_like(molecule_kernel)

        def total(k, weight):
            if molecule_kernel is None:
                return kernels[k]
            np.multiply(molecule_kernel, weight * scales[k], out=summed)
            np.add(summed, kernels[k], out=summed)
            return summed

        rmse = np.empty((gammas.size, weights.size, alphas.size))
        memory = as_memory(self.memory)
        best = None
        for k, w in np.ndindex(rmse.shape[:2]):
            K = total(k, weights[w])
            if memory.location is None:
                rmse[k, w], solution = kernel_ridge_path(K, y, alphas)
                if solution is not None and (
                    best is None or solution.loo_rmse < best[-1].loo_rmse
                ):
                    best = (k, w, solution)
            else:
                # The errors only: a solution is as large as the kernel.
                rmse[k, w] = memory.cache(leave_one_out_rmse)(K, y, alphas)
        check_some_candidate_fits(rmse, alphas)
        k, w, a = np.unravel_index(np.argmin(rmse), rmse.shape)
        if best is None:
            best = (k, w, solve_kernel_ridge(total(k, weights[w]), y, alphas[a]))
        kernels = None  # the chosen one's solution holds what predict needs
        k, w, solution = best
        self.loo_rmse_ = rmse[:, 0] if molecule_kernel is None else rmse
        self.gamma_ = float(gammas[k])
        if molecule_kernel is not None:
            self.molecule_weight_ = float(weights[w])
            self.molecule_scale_ = scales[k]
        store_solution(self, solution, y)
        self.X_fit_ = X
        return self

    def _fit_molecule_features(self, X, y):
        """Fit ``molecule_features``: its training kernel and weights, or None, [0]."""
        if self.molecule_features is None:
            self.molecule_features_ = None
            return None, np.zeros(1)
        weights = kernel_candidates(self, self.molecule_weights, "molecule_weights")
        fit_transform = as_memory(self.memory).cache(_fitted_with_output)
        self.molecule_features_, features = fit_transform(
            clone(self.molecule_features), X, y
        )
        features = self._checked_vectors(features)
        if self.molecule_gamma != "scale":
            self.molecule_gamma_ = float(self.molecule_gamma)
        else:  # as SVR's gamma="scale", 1 for vectors that are all alike
            variance = features.var()
            self.molecule_gamma_ = (
                1.0 / (features.shape[1] * variance) if variance > 0 else 1.0
            )
        self.molecule_vectors_fit_ = features
        return rbf_kernel(features, gamma=self.molecule_gamma_), weights

    def _molecule_vectors(self, X):
        """``molecule_features_`` of ``X``, checked to be finite."""
        return self._checked_vectors(self.molecule_features_.transform(X))

    def _checked_vectors(self, features):
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or not np.all(np.isfinite(features)):
            raise ValueError(
                f"{type(self).__name__}: molecule_features must give a finite "
                f"2D array, got shape {features.shape}"
                + ("" if features.ndim != 2 else " with NaN or infinity")
                + "."
            )
        return features

    def _molecule_kernel(self, X):
        """The weighted kernel of molecules between ``X`` and the training set."""
        if self.molecule_features_ is None:
            return 0.0
        return (self.molecule_weight_ * self.molecule_scale_) * rbf_kernel(
            self._molecule_vectors(X),
            self.molecule_vectors_fit_,
            gamma=self.molecule_gamma_,
        )

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
        Z, _ = unpack_molecules(X)
        columns = self._tight_binding_columns(self._tight_binding_quantities(X), Z)
        K, prior_variance = self._query_kernels(X, columns)
        K = K + self._molecule_kernel(X)
        mean = K @ self.dual_coef_
        if not return_std:
            return mean
        if self.molecule_features_ is not None:
            prior_variance = (
                prior_variance + self.molecule_weight_ * self.molecule_scale_
            )
        return mean, gaussian_process_std(self, K, prior_variance)


def _fitted_with_output(transformer, X, y):
    """``transformer`` fitted on ``X``, and its ``fit_transform`` (cacheable)."""
    return transformer, transformer.fit_transform(X, y)
