"""Which molecules are of a kind that another set holds: the test-like figure."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.utils import check_array

from skqm7x._molecules import check_molecules


def molecules_like(X, reference):
    """Mask of the molecules of ``X`` whose kind occurs among ``reference``.

    A molecule is of a kind that ``reference`` holds when some molecule of
    ``reference`` has the same set of elements, and some (perhaps another)
    has the same number of atoms. A cross-validation error measured on these
    molecules alone, with ``reference`` the molecules to be predicted,
    predicts the error on them better than the error over all molecules: in
    the QM7-X challenge, the labelled set holds chlorine and rare sulphur
    compounds that the test set lacks, and their few large errors can
    dominate an RMSE.

    Parameters
    ----------
    X : array-like of shape (n_molecules, 4 * n_atoms_max)
        Packed molecules (see :func:`~skqm7x.pack_molecules`).
    reference : array-like of shape (n_reference, 4 * n_atoms_max_reference)
        Packed molecules, e.g. a test set.

    Returns
    -------
    mask : ndarray of bool, shape (n_molecules,)
        True where a molecule of ``X`` is of a kind ``reference`` holds.

    Examples
    --------
    >>> from skqm7x import load_qm7x, molecules_like
    >>> train, test = load_qm7x(), load_qm7x(subset="test")
    >>> test_like = molecules_like(train.data, test.data)
    >>> int(test_like.sum()), len(test_like)
    (3775, 3792)
    """
    Z = _atomic_numbers(X, "X")
    Z_reference = _atomic_numbers(reference, "reference")
    kinds = {_elements(row) for row in Z_reference}
    sizes = np.count_nonzero(Z_reference, axis=1)
    return np.array([_elements(row) in kinds for row in Z], dtype=bool) & np.isin(
        np.count_nonzero(Z, axis=1), sizes
    )


def _atomic_numbers(molecules, name):
    molecules = check_array(molecules, input_name=name)
    return check_molecules(molecules, f"molecules_like ({name})")[0]


def _elements(Z):
    return frozenset(Z[Z > 0].astype(int).tolist())
