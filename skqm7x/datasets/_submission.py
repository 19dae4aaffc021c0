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
    _write_table(path, ids.tolist(), {column: energies})


def write_predictions(path, ids, energies, *, std=None):
    """Write ``id,energy`` (or ``id,energy,std``) for any molecules, atomically.

    As :func:`write_submission`, for the molecules of :func:`read_molecules`:
    the ids may be any text, such as file names.

    Parameters
    ----------
    path : str, os.PathLike or file object
        Where to write the CSV; a file object open for text (such as
        ``sys.stdout``) is written to as it is, not atomically.
    ids : array-like of shape (n_molecules,)
        Molecule ids, unique once written as text.
    energies : array-like of shape (n_molecules,)
        Predicted energies in eV, finite.
    std : array-like of shape (n_molecules,), default=None
        Their predicted standard deviations, written as a third column.

    See Also
    --------
    read_molecules : Molecules and their ids from files.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skqm7x import write_predictions
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "predictions.csv"
    >>> write_predictions(path, ["ethanol", "water"], [-41.5, -9.9], std=[0.1, 0.05])
    >>> print(path.read_text(), end="")
    id,energy,std
    ethanol,-41.5,0.1
    water,-9.9,0.05
    """
    ids = [str(i) for i in np.asarray(ids, dtype=object).ravel().tolist()]
    columns = {"energy": np.asarray(energies, dtype=float)}
    if std is not None:
        columns["std"] = np.asarray(std, dtype=float)
    for name, values in columns.items():
        if values.shape != (len(ids),):
            raise ValueError(
                f"{name} must be 1D with one value per id ({len(ids)}), got shape "
                f"{values.shape}."
            )
    seen = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"ids must be unique: {i!r} is given twice.")
        seen.add(i)
    _write_table(path, ids, columns)


def _write_table(path, ids, columns):
    """``id`` then ``columns`` (name: finite floats) as a CSV, atomically."""
    for column, values in columns.items():
        finite = np.isfinite(values)
        if not np.all(finite):
            bad = ids[int(np.argmin(finite))]
            raise ValueError(f"the predicted {column} of molecule {bad} is not finite.")
    rows = [("id", *columns)]
    rows += [
        (i, *(repr(float(values[row])) for values in columns.values()))
        for row, i in enumerate(ids)
    ]
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
