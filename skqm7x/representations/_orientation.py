"""The pose in which the grid-based representations see a molecule."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.utils import check_array

from skqm7x._molecules import check_molecules
from skqm7x.representations._scattering import _geometry


def orient_molecules(X):
    """The molecules of ``X`` in a pose that does not depend on how they were given.

    Each molecule is centred on its centre of nuclear charge, turned to the
    principal axes of its charge-weighted second moment (largest spread
    first), each axis signed by the charge-weighted third moment, and shifted
    so that its bounding box is centred on the origin: the pose in which
    :class:`SolidHarmonicScatteringTransformer` places every molecule on its
    grid. Translations, rotations, reflections and permutations of the atoms
    give the same pose, up to rounding, except where two principal moments
    coincide (the axes inside that plane are then arbitrary).

    Parameters
    ----------
    X : array-like of shape (n_molecules, 4 * n_atoms_max)
        Packed molecules (see :func:`skqm7x.pack_molecules`).

    Returns
    -------
    X_oriented : ndarray of shape (n_molecules, 4 * n_atoms_max)
        The same atoms in the same slots, at their new positions (Angstrom);
        padding slots stay at the origin.

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x import orient_molecules, pack_molecules, unpack_molecules
    >>> ethyne = (["C", "C", "H", "H"], [[1, 1, 1], [1, 1, 2.2], [1, 1, -0.06],
    ...                                  [1, 1, 3.26]])
    >>> _, R = unpack_molecules(orient_molecules(pack_molecules([ethyne])))
    >>> np.round(np.abs(R[0]), 2) + 0.0
    array([[0.6 , 0.  , 0.  ],
           [0.6 , 0.  , 0.  ],
           [1.66, 0.  , 0.  ],
           [1.66, 0.  , 0.  ]])
    """
    X = check_array(X, dtype=np.float64)
    Z, R = check_molecules(X, "orient_molecules")
    positions, _ = _geometry.orient_molecules(Z, R)
    oriented = X.copy()
    oriented.reshape(len(X), -1, 4)[..., 1:] = positions
    return oriented
