"""Writing predictions as an ``id,energy`` CSV."""

# SPDX-License-Identifier: BSD-3-Clause

import csv

import numpy as np

from skqm7x._utils._atomic_file import atomic_open


def write_submission(path, ids, energies, *, column="energy"):
    """Write an ``id,energy`` CSV atomically.

    The rows go to a temporary file in the same folder, which is then renamed,
    so an interrupted run never leaves a partial submission behind.

    Parameters
    ----------
    path : str, os.PathLike or file object
        Where to write the CSV; a file object open for text (such as
        ``sys.stdout``) is written to as it is, not atomically.
    ids : array-like of shape (n_molecules,)
        Molecule ids: whole numbers (integers, integral floats or strings of
        digits), unique once converted to integers.
    energies : array-like of shape (n_molecules,)
        Predicted atomization energies in eV, finite.
    column : str, default="energy"
        Header of the second column: ``"std"`` writes predicted standard
        deviations in the same format, to a file of their own.

    See Also
    --------
    load_qm7x : The test molecules and their ids.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skqm7x import write_submission
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "submission.csv"
    >>> write_submission(path, [3793, 3794], [-70.5, -81.25])
    >>> print(path.read_text(), end="")
    id,energy
    3793,-70.5
    3794,-81.25
    """
    given = np.asarray(ids)
    energies = np.asarray(energies, dtype=float)
    if given.ndim != 1 or energies.shape != given.shape:
        raise ValueError(
            f"ids and energies must be 1D of the same length, got shapes "
            f"{given.shape} and {energies.shape}."
        )
    ids = np.array([_whole_number(i) for i in given.tolist()], dtype=np.int64)
    values, counts = np.unique(ids, return_counts=True)
    if np.any(counts > 1):
        repeated = values[counts > 1][0]
        spellings = ", ".join(repr(i) for i in given[ids == repeated].tolist())
        raise ValueError(
            f"ids must be unique: {spellings} are all molecule {repeated}."
        )
    if not np.all(np.isfinite(energies)):
        bad = ids[~np.isfinite(energies)][0]
        raise ValueError(f"the predicted {column} of molecule {bad} is not finite.")
    rows = [("id", column)]
    rows += [(int(i), repr(float(e))) for i, e in zip(ids, energies, strict=True)]
    if hasattr(path, "write"):
        csv.writer(path, lineterminator="\n").writerows(rows)
        path.flush()
        return
    with atomic_open(path, "w", newline="") as file:
        csv.writer(file, lineterminator="\n").writerows(rows)


def _whole_number(molecule_id):
    """An id as an int: a whole number, or a string of ASCII digits."""
    if isinstance(molecule_id, str) and molecule_id.isascii():
        if molecule_id.strip().isdigit():
            return int(molecule_id)
    elif isinstance(molecule_id, int | float) and not isinstance(molecule_id, bool):
        if np.isfinite(molecule_id) and molecule_id == int(molecule_id):
            return int(molecule_id)
    raise ValueError(f"ids must be whole numbers, got {molecule_id!r}.")
