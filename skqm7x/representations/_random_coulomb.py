"""Random Coulomb matrices and their binarized input (Montavon et al., 2012)."""

# SPDX-License-Identifier: BSD-3-Clause

import zlib
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from skqm7x._utils._docstrings import shared_parameters
from skqm7x.representations._coulomb import permute, sort_by_row_norm

_CHANNELS = ("minus_theta", "zero", "plus_theta")


@shared_parameters
class RandomCoulombExpander(TransformerMixin, BaseEstimator):
    """Random Coulomb matrices, binarized, ``n_draws`` of them per molecule.

    For each draw, Gaussian noise of scale ``noise`` is added to the row norms
    of the Coulomb matrix; sorting the noisy norms gives a permutation, which
    is applied to the rows and columns. Each random matrix ``C`` is then
    binarized into ``[tanh((C - theta) / theta), tanh(C / theta),
    tanh((C + theta) / theta)]``, which spreads the large dynamic range of the
    Coulomb matrix over inputs a sigmoid network can use.

    A transformer must keep one row per molecule, so the draws are laid side
    by side: row ``i`` of the output holds ``n_draws`` blocks of
    ``3 * n_atoms**2`` columns, draw-major. To train a network on them, pass
    the expander to it, ``SigmoidMLPRegressor(expander=RandomCoulombExpander())``:
    the network then reads each row as ``n_draws`` views of one molecule,
    shows every molecule through a new random choice among them each
    training epoch, and averages over all of them in
    :meth:`~SigmoidMLPRegressor.predict`. As a pipeline step before any other
    regressor, the draws are ordinary features.

    The draws of a molecule are seeded by ``random_state`` and by the molecule
    itself (its row-norm-sorted matrix), so they do not depend on its atom
    order, its position in ``X`` or the other molecules: transforming a
    subset, a permuted copy or a rotated copy gives the same draws.

    Parameters
    ----------
    noise : float, default=1.0
        Standard deviation of the noise added to the row norms (Montavon et
        al.'s sigma). ``0`` gives the row-norm-sorted matrix in every draw.
    theta : float, default=1.0
        Step of the binarization.
    n_draws : int, default=10
        Random matrices per molecule.
    random_state : int, RandomState instance or None, default=None
        {random_state}
        It seeds the draws; ``None`` draws a seed in :meth:`fit`.

    Attributes
    ----------
    n_atoms_ : int
        Size of the input Coulomb matrices.
    seed_ : int
        The seed from which the draws of every molecule derive.
    n_features_in_ : int
        Number of input columns, ``n_atoms_**2``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen in :meth:`fit`, when ``X`` has string column
        names.

    See Also
    --------
    CoulombMatrixTransformer : Produces the full Coulomb matrices this takes.
    SigmoidMLPRegressor : The network that trains on the draws.

    References
    ----------
    .. [1] G. Montavon, K. Hansen, S. Fazli, M. Rupp, F. Biegler, A. Ziehe,
       A. Tkatchenko, O. A. von Lilienfeld and K.-R. Müller, "Learning
       invariant representations of molecules for atomization energy
       prediction", NIPS 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x import RandomCoulombExpander
    >>> C = np.array([[36.9, 3.0, 3.0, 0.5]])  # one 2-atom Coulomb matrix
    >>> expander = RandomCoulombExpander(n_draws=4, random_state=0).fit(C)
    >>> expander.transform(C).shape  # 4 draws x 3 channels x 4 entries
    (1, 48)
    """

    _parameter_constraints: dict = {
        "noise": [Interval(Real, 0, None, closed="left")],
        "theta": [Interval(Real, 0, None, closed="neither")],
        "n_draws": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        noise=1.0,
        theta=1.0,
        n_draws=10,
        random_state=None,
    ):
        self.noise = noise
        self.theta = theta
        self.n_draws = n_draws
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the matrix size and fix the seed of the draws.

        Parameters
        ----------
        X : array-like of shape (n_molecules, n_atoms**2)
            Full Coulomb matrices, flattened, as from
            ``CoulombMatrixTransformer(upper_triangle=False)``.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted expander.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        n_atoms = int(round(np.sqrt(X.shape[1])))
        if n_atoms**2 != X.shape[1]:
            raise ValueError(
                "RandomCoulombExpander expects full Coulomb matrices with "
                f"n_atoms**2 columns, got n_features = {X.shape[1]}; use "
                "CoulombMatrixTransformer(upper_triangle=False) and a sorting "
                "other than 'eigenspectrum'."
            )
        self.n_atoms_ = n_atoms
        self.seed_ = int(check_random_state(self.random_state).randint(2**31 - 1))
        return self

    def transform(self, X):
        """Draw and binarize ``n_draws`` random Coulomb matrices per molecule.

        Parameters
        ----------
        X : array-like of shape (n_molecules, n_atoms_**2)
            Full Coulomb matrices, flattened.

        Returns
        -------
        X_new : ndarray of shape (n_molecules, n_draws * 3 * n_atoms_**2)
            Draw-major blocks, each the three binarized channels of one random
            matrix.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        size = self.n_atoms_
        sorted_matrices = sort_by_row_norm(X.reshape(-1, size, size).astype(float))
        draws = np.empty((len(X), self.n_draws, 3, size, size), dtype=X.dtype)
        for i, C in enumerate(sorted_matrices):
            noise = self._molecule_rng(C).normal(size=(self.n_draws, size))
            noisy_norms = np.linalg.norm(C, axis=1) + self.noise * noise
            order = np.argsort(-noisy_norms, axis=1, kind="stable")
            random_matrices = permute(
                np.broadcast_to(C, (self.n_draws, size, size)), order
            )
            draws[i] = binarize(random_matrices, self.theta).transpose(1, 0, 2, 3)
        return draws.reshape(len(X), -1)

    def draw(self, X, random_state=None):
        """One fresh random Coulomb matrix of each molecule, binarized.

        Unlike :meth:`transform`, whose draws are fixed by ``random_state``
        and the molecule, these come from ``random_state`` alone: called once
        per training pass, it shows each molecule through a new random matrix
        every time, as in Montavon et al.'s training
        (``SigmoidMLPRegressor(fresh_draws=True)``).

        Parameters
        ----------
        X : array-like of shape (n_molecules, n_atoms_**2)
            Full Coulomb matrices, flattened.
        random_state : int, RandomState instance or None, default=None
            The source of the noise.

        Returns
        -------
        X_new : ndarray of shape (n_molecules, 3 * n_atoms_**2)
            The three binarized channels of one random matrix per molecule,
            laid out as one draw of :meth:`transform`.

        Examples
        --------
        >>> import numpy as np
        >>> from skqm7x import RandomCoulombExpander
        >>> C = np.array([[36.9, 3.0, 3.0, 0.5]])
        >>> expander = RandomCoulombExpander(random_state=0).fit(C)
        >>> expander.draw(C, random_state=1).shape
        (1, 12)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        size = self.n_atoms_
        C = sort_by_row_norm(X.reshape(-1, size, size).astype(float))
        noise = check_random_state(random_state).normal(size=(len(C), size))
        noisy_norms = np.linalg.norm(C, axis=2) + self.noise * noise
        order = np.argsort(-noisy_norms, axis=1, kind="stable")
        channels = binarize(permute(C, order), self.theta).transpose(1, 0, 2, 3)
        return channels.reshape(len(X), -1).astype(X.dtype)

    def _molecule_rng(self, C):
        # float32 bytes: a rotated or translated copy differs in the last bits
        # of float64 only, and must get the same draws.
        fingerprint = zlib.crc32(np.ascontiguousarray(C, dtype=np.float32).tobytes())
        return np.random.default_rng([self.seed_, fingerprint])

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Only checked against the names seen in :meth:`fit`.

        Returns
        -------
        feature_names_out : ndarray of str
            ``draw{d}_{channel}_{i}_{j}``, with channel ``minus_theta``,
            ``zero`` or ``plus_theta``.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        size = self.n_atoms_
        return np.array(
            [
                f"draw{d}_{channel}_{i}_{j}"
                for d in range(self.n_draws)
                for channel in _CHANNELS
                for i in range(size)
                for j in range(size)
            ],
            dtype=object,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def binarize(C, theta):
    """``[tanh((C - theta)/theta), tanh(C/theta), tanh((C + theta)/theta)]``.

    The channels are stacked on a new axis 0.
    """
    return np.tanh(np.stack([C - theta, C, C + theta]) / theta)
