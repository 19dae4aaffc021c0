"""Reading molecules and labels from disk, and writing submissions.

Every error about a file is raised here, naming the file and the line, so the
estimators never see a half-parsed molecule. This module never imports torch.
"""

# SPDX-License-Identifier: BSD-3-Clause

import csv
import os
import re
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from skqm7x._atomic_file import atomic_open
from skqm7x._molecules import ATOMIC_NUMBERS, MAX_ATOMIC_NUMBER, pack_molecules

DATA_DIR_ENV = "SKQM7X_DATA"
_XYZ_NAME = re.compile(r"^id_(\d+)\.xyz$")


class DataFormatError(ValueError):
    """A data file does not follow the expected format; the message names it.

    Raised by :func:`read_xyz` and :func:`load_qm7x` for a malformed xyz or
    label file, with the file's path and, where it applies, the line. It is a
    ``ValueError``, so code that catches those catches it too.

    See Also
    --------
    read_xyz : Read one xyz file.
    load_qm7x : Read the challenge layout.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skqm7x import DataFormatError, read_xyz
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "broken.xyz"
    >>> _ = path.write_text("3\\ncomment\\nH 0 0 0\\n")
    >>> try:
    ...     read_xyz(path)
    ... except DataFormatError as error:
    ...     print(str(error).split(": ", 1)[1])
    line 1 announces 3 atoms but the file has 1 atom lines.
    """


def _species_and_position_columns(comment, path):
    """Column offsets of the species and positions in an extended-xyz line."""
    match = re.search(r"Properties=(\S+)", comment, flags=re.IGNORECASE)
    if match is None:
        return 0, 1  # plain xyz: "Symbol x y z"
    fields = match.group(1).split(":")
    offsets, column = {}, 0
    try:
        for name, _kind, width in zip(
            fields[::3], fields[1::3], fields[2::3], strict=True
        ):
            offsets[name.lower()] = column
            column += int(width)
    except ValueError:
        raise DataFormatError(
            f"{path}, line 2: malformed Properties {match.group(1)!r}; expected "
            "name:type:width triples."
        ) from None
    if "species" not in offsets or "pos" not in offsets:
        raise DataFormatError(
            f"{path}, line 2: the Properties line must name 'species' and 'pos' "
            f"columns, got {match.group(1)!r}."
        )
    return offsets["species"], offsets["pos"]


def _atomic_number(token, path, line_number):
    if token.isdigit() and 1 <= int(token) <= MAX_ATOMIC_NUMBER:
        return int(token)
    symbol = token[:1].upper() + token[1:].lower()
    if symbol not in ATOMIC_NUMBERS:
        raise DataFormatError(
            f"{path}, line {line_number}: unknown element symbol {token!r}."
        )
    return ATOMIC_NUMBERS[symbol]


def read_xyz(path):
    """Read one molecule from a plain or extended xyz file.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Line 1 holds the number of atoms, line 2 a comment (or an
        extended-xyz ``Properties=`` line that says where the species and
        positions are), then one line per atom: element symbol (or atomic
        number) and ``x y z`` in Angstrom.

    Returns
    -------
    Z : ndarray of shape (n_atoms,)
        Atomic numbers.
    R : ndarray of shape (n_atoms, 3)
        Positions in Angstrom.

    Raises
    ------
    DataFormatError
        If the file is empty, the atom count is wrong, a symbol is unknown, a
        coordinate is not a finite number or two atoms share a position; the
        message names the file and line.

    See Also
    --------
    load_qm7x : Read every molecule of the challenge layout.
    pack_molecules : Pack ``(Z, R)`` pairs into the array estimators take.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skqm7x import read_xyz
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "h2.xyz"
    >>> _ = path.write_text("2\\nhydrogen\\nH 0 0 0\\nH 0.74 0 0\\n")
    >>> Z, R = read_xyz(path)
    >>> Z
    array([1, 1])
    >>> R.shape
    (2, 3)
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except UnicodeDecodeError:
        raise DataFormatError(f"{path}: not a text file.") from None
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataFormatError(f"{path}: the file is empty.")
    try:
        n_atoms = int(lines[0].split()[0])
    except (ValueError, IndexError):
        raise DataFormatError(
            f"{path}, line 1: expected the number of atoms, got {lines[0]!r}."
        ) from None
    if n_atoms < 1:
        raise DataFormatError(f"{path}, line 1: the number of atoms must be >= 1.")
    atom_lines = lines[2:]
    if len(atom_lines) != n_atoms:
        raise DataFormatError(
            f"{path}: line 1 announces {n_atoms} atoms but the file has "
            f"{len(atom_lines)} atom lines."
        )
    species_col, pos_col = _species_and_position_columns(lines[1], path)
    Z = np.empty(n_atoms, dtype=int)
    R = np.empty((n_atoms, 3))
    for i, line in enumerate(atom_lines):
        line_number = i + 3
        tokens = line.split()
        if len(tokens) < max(species_col + 1, pos_col + 3):
            raise DataFormatError(
                f"{path}, line {line_number}: expected an element and three "
                f"coordinates, got {line!r}."
            )
        Z[i] = _atomic_number(tokens[species_col], path, line_number)
        try:
            R[i] = [float(t) for t in tokens[pos_col : pos_col + 3]]
        except ValueError:
            raise DataFormatError(
                f"{path}, line {line_number}: coordinates must be numbers, got "
                f"{line!r}."
            ) from None
        if not np.all(np.isfinite(R[i])):
            raise DataFormatError(
                f"{path}, line {line_number}: coordinates must be finite, got {line!r}."
            )
    distances = np.linalg.norm(R[:, None] - R[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    if np.any(distances < 1e-8):
        a, b = np.argwhere(distances < 1e-8)[0]
        raise DataFormatError(
            f"{path}, lines {a + 3} and {b + 3}: two atoms share the same position."
        )
    return Z, R


def _count_atoms(path):
    with open(path) as file:
        first = file.readline().split()
    try:
        return int(first[0])
    except (ValueError, IndexError):
        raise DataFormatError(
            f"{path}, line 1: expected the number of atoms, got {first!r}."
        ) from None


def _xyz_files(folder):
    """``{id: path}`` of the ``id_N.xyz`` files of a folder."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of xyz files.")
    files = {}
    for path in folder.iterdir():
        match = _XYZ_NAME.match(path.name)
        if match:
            files[int(match.group(1))] = path
    if not files:
        raise DataFormatError(f"{folder}: no id_N.xyz file found.")
    return files


def _read_labels(path):
    """``{id: energy}`` from an ``id,energy`` CSV file."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such label file.")
    labels = {}
    with open(path, newline="") as file:
        rows = csv.reader(file)
        header = next(rows, None)
        if header is None or [h.strip() for h in header[:2]] != ["id", "energy"]:
            raise DataFormatError(f"{path}, line 1: expected the header 'id,energy'.")
        for line_number, row in enumerate(rows, start=2):
            if not row:
                continue
            try:
                molecule_id, energy = int(row[0]), float(row[1])
            except (ValueError, IndexError):
                raise DataFormatError(
                    f"{path}, line {line_number}: expected 'id,energy', got {row!r}."
                ) from None
            if not np.isfinite(energy):
                raise DataFormatError(
                    f"{path}, line {line_number}: the energy must be finite."
                )
            if molecule_id in labels:
                raise DataFormatError(
                    f"{path}, line {line_number}: duplicate id {molecule_id}."
                )
            labels[molecule_id] = energy
    return labels


def _resolve_data_dir(data_dir):
    if data_dir is None:
        data_dir = os.environ.get(DATA_DIR_ENV)
        if not data_dir:
            raise ValueError(
                f"No data_dir given and the {DATA_DIR_ENV} environment variable "
                "is not set; pass the folder that holds atoms/ and energies/."
            )
    data_dir = Path(data_dir)
    if not (data_dir / "atoms").is_dir():
        raise FileNotFoundError(f"{data_dir}: no atoms/ folder; is it the data folder?")
    return data_dir


def load_qm7x(
    data_dir=None, subset="train", *, return_X_y=False, n_atoms_max=None, verbose=False
):
    """Load the QM7-X challenge molecules (and labels) as packed arrays.

    Parameters
    ----------
    data_dir : str or os.PathLike, default=None
        Folder with ``atoms/train/id_N.xyz``, ``atoms/test/id_N.xyz`` and
        ``energies/train.csv``. ``None`` reads the ``SKQM7X_DATA`` environment
        variable.
    subset : {"train", "test"}, default="train"
        Which molecules to load.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    n_atoms_max : int, default=None
        Atom slots per molecule. ``None`` takes the largest molecule of the
        train and test folders together, so that both subsets share one width.
    verbose : bool, default=False
        Show a progress bar while reading the files.

    Returns
    -------
    data : Bunch
        ``data``, the packed molecules of shape ``(n, 4 * n_atoms_max)`` (see
        :func:`pack_molecules`); ``target``, the atomization energies in eV,
        or ``None`` for the test subset; ``ids``, the molecule ids, sorted;
        ``filenames``, the xyz files.
    (data, target) : tuple
        If ``return_X_y`` is True.

    Raises
    ------
    DataFormatError
        If a file is malformed, a label has no xyz file, an xyz file has no
        label, or an id is duplicated; the message names the file.

    See Also
    --------
    read_xyz : Read one xyz file.
    write_submission : Write predictions for the test molecules.

    Examples
    --------
    >>> from skqm7x import load_qm7x
    >>> train = load_qm7x(QM7X_DIR)  # the folder of the challenge data
    >>> train.data.shape, train.target.shape
    ((3792, 92), (3792,))
    >>> load_qm7x(QM7X_DIR, "test").ids[:3]
    array([3793, 3794, 3795])
    """
    if subset not in ("train", "test"):
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}.")
    data_dir = _resolve_data_dir(data_dir)
    files = _xyz_files(data_dir / "atoms" / subset)
    ids = np.array(sorted(files))
    target = None
    if subset == "train":
        labels_path = data_dir / "energies" / "train.csv"
        labels = _read_labels(labels_path)
        unlabelled = sorted(set(files) - set(labels))
        if unlabelled:
            raise DataFormatError(
                f"{files[unlabelled[0]]} has no label in {labels_path} "
                f"({len(unlabelled)} unlabelled molecules)."
            )
        missing = sorted(set(labels) - set(files))
        if missing:
            raise DataFormatError(
                f"{labels_path}: id {missing[0]} has no xyz file in "
                f"{data_dir / 'atoms' / subset} ({len(missing)} such ids)."
            )
        target = np.array([labels[i] for i in ids])
    if n_atoms_max is None:
        n_atoms_max = max(
            _count_atoms(path)
            for folder in ("train", "test")
            if (data_dir / "atoms" / folder).is_dir()
            for path in _xyz_files(data_dir / "atoms" / folder).values()
        )
    paths = [files[i] for i in ids]
    molecules = [read_xyz(path) for path in _progress(paths, verbose, subset)]
    too_big = next(
        (p for p, (z, _) in zip(paths, molecules, strict=True) if len(z) > n_atoms_max),
        None,
    )
    if too_big is not None:
        raise DataFormatError(
            f"{too_big} has more atoms than n_atoms_max={n_atoms_max}."
        )
    X = pack_molecules(molecules, n_atoms_max=n_atoms_max)
    if return_X_y:
        return X, target
    return Bunch(data=X, target=target, ids=ids, filenames=[str(p) for p in paths])


def _progress(items, verbose, subset):
    if not verbose:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=f"reading {subset} molecules", unit="mol")


def write_submission(path, ids, energies, *, column="energy"):
    """Write an ``id,energy`` CSV atomically.

    The rows go to a temporary file in the same folder, which is then renamed,
    so an interrupted run never leaves a partial submission behind.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write the CSV.
    ids : array-like of shape (n_molecules,)
        Molecule ids, unique integers.
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
    ids = np.asarray(ids)
    energies = np.asarray(energies, dtype=float)
    if ids.ndim != 1 or energies.shape != ids.shape:
        raise ValueError(
            f"ids and energies must be 1D of the same length, got shapes "
            f"{ids.shape} and {energies.shape}."
        )
    if len(np.unique(ids)) != len(ids):
        raise ValueError("ids must be unique.")
    if not np.all(np.isfinite(energies)):
        bad = ids[~np.isfinite(energies)][0]
        raise ValueError(f"the predicted {column} of molecule {bad} is not finite.")
    with atomic_open(path, "w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["id", column])
        writer.writerows(
            (int(i), repr(float(e))) for i, e in zip(ids, energies, strict=True)
        )
