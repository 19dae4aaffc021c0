"""The challenge set shipped inside the package, in a compact form.

``data/qm7x_challenge.npz`` holds every molecule of the challenge layout in a
few flat arrays (a NumPy ``.npz`` archive, no pickle):

- ``train_ids``, ``test_ids``: the molecule ids of each subset, sorted;
- ``train_energies``: the labels, float64 exactly as parsed from ``train.csv``;
- ``n_atoms``: the atoms of each molecule, train then test, in id order;
- ``atomic_numbers``: the nuclear charge of every atom, molecule after molecule;
- ``positions``: the positions of every atom; integers in units of
  ``1 / positions_per_angstrom`` Angstrom when every coordinate of the files
  has at most that many decimals (the challenge files have eight), floats
  otherwise;
- ``negative_zeros``: the flat indices into ``positions`` of the coordinates
  written ``-0.00000000``, which parse to -0.0, not 0.0.

Integers halve the file: the coordinates are written with eight decimals, so
their float64 bytes look random to a compressor while the integers do not.
Dividing an integer by ``10**8`` rounds the exact quotient once, as parsing
the decimal text does, so the arrays are bit-identical to reading the files.
The archive has no time stamps: rebuilding it from the same files gives the
same bytes.
"""

# SPDX-License-Identifier: BSD-3-Clause

import io
import zipfile
import zlib
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

from skqm7x._molecules import unpack_molecules
from skqm7x._utils._atomic_file import atomic_open
from skqm7x.datasets._xyz import DataFormatError

SHIPPED_NAME = "qm7x_challenge.npz"
_NOTE_NAME = "README.md"
_POSITIONS_PER_ANGSTROM = 10**8
_ARRAYS = (
    "train_ids",
    "test_ids",
    "train_energies",
    "n_atoms",
    "atomic_numbers",
    "positions",
    "positions_per_angstrom",
    "negative_zeros",
)


class _DamagedFile(Exception):
    pass


def _data_folder():
    return resources.files("skqm7x.datasets") / "data"


def description():
    """The note shipped beside the data: its source, licence and layout."""
    return (_data_folder() / _NOTE_NAME).read_text(encoding="utf-8")


def load_shipped(subset, n_atoms_max=None, *, path=None):
    """The shipped ``subset`` as the Bunch that reading the folder gives.

    ``filenames`` are the files' paths inside the challenge layout. ``path``
    reads another archive of this format instead of the package's.
    """
    if path is None:
        path = _data_folder() / SHIPPED_NAME
    try:
        arrays = _read_arrays(path)
    except (_DamagedFile, OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataFormatError(
            f"The QM7-X challenge set shipped with skqm7x ({path}) is missing "
            f"or damaged ({error}); reinstall skqm7x, e.g. "
            "'pip install --force-reinstall skqm7x'."
        ) from None
    n_train = len(arrays["train_ids"])
    n_train_atoms = int(arrays["n_atoms"][:n_train].sum())
    if subset == "train":
        ids, target = arrays["train_ids"], arrays["train_energies"]
        molecules, atoms = slice(0, n_train), slice(0, n_train_atoms)
    else:
        ids, target = arrays["test_ids"], None
        molecules, atoms = slice(n_train, None), slice(n_train_atoms, None)
    if n_atoms_max is None:
        n_atoms_max = int(arrays["n_atoms"].max())
    counts = arrays["n_atoms"][molecules]
    names = [f"atoms/{subset}/id_{i}.xyz" for i in ids]
    too_big = np.flatnonzero(counts > n_atoms_max)
    if too_big.size:
        raise DataFormatError(
            f"{names[too_big[0]]} (shipped) has {counts[too_big[0]]} atoms, more "
            f"than n_atoms_max={n_atoms_max}."
        )
    X = _packed(
        counts,
        arrays["atomic_numbers"][atoms],
        _in_angstrom(arrays)[atoms],
        n_atoms_max,
    )
    return Bunch(
        data=X,
        target=None if target is None else target.copy(),
        ids=ids.astype(int),
        filenames=names,
        DESCR=description(),
    )


def _read_arrays(path):
    with path.open("rb") as file, np.load(file, allow_pickle=False) as archive:
        missing = sorted(set(_ARRAYS) - set(archive.files))
        if missing:
            raise _DamagedFile(f"no array {missing[0]!r}")
        try:
            arrays = {name: archive[name] for name in _ARRAYS}
        except zlib.error as error:
            raise _DamagedFile(error) from None
    n_molecules = len(arrays["train_ids"]) + len(arrays["test_ids"])
    n_atoms = int(arrays["n_atoms"].sum())
    if (
        len(arrays["n_atoms"]) != n_molecules
        or len(arrays["train_energies"]) != len(arrays["train_ids"])
        or arrays["atomic_numbers"].shape != (n_atoms,)
        or arrays["positions"].shape != (n_atoms, 3)
        or np.any(arrays["n_atoms"] < 1)
    ):
        raise _DamagedFile("its arrays do not fit together")
    return arrays


def _in_angstrom(arrays):
    positions = arrays["positions"]
    if positions.dtype.kind == "f":
        return positions
    # A division, not a product with 1e-8: both operands are exact, so the
    # quotient is rounded once, as float() rounds the decimal text.
    positions = positions / float(arrays["positions_per_angstrom"])
    positions.reshape(-1)[arrays["negative_zeros"]] = -0.0
    return positions


def _packed(counts, atomic_numbers, positions, n_atoms_max):
    """What ``pack_molecules`` returns, for molecules stored atom after atom."""
    molecule = np.repeat(np.arange(len(counts)), counts)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(len(molecule)) - np.repeat(first, counts)
    X = np.zeros((len(counts), n_atoms_max, 4))
    X[molecule, slot, 0] = atomic_numbers
    X[molecule, slot, 1:] = positions
    return X.reshape(len(counts), 4 * n_atoms_max)


def write_shipped(path, train, test):
    """Write the compact archive of two Bunches from ``load_qm7x(folder)``.

    Returns the number of bytes written.
    """
    molecules = np.concatenate([train.data, test.data])
    Z, R = unpack_molecules(molecules)
    present = Z > 0
    positions = R[present]
    scaled = np.rint(positions * _POSITIONS_PER_ANGSTROM)
    negative_zeros = np.flatnonzero((positions == 0) & np.signbit(positions))
    decoded = scaled / _POSITIONS_PER_ANGSTROM
    decoded.reshape(-1)[negative_zeros] = -0.0
    exact = np.all(np.abs(scaled) < np.iinfo(np.int32).max) and np.array_equal(
        decoded.view(np.uint64), positions.view(np.uint64)
    )
    arrays = {
        "train_ids": np.asarray(train.ids, dtype=np.int64),
        "test_ids": np.asarray(test.ids, dtype=np.int64),
        "train_energies": np.asarray(train.target, dtype=np.float64),
        "n_atoms": present.sum(axis=1).astype(np.int32),
        "atomic_numbers": Z[present].astype(np.uint8),
        "positions": scaled.astype(np.int32) if exact else positions,
        "positions_per_angstrom": np.int64(_POSITIONS_PER_ANGSTROM if exact else 1),
        "negative_zeros": negative_zeros if exact else np.empty(0, dtype=np.int64),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
            # A fixed time stamp makes the archive reproducible byte for byte.
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue(), compresslevel=9)
    with atomic_open(path, "wb") as file:
        file.write(buffer.getvalue())
    return len(buffer.getvalue())
