"""The Coulomb matrix (Rupp et al., 2012) and its permutation-invariant sortings."""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from skqm7x._molecules import check_molecules

# Bounds the (batch, n_atoms, n_atoms, 3) temporaries to a few tens of MB.
_BATCH_SIZE = 2048


def coulomb_matrices(Z, R):
    """Full Coulomb matrices of a batch, zero on padding rows and columns.

    C_ii = 0.5 Z_i^2.4 and C_ij = Z_i Z_j / |R_i - R_j|.
    """
    present = Z > 0
    distances = np.linalg.norm(R[:, :, None, :] - R[:, None, :, :], axis=-1)
    off_diagonal = present[:, :, None] & present[:, None, :]
    np.einsum("nii->ni", off_diagonal)[...] = False
    products = Z[:, :, None] * Z[:, None, :]
    C = np.divide(products, distances, out=np.zeros_like(distances), where=off_diagonal)
    np.einsum("nii->ni", C)[...] = 0.5 * Z**2.4
    return C


def sort_by_row_norm(C):
    """Permute rows and columns so that row norms decrease.

    Padding rows (norm 0) go last. Ties are broken by the sorted row entries so
    the result does not depend on the input atom order.
    """
    norms = np.linalg.norm(C, axis=2)
    # Round before sorting: a permuted input sums each row in another order,
    # which changes the norm in its last bits and could swap near-ties.
    keys = np.round(norms, decimals=8)
    tie_break = np.round(np.sort(C, axis=2), decimals=8)
    order = np.empty(norms.shape, dtype=int)
    for i in range(len(C)):
        order[i] = np.lexsort((*tie_break[i].T[::-1], -keys[i]))
    return permute(C, order)


def permute(C, order):
    """Apply one permutation per molecule to the rows and columns of ``C``."""
    rows = np.take_along_axis(C, order[:, :, None], axis=1)
    return np.take_along_axis(rows, order[:, None, :], axis=2)


class CoulombMatrixTransformer(TransformerMixin, BaseEstimator):
    """Sorted, zero-padded Coulomb matrices of molecules.

    The Coulomb matrix of a molecule with nuclear charges ``Z`` and positions
    ``R`` (Angstrom) is ``C_ii = 0.5 * Z_i**2.4`` and
    ``C_ij = Z_i * Z_j / |R_i - R_j|``. It is invariant to translation and
    rotation; sorting its rows and columns makes it invariant to the order of
    the atoms too.

    Parameters
    ----------
    n_atoms_max : int, default=None
        Size of the padded matrix. ``None`` takes the number of atom slots of
        the ``X`` seen in :meth:`fit` (``n_features_in_ / 4``), so that every
        molecule that fits the encoding fits the matrix; a smaller value
        trims the padding and refuses larger molecules.
    sorting : {"row_norm", "none", "eigenspectrum"}, default="row_norm"
        ``"row_norm"`` sorts rows and columns by decreasing row norm
        (Montavon et al., 2012); ``"none"`` keeps the atom order of the input;
        ``"eigenspectrum"`` returns the eigenvalues sorted by decreasing
        absolute value instead of the matrix (Rupp et al., 2012).
    upper_triangle : bool, default=False
        Return only the upper triangle, diagonal included, since the matrix is
        symmetric. Ignored with ``sorting="eigenspectrum"``.

    Attributes
    ----------
    n_atoms_max_ : int
        Size of the padded matrix.
    n_features_in_ : int
        Number of columns of the packed molecules seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen in :meth:`fit`, when ``X`` has string column
        names.

    See Also
    --------
    RandomCoulombExpander : Random Coulomb matrices and their binarized input.
    pack_molecules : Build ``X`` from atomic numbers and positions.

    References
    ----------
    .. [1] M. Rupp, A. Tkatchenko, K.-R. Müller and O. A. von Lilienfeld,
       "Fast and accurate modeling of molecular atomization energies with
       machine learning", Phys. Rev. Lett. 108, 058301 (2012).
    .. [2] G. Montavon et al., "Learning invariant representations of molecules
       for atomization energy prediction", NIPS 2012.

    Examples
    --------
    >>> from skqm7x import CoulombMatrixTransformer, pack_molecules
    >>> water = (["O", "H", "H"], [[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]])
    >>> X = pack_molecules([water])
    >>> C = CoulombMatrixTransformer().fit_transform(X)
    >>> C.reshape(3, 3).round(2)
    array([[73.52,  8.31,  8.31],
           [ 8.31,  0.5 ,  0.66],
           [ 8.31,  0.66,  0.5 ]])
    """

    _parameter_constraints: dict = {
        "n_atoms_max": [Interval(Integral, 1, None, closed="left"), None],
        "sorting": [StrOptions({"row_norm", "none", "eigenspectrum"})],
        "upper_triangle": ["boolean"],
    }

    def __init__(self, *, n_atoms_max=None, sorting="row_norm", upper_triangle=False):
        self.n_atoms_max = n_atoms_max
        self.sorting = sorting
        self.upper_triangle = upper_triangle

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the size of the padded matrix.

        Parameters
        ----------
        X : array-like of shape (n_molecules, 4 * n_slots)
            Packed molecules (see :func:`pack_molecules`).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        Z, _ = check_molecules(X, type(self).__name__)
        largest = int(np.max(np.count_nonzero(Z > 0, axis=1)))
        # The atom slots of X, not the largest training molecule: a CV fold
        # may hold a larger molecule than its training folds.
        n_slots = X.shape[1] // 4
        self.n_atoms_max_ = n_slots if self.n_atoms_max is None else self.n_atoms_max
        if largest > self.n_atoms_max_:
            raise ValueError(
                f"A training molecule has {largest} atoms, more than "
                f"n_atoms_max={self.n_atoms_max}."
            )
        return self

    def transform(self, X):
        """Compute the Coulomb matrix of each molecule.

        Parameters
        ----------
        X : array-like of shape (n_molecules, 4 * n_slots)
            Packed molecules.

        Returns
        -------
        X_new : ndarray of shape (n_molecules, n_features_out)
            The flattened matrices (``n_atoms_max_**2`` columns, or
            ``n_atoms_max_ * (n_atoms_max_ + 1) / 2`` for the upper triangle),
            or the ``n_atoms_max_`` eigenvalues.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        Z, R = check_molecules(X, type(self).__name__)
        n_atoms = np.count_nonzero(Z > 0, axis=1)
        too_big = np.flatnonzero(n_atoms > self.n_atoms_max_)
        if too_big.size:
            raise ValueError(
                f"Molecule {too_big[0]} has {n_atoms[too_big[0]]} atoms, more than "
                f"n_atoms_max_={self.n_atoms_max_} learned in fit."
            )
        Z, R = _compact(Z, R, self.n_atoms_max_)
        batches = [
            self._transform_batch(Z[s : s + _BATCH_SIZE], R[s : s + _BATCH_SIZE])
            for s in range(0, len(Z), _BATCH_SIZE)
        ]
        return np.concatenate(batches).astype(X.dtype, copy=False)

    def _transform_batch(self, Z, R):
        C = coulomb_matrices(Z, R)
        if self.sorting == "eigenspectrum":
            eigenvalues = np.linalg.eigvalsh(C)
            order = np.argsort(-np.abs(eigenvalues), axis=1, kind="stable")
            return np.take_along_axis(eigenvalues, order, axis=1)
        if self.sorting == "row_norm":
            C = sort_by_row_norm(C)
        if self.upper_triangle:
            rows, cols = np.triu_indices(self.n_atoms_max_)
            return C[:, rows, cols]
        return C.reshape(len(C), -1)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Only checked against the names seen in :meth:`fit`.

        Returns
        -------
        feature_names_out : ndarray of str
            ``coulomb_i_j`` for matrix entries, ``eigenvalue_k`` for the
            eigenspectrum.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        size = self.n_atoms_max_
        if self.sorting == "eigenspectrum":
            return np.array([f"eigenvalue_{k}" for k in range(size)], dtype=object)
        if self.upper_triangle:
            rows, cols = np.triu_indices(size)
        else:
            rows, cols = np.indices((size, size)).reshape(2, -1)
        return np.array(
            [f"coulomb_{i}_{j}" for i, j in zip(rows, cols, strict=True)], dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Nuclear charges are non-negative; the common checks then feed
        # positive data, which reads as fractional charges.
        tags.input_tags.positive_only = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _compact(Z, R, size):
    """Move atoms before padding, then trim or pad to ``size`` slots."""
    order = np.argsort(Z <= 0, axis=1, kind="stable")
    Z = np.take_along_axis(Z, order, axis=1)
    R = np.take_along_axis(R, order[:, :, None], axis=1)
    slots = Z.shape[1]
    if slots >= size:
        return Z[:, :size], R[:, :size]
    return (
        np.pad(Z, ((0, 0), (0, size - slots))),
        np.pad(R, ((0, 0), (0, size - slots), (0, 0))),
    )
