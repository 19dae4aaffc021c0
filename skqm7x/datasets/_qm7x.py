"""The QM7-X challenge set: shipped in the package, or read from a folder.

This module never imports torch.
"""

# SPDX-License-Identifier: BSD-3-Clause

import csv
import io
import os
import re
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from skqm7x._molecules import pack_molecules
from skqm7x._utils._docstrings import shared_parameters
from skqm7x.datasets._shipped import load_shipped
from skqm7x.datasets._xyz import (
    DataFormatError,
    molecule_lines,
    read_text,
    read_xyz,
)

DATA_DIR_ENV = "SKQM7X_DATA"
# One spelling per id: "id_05.xyz" beside "id_5.xyz" would be two files for
# one molecule, and str.isdigit() would take other scripts' digits.
_XYZ_NAME = re.compile(r"id_(0|[1-9][0-9]*)\.xyz", flags=re.ASCII)
_ID = re.compile(r"[0-9]+", flags=re.ASCII)
# A decimal number (or nan and inf, refused as not finite): float() also
# takes "7_0.5", for 70.5.
_NUMBER = re.compile(
    r"[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|nan|inf|infinity)",
    flags=re.ASCII | re.IGNORECASE,
)
# Ids are stored as int64.
_LARGEST_ID = np.iinfo(np.int64).max


@shared_parameters
def load_qm7x(
    data_dir=None, subset="train", *, return_X_y=False, n_atoms_max=None, verbose=0
):
    """Load the QM7-X challenge molecules (and labels) as packed arrays.

    By default the challenge set that ships inside the package: 3792 labelled
    molecules and 947 to predict, a subset of QM7-X (Hoja et al. 2021, CC BY
    4.0; see ``DESCR``). Given a folder, any data in the challenge layout.

    Parameters
    ----------
    data_dir : str or os.PathLike, default=None
        Folder with ``atoms/train/id_N.xyz``, ``atoms/test/id_N.xyz`` and
        ``energies/train.csv``. ``None`` reads the folder that the
        ``SKQM7X_DATA`` environment variable names or, when it is unset or
        empty, the challenge set shipped in the package.
    subset : {"train", "test"}, default="train"
        Which molecules to load.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    n_atoms_max : int, default=None
        Atom slots per molecule. ``None`` takes the largest molecule of the
        train and test subsets together, so that both share one width.
    verbose : int, default=0
        {verbose}
        The bar counts the files of a folder as they are read (the shipped
        set loads in milliseconds).

    Returns
    -------
    data : Bunch
        ``data``, the packed molecules of shape ``(n, 4 * n_atoms_max)`` (see
        :func:`pack_molecules`); ``target``, the atomization energies in eV,
        or ``None`` for the test subset; ``ids``, the molecule ids, sorted;
        ``filenames``, the xyz files (for the shipped set, their paths inside
        the challenge layout); ``DESCR``, where the molecules come from.
    (data, target) : tuple
        If ``return_X_y`` is True.

    Raises
    ------
    DataFormatError
        If a file is malformed, a label has no xyz file, an xyz file has no
        label, or an id is duplicated; the message names the file. For the
        shipped set, if the installed file is damaged (reinstall skqm7x).

    See Also
    --------
    read_xyz : Read one xyz file.
    write_submission : Write predictions for the test molecules.

    Examples
    --------
    >>> from skqm7x import load_qm7x
    >>> train = load_qm7x()  # the shipped challenge set
    >>> train.data.shape, train.target.shape
    ((3792, 92), (3792,))
    >>> load_qm7x(subset="test").ids[:3]
    array([3793, 3794, 3795])
    >>> print(train.DESCR.splitlines()[0])
    # The QM7-X challenge set shipped with skqm7x
    """
    if subset not in ("train", "test"):
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}.")
    if data_dir is None:
        data_dir = os.environ.get(DATA_DIR_ENV) or None
    if data_dir is None:
        bunch = load_shipped(subset, n_atoms_max)
    else:
        bunch = _load_folder(Path(data_dir), subset, n_atoms_max, verbose)
    if return_X_y:
        return bunch.data, bunch.target
    return bunch


def _load_folder(data_dir, subset, n_atoms_max, verbose):
    if not (data_dir / "atoms").is_dir():
        raise FileNotFoundError(f"{data_dir}: no atoms/ folder; is it the data folder?")
    files = _xyz_files(data_dir / "atoms" / subset)
    ids = np.array(sorted(files))
    target = None
    if subset == "train":
        labels_path = data_dir / "energies" / "train.csv"
        target = labels_in_order(
            ids.tolist(),
            read_labels(labels_path),
            labels_path,
            files,
            f"no xyz file in {data_dir / 'atoms' / subset}",
        )
    paths = [files[i] for i in ids]
    molecules = [read_xyz(path) for path in _progress(paths, verbose, subset)]
    if n_atoms_max is None:
        # Both subsets share one width, so that a model fitted on one takes
        # the other; the other subset's files are checked, not parsed.
        other = data_dir / "atoms" / ("test" if subset == "train" else "train")
        sizes = [len(Z) for Z, _ in molecules]
        if other.is_dir():
            sizes += [len(molecule_lines(p)) - 2 for p in _xyz_files(other).values()]
        n_atoms_max = max(sizes)
    too_big = next(
        (p for p, (z, _) in zip(paths, molecules, strict=True) if len(z) > n_atoms_max),
        None,
    )
    if too_big is not None:
        raise DataFormatError(
            f"{too_big} has more atoms than n_atoms_max={n_atoms_max}."
        )
    return Bunch(
        data=pack_molecules(molecules, n_atoms_max=n_atoms_max),
        target=target,
        ids=ids,
        filenames=[str(p) for p in paths],
        DESCR=f"QM7-X challenge layout read from {data_dir}.",
    )


def _xyz_files(folder):
    """``{id: path}`` of the ``id_N.xyz`` files of a folder."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of xyz files.")
    files, misnamed = {}, []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue  # hidden: an editor's or the system's, not a molecule
        match = _XYZ_NAME.fullmatch(path.name)
        if match:
            molecule_id = int(match.group(1))
            if molecule_id > _LARGEST_ID:
                raise DataFormatError(
                    f"{path}: id {molecule_id} is larger than the largest id "
                    f"skqm7x keeps ({_LARGEST_ID})."
                )
            files[molecule_id] = path
        else:
            misnamed.append(path.name)
    if misnamed:
        shown = ", ".join(misnamed[:5]) + (", ..." if len(misnamed) > 5 else "")
        raise DataFormatError(
            f"{folder}: {len(misnamed)} files are not named id_N.xyz (N a whole "
            f"number without leading zeros) and would be left out: {shown}; "
            "rename or remove them."
        )
    if not files:
        raise DataFormatError(f"{folder}: no id_N.xyz file found.")
    return files


def labels_in_order(ids, labels, labels_path, sources, unknown_id):
    """The energies of ``labels`` in the order of ``ids``, each id labelled once.

    ``sources[i]`` names where molecule ``i`` was read; a label of an id
    that no molecule has is refused as having ``unknown_id`` (a phrase).
    """
    unlabelled = [i for i in ids if i not in labels]
    if unlabelled:
        raise DataFormatError(
            f"{sources[unlabelled[0]]} has no label in {labels_path} "
            f"({len(unlabelled)} unlabelled molecules)."
        )
    unknown = sorted(set(labels) - set(ids))
    if unknown:
        raise DataFormatError(
            f"{labels_path}: id {unknown[0]!r} has {unknown_id} "
            f"({len(unknown)} such ids)."
        )
    return np.array([labels[i] for i in ids])


def read_labels(path, whole_ids=True):
    """``{id: energy}`` from an ``id,energy`` CSV file.

    The ids are whole numbers (ints), or, with ``whole_ids=False``, any
    non-empty text (strings), as :func:`read_molecules` names molecules.
    """
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such label file.")
    labels = {}
    # A spreadsheet may start the file with a byte-order mark (read_text
    # drops it).
    rows = csv.reader(io.StringIO(read_text(path), newline=""))
    try:
        header = next(rows, None)
        if header is None or [h.strip() for h in header[:2]] != ["id", "energy"]:
            raise DataFormatError(f"{path}, line 1: expected the header 'id,energy'.")
        for row in rows:
            line_number = rows.line_num
            if not row:
                continue
            fields = [field.strip() for field in row[:2]]
            if (
                len(fields) < 2
                or not (_ID.fullmatch(fields[0]) if whole_ids else fields[0])
                or not _NUMBER.fullmatch(fields[1])
            ):
                kind = "a whole number" if whole_ids else "an id"
                raise DataFormatError(
                    f"{path}, line {line_number}: expected 'id,energy', with "
                    f"{kind} and a decimal number."
                )
            molecule_id = int(fields[0]) if whole_ids else fields[0]
            energy = float(fields[1])
            if whole_ids and molecule_id > _LARGEST_ID:
                raise DataFormatError(
                    f"{path}, line {line_number}: id {molecule_id} is larger "
                    f"than the largest id skqm7x keeps ({_LARGEST_ID})."
                )
            if not np.isfinite(energy):
                raise DataFormatError(
                    f"{path}, line {line_number}: the energy must be finite."
                )
            if molecule_id in labels:
                raise DataFormatError(
                    f"{path}, line {line_number}: duplicate id {molecule_id}."
                )
            labels[molecule_id] = energy
    except csv.Error as error:
        raise DataFormatError(f"{path}, line {rows.line_num}: {error}.") from None
    return labels


def _progress(items, verbose, subset):
    if not verbose:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=f"reading {subset} molecules", unit="mol")
