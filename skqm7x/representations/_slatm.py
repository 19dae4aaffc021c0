"""SLATM: spectra of London and Axilrod-Teller-Muto potentials (qmllib)."""

# SPDX-License-Identifier: BSD-3-Clause

import os
from importlib.metadata import version
from numbers import Integral, Real
from pathlib import Path

import joblib
import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from skqm7x._molecules import (
    check_atomic_numbers,
    check_known_elements,
    check_molecules,
    fitted_elements,
)
from skqm7x._utils._cache import cache_location
from skqm7x._utils._docstrings import shared_parameters
from skqm7x.representations._per_molecule import per_molecule_rows


@shared_parameters
class SlatmTransformer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Spectrum of London and Axilrod-Teller-Muto potentials, one vector per molecule.

    SLATM (Huang and von Lilienfeld, 2020) describes a molecule by its element
    counts and, for every pair and triple of elements, a spectrum: the
    distances between atoms of the pair, each broadened into a Gaussian and
    weighted by a London-type ``1 / r**rpower`` potential, and the angles of
    the triple, weighted by the Axilrod-Teller-Muto three-body potential.
    Computed by `qmllib <https://github.com/qmlcode/qmllib>`_'s
    ``generate_slatm``; the features are invariant to translation, rotation
    and the order of the atoms.

    The pairs and triples (the many-body types) are learned in :meth:`fit`
    from the training molecules (qmllib's ``get_slatm_mbtypes``): a type that
    no training molecule can hold is left out at :meth:`transform` too.

    Parameters
    ----------
    distance_width : float, default=0.05
        Standard deviation (Angstrom) of the Gaussian around each distance.
    distance_spacing : float, default=0.03
        Spacing (Angstrom) of the grid the distance spectra are sampled on.
    angle_width : float, default=0.05
        Standard deviation (radians) of the Gaussian around each angle.
    angle_spacing : float, default=0.03
        Spacing (radians) of the grid the angle spectra are sampled on.
    rcut : float, default=4.8
        Cutoff radius (Angstrom) of the spectra.
    rpower : int, default=6
        Power of the London potential, ``1 / r**rpower``.
    elements : array-like of int, default=None
        Nuclear charges to represent. ``None`` learns them in :meth:`fit` from
        the training molecules.
    handle_unknown : {"error", "ignore"}, default="error"
        What :meth:`transform` does with an element that is not in
        ``elements_``: raise, or leave its atoms out.
    n_jobs : int, default=None
        {n_jobs}
        The jobs compute molecules in processes.
    memory : None, str, path or joblib.Memory, default=None
        {memory}
        Kept here: the vectors, one file per molecule, keyed by the settings,
        the learned elements and many-body types, the qmllib version and the
        molecule itself, whatever the other molecules: a second run of a
        workflow, or a prediction on molecules seen before, computes nothing.
    verbose : int, default=0
        {verbose}
        The bar counts the molecules.

    Attributes
    ----------
    elements_ : ndarray of shape (n_elements,)
        Nuclear charges represented, in increasing order.
    mbtypes_ : list of list of int
        The many-body types, in output order: elements, pairs, triples, each
        group sorted.
    n_features_in_ : int
        Number of columns of the packed molecules seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen in :meth:`fit`, when ``X`` has string column
        names.

    See Also
    --------
    ManyBodyTensorTransformer : Smoothed distance and angle distributions.
    GaussianProcessKernelRidgeCV : A kernel ridge regression for these
        features: the Laplacian kernel, as SLATM's authors use, or the
        Gaussian, whose distances are one matrix product (as in the
        ready-made ``"xtb-blend-krr"``).

    References
    ----------
    .. [1] B. Huang and O. A. von Lilienfeld, "Quantum machine learning using
       atom-in-molecule-based fragments selected on the fly", Nat. Chem. 12,
       945-951 (2020).

    Examples
    --------
    >>> from skqm7x import SlatmTransformer, pack_molecules
    >>> water = (["O", "H", "H"], [[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]])
    >>> X = pack_molecules([water])
    >>> slatm = SlatmTransformer().fit(X)
    >>> slatm.mbtypes_[:4]
    [[1], [8], [1, 1], [1, 8]]
    >>> slatm.transform(X).shape
    (1, 729)
    """

    _parameter_constraints: dict = {
        "distance_width": [Interval(Real, 0, None, closed="neither")],
        "distance_spacing": [Interval(Real, 0, None, closed="neither")],
        "angle_width": [Interval(Real, 0, None, closed="neither")],
        "angle_spacing": [Interval(Real, 0, None, closed="neither")],
        "rcut": [Interval(Real, 0, None, closed="neither")],
        "rpower": [Interval(Real, 0, None, closed="neither")],
        "elements": ["array-like", None],
        "handle_unknown": [StrOptions({"error", "ignore"})],
        "n_jobs": [None, Integral],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        distance_width=0.05,
        distance_spacing=0.03,
        angle_width=0.05,
        angle_spacing=0.03,
        rcut=4.8,
        rpower=6,
        elements=None,
        handle_unknown="error",
        n_jobs=None,
        memory=None,
        verbose=0,
    ):
        self.distance_width = distance_width
        self.distance_spacing = distance_spacing
        self.angle_width = angle_width
        self.angle_spacing = angle_spacing
        self.rcut = rcut
        self.rpower = rpower
        self.elements = elements
        self.handle_unknown = handle_unknown
        self.n_jobs = n_jobs
        self.memory = memory
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the elements and the many-body types.

        Parameters
        ----------
        X : array-like of shape (n_molecules, 4 * n_atoms_max)
            Packed molecules (see :func:`pack_molecules`).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        from qmllib.representations import get_slatm_mbtypes

        X = validate_data(self, X, dtype=np.float64)
        Z, R = check_molecules(X, type(self).__name__)
        check_atomic_numbers(Z, type(self).__name__, "SLATM")
        self.elements_ = fitted_elements(Z, self.elements)
        kept = [z[np.isin(z, self.elements_)].astype(int) for z in Z]
        # A type read backwards is the same type: written from its smaller
        # end and sorted, the columns do not depend on qmllib's set order.
        self.mbtypes_ = sorted(
            (
                min(list(map(int, mbtype)), list(map(int, mbtype[::-1])))
                for mbtype in get_slatm_mbtypes([z for z in kept if len(z)])
            ),
            key=lambda mbtype: (len(mbtype), mbtype),
        )
        first = _slatm_rows(Z[:1], R[:1], None, *self._settings())
        self._n_features_out = first.shape[1]
        return self

    def transform(self, X):
        """The SLATM vector of each molecule.

        Parameters
        ----------
        X : array-like of shape (n_molecules, 4 * n_atoms_max)
            Packed molecules.

        Returns
        -------
        X_new : ndarray of shape (n_molecules, n_features_out)
            The element counts, then the spectra of the pairs and triples of
            ``mbtypes_``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        Z, R = check_molecules(X, type(self).__name__)
        check_atomic_numbers(Z, type(self).__name__, "SLATM")
        check_known_elements(Z, self.elements_, self.handle_unknown)
        return per_molecule_rows(
            _slatm_rows,
            Z,
            R,
            self._settings(),
            directory=self._cache_directory(),
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            desc="SLATM",
        )

    def _cache_directory(self):
        """Where this transformer's vectors live, or None."""
        location = cache_location(self.memory)
        if location is None:
            return None
        # qmllib's version goes in: another one may compute otherwise.
        key = joblib.hash((self._settings(), version("qmllib")))
        return Path(location) / "skqm7x-slatm" / key

    def _settings(self):
        return (
            self.elements_,
            self.mbtypes_,
            [float(self.distance_width), float(self.angle_width)],
            [float(self.distance_spacing), float(self.angle_spacing)],
            self.rcut,
            self.rpower,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Nuclear charges are non-negative; the common checks then feed
        # positive data, which reads as fractional charges.
        tags.input_tags.positive_only = True
        return tags


def _slatm_rows(Z, R, indices, elements, mbtypes, sigmas, dgrids, rcut, rpower):
    """The SLATM vectors of the molecules ``Z``, ``R``, one per row.

    ``indices`` (the molecules' places, for error messages) go unused: the
    molecules were checked before.
    """
    from qmllib.representations import generate_slatm

    rows = []
    # qmllib's OpenMP loops are too short to gain from threads, and their
    # sums change in the last bit with the threads' order: one thread is
    # faster here, and gives the same vector on every call.
    with threadpool_limits(limits=1, user_api="openmp"):
        for z, r in zip(Z, R, strict=True):
            kept = np.isin(z, elements)
            rows.append(
                generate_slatm(
                    z[kept].astype(int),
                    r[kept],
                    mbtypes,
                    sigmas=sigmas,
                    dgrids=dgrids,
                    rcut=rcut,
                    rpower=rpower,
                )
            )
    return np.asarray(rows, dtype=np.float64).reshape(len(Z), -1)
