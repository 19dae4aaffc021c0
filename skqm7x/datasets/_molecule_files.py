"""Molecules from any files: xyz (one frame or many), folders, what ASE reads.

This module never imports torch; ASE is imported only for a file that is
not xyz.
"""

# SPDX-License-Identifier: BSD-3-Clause

import os
import re
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from skqm7x._molecules import MAX_ATOMIC_NUMBER, bad_atom_pair, pack_molecules
from skqm7x._utils._docstrings import shared_parameters
from skqm7x.datasets._qm7x import labels_in_order, read_labels
from skqm7x.datasets._xyz import (
    MAX_ATOMS,
    DataFormatError,
    comment_value,
    xyz_frames,
)

XYZ_SUFFIXES = (".xyz", ".extxyz")

MAX_MOLECULE_FILE_BYTES = 2**30
"""The most bytes read from one molecule file: a file of many frames holds
far more than one molecule, but a file that is no molecule file is still
not read whole."""

# The challenge's file names: the id is the number.
_ID_NAME = re.compile(r"id_(0|[1-9][0-9]*)", flags=re.ASCII)


@shared_parameters
def read_molecules(
    paths, *, n_atoms_max=None, energy_key=None, energies=None, verbose=0
):
    """Read molecules from files and folders into the array estimators take.

    Parameters
    ----------
    paths : str, os.PathLike or list of them
        Molecule files and folders, read in the order given:

        - an xyz file (``.xyz`` or ``.extxyz``), plain or extended, of one
          molecule or of several frames one after another; skqm7x reads it
          itself, with messages that name the file and the line;
        - a folder: its xyz files, in the order of their ids (below), then of
          their names; hidden files are skipped, and any other file is
          refused, as :func:`load_qm7x` refuses one;
        - any other file that ASE reads (SDF, PDB, CIF, an ASE database...),
          each of its frames one molecule; this needs ASE (``pip install
          ase``), and a periodic structure is refused.
    n_atoms_max : int, default=None
        Atom slots per molecule; ``None`` takes the largest molecule read.
        A larger molecule is refused, with its file named.
    energy_key : str, default=None
        Also read each molecule's energy (eV): from the ``key=value`` pairs
        of an extended-xyz comment line, or from ASE's ``info`` of the frame
        (for ``"energy"``, also from a calculator's stored energy). Every
        molecule must have one. ``None`` reads no energies.
    energies : str or os.PathLike, default=None
        Instead, an ``id,energy`` CSV file (eV) with a row for each
        molecule's id (below); a row of an id that no molecule has is
        refused.
    verbose : int, default=0
        {verbose}
        The bar counts the files as they are read.

    Returns
    -------
    molecules : Bunch
        ``data``, the packed molecules of shape ``(n, 4 * n_atoms_max)``
        (see :func:`pack_molecules`); ``ids``, one string per molecule;
        ``filenames``, the file of each molecule; ``frames``, its frame in
        that file (0 for a file of one molecule); ``target``, the energies
        read with ``energy_key`` or from ``energies``, or ``None``.

        An id is the file's own: ``N`` for ``id_N.xyz`` (as in the challenge
        layout), else the file's name without its suffix. A molecule of a
        file of several frames has its frame number after a colon
        (``traj:0``, ``traj:1``...), or the frame number alone when that
        file is the only one read.

    Raises
    ------
    DataFormatError
        If a file is malformed, cannot be read, holds no molecule or a
        periodic structure, two molecules get one id, a molecule lacks the
        energy asked for, or ``energies`` has an id of no molecule; the
        message names the file and, where it applies, the frame or line.

    See Also
    --------
    load_qm7x : The challenge layout, with its labels.
    read_xyz : Read one xyz file of one molecule.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skqm7x import read_molecules
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "frames.xyz").write_text(
    ...     "2\\nenergy=-4.5\\nH 0 0 0\\nH 0.74 0 0\\n"
    ...     "2\\nenergy=-4.4\\nH 0 0 0\\nH 0.80 0 0\\n"
    ... )
    >>> molecules = read_molecules(folder / "frames.xyz", energy_key="energy")
    >>> molecules.ids.tolist(), molecules.target.tolist()
    (['0', '1'], [-4.5, -4.4])
    >>> molecules.data.shape
    (2, 8)
    """
    if energy_key is not None and energies is not None:
        raise ValueError("give energy_key or energies, not both.")
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    files = []
    for given in map(Path, paths):
        if given.is_dir():
            files += _molecule_files_in(given)
        elif given.exists():
            files.append(given)
        else:
            raise FileNotFoundError(f"{given}: no such file or folder.")
    if not files:
        raise DataFormatError("no molecule file given.")
    molecules, ids, filenames, frames, energies_read = [], [], [], [], []
    first_source = {}
    for path in _progress(files, verbose):
        read = _xyz_molecules if path.suffix.lower() in XYZ_SUFFIXES else _ase_molecules
        frames_read = read(path, energy_key)
        if not frames_read:
            raise DataFormatError(f"{path}: holds no molecule.")
        for frame, (Z, R, energy) in enumerate(frames_read):
            molecule_id = _molecule_id(path, frame, len(frames_read), len(files))
            source = f"{path}" + (f", frame {frame}" if len(frames_read) > 1 else "")
            if molecule_id in first_source:
                raise DataFormatError(
                    f"{source} and {first_source[molecule_id]} both get the id "
                    f"{molecule_id!r}; rename one of the files."
                )
            first_source[molecule_id] = source
            molecules.append((Z, R))
            ids.append(molecule_id)
            filenames.append(str(path))
            frames.append(frame)
            energies_read.append(energy)
    largest = max(len(Z) for Z, _ in molecules)
    if n_atoms_max is not None and largest > n_atoms_max:
        index = next(i for i, (Z, _) in enumerate(molecules) if len(Z) > n_atoms_max)
        raise DataFormatError(
            f"{filenames[index]} (molecule {ids[index]}) has "
            f"{len(molecules[index][0])} atoms, more than n_atoms_max={n_atoms_max}."
        )
    target = None if energy_key is None else np.array(energies_read, dtype=float)
    if energies is not None:
        target = labels_in_order(
            ids,
            read_labels(energies, whole_ids=False),
            energies,
            first_source,
            "no molecule read (the ids are the file names, see read_molecules)",
        )
    return Bunch(
        data=pack_molecules(molecules, n_atoms_max=n_atoms_max),
        ids=np.array(ids, dtype=object),
        filenames=filenames,
        frames=np.array(frames),
        target=target,
    )


def _molecule_files_in(folder):
    """The xyz files of a folder, by id then by name; any other file refused."""
    files, others = [], []
    for path in folder.iterdir():
        if path.name.startswith("."):
            continue  # hidden: an editor's or the system's, not a molecule
        if path.suffix.lower() in XYZ_SUFFIXES and not path.is_dir():
            files.append(path)
        else:
            others.append(path.name)
    if others:
        shown = ", ".join(sorted(others)[:5]) + (", ..." if len(others) > 5 else "")
        raise DataFormatError(
            f"{folder}: {len(others)} entries are not xyz files and would be left "
            f"out: {shown}; give the files themselves, or remove them."
        )
    if not files:
        raise DataFormatError(f"{folder}: no xyz file found.")

    def order(path):
        match = _ID_NAME.fullmatch(path.stem)
        return (0, int(match.group(1)), "") if match else (1, 0, path.name)

    return sorted(files, key=order)


def _molecule_id(path, frame, n_frames, n_files):
    match = _ID_NAME.fullmatch(path.stem)
    file_id = match.group(1) if match else path.stem
    if n_frames == 1:
        return file_id
    return str(frame) if n_files == 1 else f"{file_id}:{frame}"


def _xyz_molecules(path, energy_key):
    molecules = []
    for Z, R, comment, line in xyz_frames(path, MAX_MOLECULE_FILE_BYTES):
        energy = None
        if energy_key is not None:
            energy = _energy_in_comment(comment, energy_key, path, line + 1)
        molecules.append((Z, R, energy))
    return molecules


def _energy_in_comment(comment, key, path, line_number):
    value = comment_value(comment, key)
    if value is None:
        raise DataFormatError(
            f"{path}, line {line_number}: no {key}= on the comment line, and "
            f"energy_key={key!r} asks for it."
        )
    return _finite_energy(value, path, f"line {line_number}")


def _finite_energy(value, path, where):
    try:
        energy = float(value)
    except (TypeError, ValueError):
        energy = float("nan")
    if not np.isfinite(energy):
        raise DataFormatError(
            f"{path}, {where}: the energy must be a finite number, got {value!r}."
        )
    return energy


def _ase_molecules(path, energy_key):
    try:
        import ase.io
    except ImportError:
        raise DataFormatError(
            f"{path}: reading {path.suffix or 'this'} files needs ASE "
            "(pip install ase); skqm7x reads xyz files itself."
        ) from None
    try:
        frames = ase.io.read(path, index=":")
    except Exception as error:  # ASE's parsers raise many kinds
        raise DataFormatError(f"{path}: ASE cannot read it: {error}") from None
    molecules = []
    for frame, atoms in enumerate(frames):
        where = f"frame {frame}"
        if any(atoms.pbc):
            raise DataFormatError(
                f"{path}, {where}: a periodic structure; skqm7x predicts molecules."
            )
        Z, R = atoms.get_atomic_numbers(), atoms.get_positions()
        if not 1 <= len(Z) <= MAX_ATOMS:
            raise DataFormatError(
                f"{path}, {where}: {len(Z)} atoms; skqm7x reads molecules of 1 "
                f"to {MAX_ATOMS} atoms."
            )
        if not np.all((Z >= 1) & (Z <= MAX_ATOMIC_NUMBER)):
            raise DataFormatError(f"{path}, {where}: an atom is no element.")
        if not np.all(np.isfinite(R)):
            raise DataFormatError(f"{path}, {where}: positions must be finite.")
        bad = bad_atom_pair(Z[None], R[None])
        if bad is not None:
            _, a, b, what = bad
            raise DataFormatError(f"{path}, {where}: the atoms {a} and {b} {what}.")
        energy = None
        if energy_key is not None:
            energy = _ase_energy(atoms, energy_key, path, where)
        molecules.append((Z.astype(int), R.astype(float), energy))
    return molecules


def _ase_energy(atoms, key, path, where):
    if key in atoms.info:
        return _finite_energy(atoms.info[key], path, where)
    if key == "energy" and atoms.calc is not None:
        try:
            stored = atoms.get_potential_energy()
        except Exception:  # a calculator without a stored energy
            stored = None
        if stored is not None:
            return _finite_energy(stored, path, where)
    raise DataFormatError(
        f"{path}, {where}: no {key!r} in the frame's properties, and "
        f"energy_key={key!r} asks for it."
    )


def _progress(items, verbose):
    if not verbose:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc="reading molecule files", unit="file")
