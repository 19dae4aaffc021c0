"""Bag of bonds (Hansen et al., 2015): Coulomb terms grouped by element pair."""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from skqm7x._molecules import (
    check_known_elements,
    check_molecules,
    element_symbol,
    fitted_elements,
)

# Bounds the (batch, n_atoms, n_atoms) temporaries to a few tens of MB.
_BATCH_SIZE = 1024


class BagOfBondsTransformer(TransformerMixin, BaseEstimator):
    """Bags of Coulomb interactions, one bag per pair of elements.

    For each pair of elements ``(a, b)`` the bag holds the terms
    ``Z_a * Z_b / |R_i - R_j|**exponent`` of every pair of atoms ``i < j`` of
    those elements, sorted in decreasing order and zero-padded to the size
    learned in :meth:`fit`; for each element ``a`` a bag holds the diagonal
    terms ``0.5 * Z_a**2.4``, one per atom (so it counts the atoms). The
    bags are concatenated. The result is invariant to translation, rotation
    and the order of the atoms, and, unlike the sorted Coulomb matrix, does not
    jump when two rows swap places in the sorting (Hansen et al., 2015).

    Parameters
    ----------
    exponent : float, default=1.0
        Power of the distance in the off-diagonal terms. 1 gives the Coulomb
        matrix entries of the original bag of bonds; larger values weigh near
        neighbours more.
    elements : array-like of float, default=None
        Nuclear charges that get bags. ``None`` learns them in :meth:`fit`
        from the training molecules.
    handle_unknown : {"error", "ignore"}, default="error"
        What :meth:`transform` does with an element that has no bag: raise,
        or leave its atoms out of the bags.

    Attributes
    ----------
    elements_ : ndarray of shape (n_elements,)
        Nuclear charges that have bags, in increasing order.
    bags_ : list of tuple of float
        The bags in output order: ``(a,)`` for the diagonal bag of element
        ``a``, ``(a, b)`` with ``a <= b`` for the pairs.
    bag_sizes_ : ndarray of int of shape (n_bags,)
        Number of columns of each bag: its largest count in a training
        molecule. A molecule with more terms in a bag keeps the largest
        (the closest pairs) and drops the rest.
    n_features_in_ : int
        Number of columns of the packed molecules seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen in :meth:`fit`, when ``X`` has string column
        names.

    See Also
    --------
    CoulombMatrixTransformer : The sorted Coulomb matrix.
    GaussianProcessKernelRidge : A kernel ridge regression for these features.

    References
    ----------
    .. [1] K. Hansen, F. Biegler, R. Ramakrishnan, W. Pronobis, O. A. von
       Lilienfeld, K.-R. Müller and A. Tkatchenko, "Machine learning
       predictions of molecular properties: accurate many-body potentials and
       nonlocality in chemical space", J. Phys. Chem. Lett. 6, 2326 (2015).

    Examples
    --------
    >>> from skqm7x import BagOfBondsTransformer, pack_molecules
    >>> water = (["O", "H", "H"], [[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]])
    >>> bob = BagOfBondsTransformer().fit(pack_molecules([water]))
    >>> bob.get_feature_names_out().tolist()
    ['H_0', 'H_1', 'O_0', 'HH_0', 'HO_0', 'HO_1']
    >>> bob.transform(pack_molecules([water])).round(2)
    array([[ 0.5 ,  0.5 , 73.52,  0.66,  8.31,  8.31]])
    """

    _parameter_constraints: dict = {
        "exponent": [Interval(Real, 0, None, closed="neither")],
        "elements": ["array-like", None],
        "handle_unknown": [StrOptions({"error", "ignore"})],
    }

    def __init__(self, *, exponent=1.0, elements=None, handle_unknown="error"):
        self.exponent = exponent
        self.elements = elements
        self.handle_unknown = handle_unknown

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the elements and the size of each bag.

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
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        Z, _ = check_molecules(X, type(self).__name__)
        self.elements_ = fitted_elements(Z, self.elements)
        elements = self.elements_.tolist()
        self.bags_ = [(a,) for a in elements] + [
            (a, b) for i, a in enumerate(elements) for b in elements[i:]
        ]
        counts = np.stack([(Z == a).sum(axis=1) for a in elements], axis=1)
        sizes = []
        for bag in self.bags_:
            if len(bag) == 1:
                n = counts[:, elements.index(bag[0])]
            elif bag[0] == bag[1]:
                n_a = counts[:, elements.index(bag[0])]
                n = n_a * (n_a - 1) // 2
            else:
                n = (
                    counts[:, elements.index(bag[0])]
                    * counts[:, elements.index(bag[1])]
                )
            sizes.append(int(n.max(initial=0)))
        self.bag_sizes_ = np.array(sizes, dtype=int)
        self._n_features_out = int(self.bag_sizes_.sum())
        return self

    def transform(self, X):
        """Compute the bags of each molecule.

        Parameters
        ----------
        X : array-like of shape (n_molecules, 4 * n_atoms_max)
            Packed molecules.

        Returns
        -------
        X_new : ndarray of shape (n_molecules, n_features_out)
            The concatenated bags, ``bag_sizes_.sum()`` columns.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        Z, R = check_molecules(X, type(self).__name__)
        check_known_elements(Z, self.elements_, self.handle_unknown)
        batches = [
            self._transform_batch(Z[s : s + _BATCH_SIZE], R[s : s + _BATCH_SIZE])
            for s in range(0, len(Z), _BATCH_SIZE)
        ]
        return np.concatenate(batches).astype(X.dtype, copy=False)

    def _transform_batch(self, Z, R):
        n_molecules, n_slots = Z.shape
        distances = np.linalg.norm(R[:, :, None, :] - R[:, None, :, :], axis=-1)
        upper = np.triu(np.ones((n_slots, n_slots), dtype=bool), k=1)
        out = np.zeros((n_molecules, self._n_features_out))
        start = 0
        for bag, size in zip(self.bags_, self.bag_sizes_, strict=True):
            if len(bag) == 1:
                # Every atom of the element has the same diagonal term.
                count = np.minimum((Z == bag[0]).sum(axis=1), size)
                columns = np.arange(size)
                out[:, start : start + size] = np.where(
                    columns < count[:, None], 0.5 * bag[0] ** 2.4, 0.0
                )
            elif size:
                a, b = bag
                is_a, is_b = Z == a, Z == b
                pairs = (is_a[:, :, None] & is_b[:, None, :]) | (
                    is_b[:, :, None] & is_a[:, None, :]
                )
                pairs &= upper
                terms = np.divide(
                    a * b,
                    distances**self.exponent,
                    out=np.zeros_like(distances),
                    where=pairs,
                ).reshape(n_molecules, -1)
                # Terms are positive: sorting the negated values puts the
                # largest first and the zeros of absent pairs last.
                out[:, start : start + size] = -np.sort(-terms, axis=1)[:, :size]
            start += size
        return out

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Only checked against the names seen in :meth:`fit`.

        Returns
        -------
        feature_names_out : ndarray of str
            ``<symbols>_<k>``: ``C_0`` for the first carbon diagonal term,
            ``HC_3`` for the fourth-largest hydrogen-carbon term
            (symbols in increasing charge).
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        names = []
        for bag, size in zip(self.bags_, self.bag_sizes_, strict=True):
            symbols = "".join(element_symbol(z) for z in bag)
            names.extend(f"{symbols}_{k}" for k in range(size))
        return np.array(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Nuclear charges are non-negative; the common checks then feed
        # positive data, which reads as fractional charges.
        tags.input_tags.positive_only = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
