"""Many-body tensor: smoothed distance and angle distributions per element tuple."""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Real

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.metrics.pairwise import euclidean_distances
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

DEFAULT_DISTANCE_GRID = np.linspace(0.8, 6.0, 53)
DEFAULT_ANGLE_GRID = np.linspace(0.0, np.pi, 25)

# Molecules per batch for the pair terms: bounds the (batch, n_pairs, n_grid)
# temporaries to some tens of MB.
_BATCH_SIZE = 256
# Training molecules whose pairwise distances set the block scales.
_SCALE_SAMPLE = 1000
# Molecules per batch for the angle terms: a batch's angles (a few thousand
# per molecule) and their Gaussians stay within tens of MB.
_ANGLE_BATCH_SIZE = 64


def _scale_sample(n_molecules):
    """About ``_SCALE_SAMPLE`` evenly spaced molecules: theirs terms set the scales."""
    return slice(None, None, max(1, n_molecules // _SCALE_SAMPLE))


def _element_index(Z, elements):
    """Index of each atom's element in ``elements``; -1 for padding or unknown."""
    index = np.searchsorted(elements, Z)
    index = np.minimum(index, len(elements) - 1)
    return np.where((Z > 0) & (elements[index] == Z), index, -1)


class ManyBodyTensorTransformer(TransformerMixin, BaseEstimator):
    """Smoothed distance and angle distributions per combination of elements.

    A many-body tensor representation (Huo and Rupp, 2022) with two terms:

    - **pairs**: for each pair of elements ``(a, b)``, the distribution of the
      distances ``r`` between atoms of those elements, each broadened into a
      Gaussian of width ``distance_width`` on ``distance_grid`` and weighted
      by ``1 / r**distance_power``;
    - **angles**: for each triple of elements ``(a, b, c)`` (``b`` the vertex),
      the distribution of the angles ``a-b-c``, broadened by ``angle_width``
      on ``angle_grid`` and weighted by ``1 / (r_ab * r_bc)**angle_power``.

    The element counts (the one-body term) are left to
    :class:`AtomicReferenceRegressor`. Each term is divided by a scale learned
    in :meth:`fit` (the root median squared Euclidean distance between
    training molecules in that term), and the angle term is then multiplied by
    ``sqrt(angle_weight)``, so that in an RBF kernel the two terms weigh
    ``1 : angle_weight``. The features are invariant to translation,
    rotation and the order of the atoms, and smooth in the positions.

    Parameters
    ----------
    distance_grid : array-like of float, default=None
        Distances (Angstrom) at which the pair distributions are sampled;
        ``None`` means 53 points from 0.8 to 6.0.
    distance_width : float, default=0.1
        Standard deviation (Angstrom) of the Gaussian around each distance.
    distance_power : float, default=2.0
        Pair weights are ``1 / r**distance_power``.
    angle_grid : array-like of float, default=None
        Angles (radians) at which the angle distributions are sampled;
        ``None`` means 25 points from 0 to pi.
    angle_width : float, default=0.15
        Standard deviation (radians) of the Gaussian around each angle.
    angle_power : float, default=2.0
        Angle weights are ``1 / (r_ab * r_bc)**angle_power``.
    angle_weight : float, default=1.0
        Weight of the angle term relative to the pair term, after scaling;
        0 leaves the angles out.
    elements : array-like of float, default=None
        Nuclear charges to represent. ``None`` learns them in :meth:`fit` from
        the training molecules.
    handle_unknown : {"error", "ignore"}, default="error"
        What :meth:`transform` does with an element that is not in
        ``elements_``: raise, or leave its atoms out.

    Attributes
    ----------
    elements_ : ndarray of shape (n_elements,)
        Nuclear charges represented, in increasing order.
    pairs_ : list of tuple of float
        Element pairs ``(a, b)``, ``a <= b``, that occur in the training
        molecules, in output order. A pair (or triple) that no training
        molecule has is left out at :meth:`transform` too.
    triples_ : list of tuple of float
        Element triples ``(a, b, c)``, ``a <= c``, vertex ``b``, that occur in
        the training molecules, in output order (empty when ``angle_weight``
        is 0).
    scales_ : ndarray of shape (2,)
        Divisors of the pair and angle terms.
    n_features_in_ : int
        Number of columns of the packed molecules seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen in :meth:`fit`, when ``X`` has string column
        names.

    See Also
    --------
    BagOfBondsTransformer : Sorted Coulomb terms per element pair.
    GaussianProcessKernelRidge : A kernel ridge regression for these features.

    References
    ----------
    .. [1] H. Huo and M. Rupp, "Unified representation of molecules and
       crystals for machine learning", Mach. Learn.: Sci. Technol. 3, 045017
       (2022).

    Examples
    --------
    >>> from skqm7x import ManyBodyTensorTransformer, pack_molecules
    >>> water = (["O", "H", "H"], [[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]])
    >>> X = pack_molecules([water])
    >>> mbtr = ManyBodyTensorTransformer().fit(X)
    >>> mbtr.pairs_, mbtr.triples_
    ([(1.0, 1.0), (1.0, 8.0)], [(1.0, 1.0, 8.0), (1.0, 8.0, 1.0)])
    >>> mbtr.transform(X).shape  # 2 pairs x 53 distances + 2 triples x 25 angles
    (1, 156)
    """

    _parameter_constraints: dict = {
        "distance_grid": ["array-like", None],
        "distance_width": [Interval(Real, 0, None, closed="neither")],
        "distance_power": [Interval(Real, 0, None, closed="left")],
        "angle_grid": ["array-like", None],
        "angle_width": [Interval(Real, 0, None, closed="neither")],
        "angle_power": [Interval(Real, 0, None, closed="left")],
        "angle_weight": [Interval(Real, 0, None, closed="left")],
        "elements": ["array-like", None],
        "handle_unknown": [StrOptions({"error", "ignore"})],
    }

    def __init__(
        self,
        *,
        distance_grid=None,
        distance_width=0.1,
        distance_power=2.0,
        angle_grid=None,
        angle_width=0.15,
        angle_power=2.0,
        angle_weight=1.0,
        elements=None,
        handle_unknown="error",
    ):
        self.distance_grid = distance_grid
        self.distance_width = distance_width
        self.distance_power = distance_power
        self.angle_grid = angle_grid
        self.angle_width = angle_width
        self.angle_power = angle_power
        self.angle_weight = angle_weight
        self.elements = elements
        self.handle_unknown = handle_unknown

    def _grids(self):
        distances = (
            DEFAULT_DISTANCE_GRID
            if self.distance_grid is None
            else np.asarray(self.distance_grid, dtype=float).ravel()
        )
        angles = (
            DEFAULT_ANGLE_GRID
            if self.angle_grid is None
            else np.asarray(self.angle_grid, dtype=float).ravel()
        )
        return distances, angles

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the elements, their pairs and triples, and the term scales.

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
        X = self._fit_blocks(X)
        self._learn_scales(self._raw(X[_scale_sample(len(X))]))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit, then transform the same molecules, computing their terms once.

        Parameters
        ----------
        X : array-like of shape (n_molecules, 4 * n_atoms_max)
            Packed molecules (see :func:`pack_molecules`).
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray of shape (n_molecules, n_features_out)
            As :meth:`transform` returns.
        """
        X = self._fit_blocks(X)
        terms = self._raw(X)
        self._learn_scales(tuple(part[_scale_sample(len(X))] for part in terms))
        return self._scaled(terms, X.dtype)

    def _fit_blocks(self, X):
        """Learn the elements, their pairs and triples; return ``X`` validated."""
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        Z, R = check_molecules(X, type(self).__name__)
        self.elements_ = fitted_elements(Z, self.elements)
        index = _element_index(Z, self.elements_)
        n = len(self.elements_)
        pair_codes, triple_codes = [], []
        i, j = np.triu_indices(index.shape[1], k=1)
        vertex, (first, last) = _triples(index.shape[1])
        for start in range(0, len(index), _ANGLE_BATCH_SIZE):
            atoms = index[start : start + _ANGLE_BATCH_SIZE]
            low, high = (
                np.minimum(atoms[:, i], atoms[:, j]),
                np.maximum(atoms[:, i], atoms[:, j]),
            )
            pair_codes.append(np.unique((low * n + high)[low >= 0]))
            if self.angle_weight > 0:
                ends = atoms[:, first], atoms[:, last]
                low, high = np.minimum(*ends), np.maximum(*ends)
                middle = atoms[:, vertex]
                present = (low >= 0) & (middle >= 0)
                triple_codes.append(np.unique(((low * n + middle) * n + high)[present]))
        pair_codes = np.unique(np.concatenate(pair_codes)).tolist()
        triple_codes = np.unique(np.concatenate(triple_codes or [[]])).astype(int)
        triple_codes = triple_codes.tolist()
        e = self.elements_.tolist()
        self.pairs_ = [(e[c // n], e[c % n]) for c in pair_codes]
        self.triples_ = [
            (e[c // n // n], e[c // n % n], e[c % n]) for c in triple_codes
        ]
        # Code -> block lookups for transform; -1: not represented.
        self._pair_block = np.full(n * n, -1)
        self._pair_block[pair_codes] = np.arange(len(pair_codes))
        self._triple_block = np.full(n**3, -1)
        self._triple_block[triple_codes] = np.arange(len(triple_codes))
        distances, angles = self._grids()
        self._n_features_out = len(self.pairs_) * len(distances) + len(
            self.triples_
        ) * len(angles)
        return X

    def _learn_scales(self, terms):
        """``scales_``: the median distances between the sample's pair, angle terms."""
        self.scales_ = np.ones(2)
        for k, part in enumerate(terms):
            if part.shape[1] and len(part) > 1:
                squared = euclidean_distances(part, squared=True)
                median = np.median(squared[np.triu_indices(len(part), k=1)])
                if median > 0:
                    self.scales_[k] = np.sqrt(median)

    def transform(self, X):
        """Compute the distance and angle distributions of each molecule.

        Parameters
        ----------
        X : array-like of shape (n_molecules, 4 * n_atoms_max)
            Packed molecules.

        Returns
        -------
        X_new : ndarray of shape (n_molecules, n_features_out)
            The pair term (``len(pairs_) * len(distance_grid)`` columns), then
            the angle term (``len(triples_) * len(angle_grid)`` columns).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return self._scaled(self._raw(X), X.dtype)

    def _scaled(self, terms, dtype):
        pair_part, angle_part = terms
        out = np.hstack(
            [
                pair_part / self.scales_[0],
                angle_part * (np.sqrt(self.angle_weight) / self.scales_[1]),
            ]
        )
        return out.astype(dtype, copy=False)

    def _raw(self, X):
        Z, R = check_molecules(X, type(self).__name__)
        check_known_elements(Z, self.elements_, self.handle_unknown)
        index = _element_index(Z, self.elements_)
        distances, angles = self._grids()
        pair_part = np.concatenate(
            [
                self._pairs(index[s : s + _BATCH_SIZE], R[s : s + _BATCH_SIZE])
                for s in range(0, len(X), _BATCH_SIZE)
            ]
        ).reshape(len(X), -1)
        angle_part = np.zeros((len(X), len(self.triples_), len(angles)))
        if self.triples_:
            for s in range(0, len(X), _ANGLE_BATCH_SIZE):
                batch = slice(s, s + _ANGLE_BATCH_SIZE)
                self._angles(index[batch], R[batch], angle_part[batch])
        return pair_part, angle_part.reshape(len(X), -1)

    def _pairs(self, index, R):
        distances_grid, _ = self._grids()
        n = len(self.elements_)
        i, j = np.triu_indices(index.shape[1], k=1)
        a, b = index[:, i], index[:, j]
        block = self._pair_block[np.minimum(a, b) * n + np.maximum(a, b)]
        block = np.where((a >= 0) & (b >= 0), block, -1)
        r = np.linalg.norm(R[:, i] - R[:, j], axis=-1)
        # Padding and unrepresented pairs get weight 0 (and a harmless r).
        weight = np.where(block >= 0, 1.0, 0.0) / np.where(block >= 0, r, 1.0) ** (
            self.distance_power
        )
        gauss = np.exp(
            -0.5
            * (
                (np.where(block >= 0, r, 0.0)[..., None] - distances_grid)
                / (self.distance_width)
            )
            ** 2
        )
        one_hot = (block[:, None, :] == np.arange(len(self.pairs_))[:, None]).astype(
            float
        )
        return one_hot @ (weight[..., None] * gauss)

    def _angles(self, index, R, out):
        """Add the angle terms of a batch of molecules to ``out``.

        ``out`` has one row per molecule, triple of elements and angle.

        Every angle of three present atoms, its vertex in the middle, is
        one Gaussian per represented triple of elements; the sums per
        molecule and triple are one sparse product.
        """
        _, angles_grid = self._grids()
        n = len(self.elements_)
        vertex, (first, last) = _triples(index.shape[1])
        molecule, triple = np.nonzero(
            (index[:, vertex] >= 0) & (index[:, first] >= 0) & (index[:, last] >= 0)
        )
        vertex, first, last = vertex[triple], first[triple], last[triple]
        ends = index[molecule, first], index[molecule, last]
        codes = (np.minimum(*ends) * n + index[molecule, vertex]) * n + np.maximum(
            *ends
        )
        block = self._triple_block[codes]
        keep = block >= 0
        molecule, vertex, first, last, block = (
            molecule[keep],
            vertex[keep],
            first[keep],
            last[keep],
            block[keep],
        )
        u = R[molecule, first] - R[molecule, vertex]
        v = R[molecule, last] - R[molecule, vertex]
        r_u, r_v = np.linalg.norm(u, axis=1), np.linalg.norm(v, axis=1)
        cosine = np.einsum("tx,tx->t", u, v) / (r_u * r_v)
        angle = np.arccos(np.clip(cosine, -1.0, 1.0))
        weight = 1.0 / (r_u * r_v) ** self.angle_power
        gauss = np.exp(-0.5 * ((angle[:, None] - angles_grid) / self.angle_width) ** 2)
        n_rows = out.shape[0] * out.shape[1]
        sums = sparse.csr_matrix(
            (
                np.ones(len(block)),
                (molecule * out.shape[1] + block, np.arange(len(block))),
            ),
            shape=(n_rows, len(block)),
        )
        out += (sums @ (weight[:, None] * gauss)).reshape(out.shape)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Only checked against the names seen in :meth:`fit`.

        Returns
        -------
        feature_names_out : ndarray of str
            ``HC_r3`` for the pair term of hydrogen and carbon at the fourth
            distance of the grid, ``HCO_a0`` for the angle H-C-O at the first
            angle.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        distances, angles = self._grids()
        names = [
            f"{''.join(map(element_symbol, pair))}_r{k}"
            for pair in self.pairs_
            for k in range(len(distances))
        ] + [
            f"{''.join(map(element_symbol, triple))}_a{k}"
            for triple in self.triples_
            for k in range(len(angles))
        ]
        return np.array(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Nuclear charges are non-negative; the common checks then feed
        # positive data, which reads as fractional charges.
        tags.input_tags.positive_only = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


_TRIPLES = {}


def _triples(n_atoms):
    """Vertex and end atoms of every angle of a molecule with n_atoms atoms."""
    if n_atoms not in _TRIPLES:
        vertex, first, last = np.nonzero(np.ones((n_atoms,) * 3, dtype=bool))
        keep = (first < last) & (first != vertex) & (last != vertex)
        _TRIPLES[n_atoms] = (vertex[keep], (first[keep], last[keep]))
    return _TRIPLES[n_atoms]
