"""FCHL19 atomic environments: one vector per atom, for local kernels."""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral, Real

import numpy as np

from skqm7x._molecules import unpack_molecules

# The hyper-parameters of qmllib's generate_fchl19 (Christensen et al., 2020)
# and the values each may take. qmllib itself checks none of them: a negative
# cutoff gives all-zero vectors, a zero width NaN, a float count a TypeError.
_COUNT, _POSITIVE, _NON_NEGATIVE = "a positive integer", "positive", "non-negative"
_PARAMETERS = {
    "nRs2": _COUNT,
    "nRs3": _COUNT,
    "nFourier": _COUNT,
    "eta2": _POSITIVE,
    "eta3": _POSITIVE,
    "zeta": _POSITIVE,
    "rcut": _POSITIVE,
    "acut": _POSITIVE,
    "two_body_decay": _NON_NEGATIVE,
    "three_body_decay": _NON_NEGATIVE,
    "three_body_weight": _NON_NEGATIVE,
}


def _valid_value(value, kind):
    if kind == _COUNT:
        return isinstance(value, Integral) and not isinstance(value, bool) and value > 0
    if not isinstance(value, Real) or isinstance(value, bool) or not np.isfinite(value):
        return False
    return value > 0 if kind == _POSITIVE else value >= 0


def check_fchl19_parameters(parameters):
    """Check keyword arguments of qmllib's ``generate_fchl19``.

    Parameters
    ----------
    parameters : dict or None
        Any of ``rcut``, ``acut``, ``nRs2``, ``nRs3``, ``eta2``, ``eta3``,
        ``zeta``, ``nFourier``, ``two_body_decay``, ``three_body_decay`` and
        ``three_body_weight``; the others keep qmllib's defaults, which its
        authors fitted to molecular energies.

    Returns
    -------
    parameters : dict
        A copy, ``{}`` for ``None``.

    Raises
    ------
    ValueError
        Naming the unknown parameter, or the parameter whose value is out
        of range.

    Examples
    --------
    >>> from skqm7x.representations import check_fchl19_parameters
    >>> check_fchl19_parameters({"rcut": 6.0})
    {'rcut': 6.0}
    >>> check_fchl19_parameters({"rcut": -1.0})
    Traceback (most recent call last):
    ...
    ValueError: FCHL19 parameter 'rcut' must be positive, got -1.0.
    """
    parameters = dict(parameters or {})
    unknown = sorted(set(parameters) - set(_PARAMETERS))
    if unknown:
        raise ValueError(
            f"unknown FCHL19 parameters {unknown}; choose from {sorted(_PARAMETERS)}."
        )
    for name, value in parameters.items():
        if not _valid_value(value, _PARAMETERS[name]):
            raise ValueError(
                f"FCHL19 parameter {name!r} must be {_PARAMETERS[name]}, got {value!r}."
            )
    return parameters


class AtomicEnvironments:
    """The FCHL19 vectors of the atoms of a set of molecules.

    Build it with :func:`fchl19_environments`. The atoms are stored molecule
    after molecule; the parameters are kept as attributes of the same names.

    Parameters
    ----------
    vectors : ndarray of shape (n_atoms, n_features)
        One FCHL19 vector per atom.
    charges : ndarray of shape (n_atoms,)
        The atom's nuclear charge.
    owners : ndarray of shape (n_atoms,)
        The index of the atom's molecule.
    n_molecules : int
        Number of molecules, including any left with no atom.

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x import pack_molecules
    >>> from skqm7x.representations import fchl19_environments
    >>> water = np.array([[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    >>> environments = fchl19_environments(
    ...     pack_molecules([(["O", "H", "H"], water)]), elements=[1, 8]
    ... )
    >>> environments.charges.tolist(), environments.n_molecules
    ([8, 1, 1], 1)
    >>> vectors, squared_norms, owners = environments.of_element(1)
    >>> vectors.shape, owners.tolist()
    ((2, 168), [0, 0])
    """

    def __init__(self, vectors, charges, owners, n_molecules):
        self.vectors = vectors
        self.charges = charges
        self.owners = owners
        self.n_molecules = n_molecules

    def of_element(self, element):
        """Vectors, squared norms and owners of one element's atoms.

        Parameters
        ----------
        element : int
            Nuclear charge.

        Returns
        -------
        vectors : ndarray of shape (n_element_atoms, n_features)
        squared_norms : ndarray of shape (n_element_atoms,)
        owners : ndarray of shape (n_element_atoms,)
            The index of each atom's molecule, in increasing order.
        """
        atoms = np.flatnonzero(self.charges == element)
        vectors = self.vectors[atoms]
        return vectors, np.einsum("ij,ij->i", vectors, vectors), self.owners[atoms]


def fchl19_environments(X, elements, parameters=None, *, atom_columns=None):
    """FCHL19 environment vectors of every atom of packed molecules.

    Each atom is described by the two- and three-body distributions of its
    neighbours within a cutoff, one block per element (Christensen et al.,
    2020, computed by `qmllib <https://github.com/qmlcode/qmllib>`_). The
    vectors are invariant to translation, rotation and the order of the
    atoms. Atoms of elements not in ``elements`` are left out, of their
    molecule and of their neighbours' environments.

    Parameters
    ----------
    X : ndarray of shape (n_molecules, 4 * n_atoms_max)
        Packed molecules (see :func:`~skqm7x.pack_molecules`), already
        checked.
    elements : array-like of int
        Nuclear charges to represent; they set the vectors' blocks.
    parameters : dict, default=None
        Keyword arguments of qmllib's ``generate_fchl19`` (see
        :func:`check_fchl19_parameters`).
    atom_columns : ndarray of shape (n_molecules, n_atoms_max, n_columns), \
            default=None
        Values of each atom's own (its tight-binding charge, say), appended
        to its vector: row ``i``, slot ``j`` belongs to the atom in slot
        ``j`` of molecule ``i``. The vectors are written in place, so the
        columns cost no copy of them.

    Returns
    -------
    environments : AtomicEnvironments

    Raises
    ------
    ValueError
        If ``atom_columns`` has the wrong shape, or holds NaN or infinity
        for an atom that is kept.

    References
    ----------
    .. [1] A. S. Christensen, L. A. Bratholm, F. A. Faber and O. A. von
       Lilienfeld, "FCHL revisited: Faster and more accurate quantum
       machine learning", J. Chem. Phys. 152, 044107 (2020).

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x import pack_molecules
    >>> from skqm7x.representations import fchl19_environments
    >>> water = np.array([[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    >>> X = pack_molecules([(["O", "H", "H"], water), (["H", "H"], water[1:])])
    >>> environments = fchl19_environments(X, elements=[1, 8])
    >>> environments.vectors.shape, environments.owners.tolist()
    ((5, 168), [0, 0, 0, 1, 1])
    """
    from qmllib.representations import generate_fchl19

    parameters = check_fchl19_parameters(parameters)
    element_list = [int(e) for e in elements]
    Z, R = unpack_molecules(X)
    kept = np.isin(Z, element_list)
    if atom_columns is not None:
        atom_columns = np.asarray(atom_columns, dtype=np.float64)
        if atom_columns.ndim != 3 or atom_columns.shape[:2] != Z.shape:
            raise ValueError(
                f"atom_columns has shape {atom_columns.shape}; expected "
                f"({Z.shape[0]}, {Z.shape[1]}, n_columns), one row of values per "
                "atom slot of each molecule"
            )
        unfit = kept & ~np.isfinite(atom_columns).all(axis=2)
        if unfit.any():
            raise ValueError(
                f"atom_columns holds NaN or infinity for an atom of molecule "
                f"{np.nonzero(unfit)[0][0]}; every atom kept needs finite values"
            )
    # Filled in place, molecule after molecule: the largest sets would hold
    # two copies of their vectors while a list of them was joined.
    vectors, row = None, 0
    for z, r, keep in zip(Z, R, kept, strict=True):
        if not keep.any():
            continue
        block = generate_fchl19(
            z[keep].astype(int), r[keep], elements=element_list, **parameters
        )
        if vectors is None:
            n_columns = 0 if atom_columns is None else atom_columns.shape[2]
            vectors = np.empty((np.count_nonzero(kept), block.shape[1] + n_columns))
        vectors[row : row + len(block), : block.shape[1]] = block
        row += len(block)
    if vectors is None:
        vectors = np.zeros((0, 0))
    elif atom_columns is not None:
        vectors[:, vectors.shape[1] - atom_columns.shape[2] :] = atom_columns[kept]
    return AtomicEnvironments(
        vectors,
        Z[kept].astype(int),
        np.nonzero(kept)[0],
        len(Z),
    )
