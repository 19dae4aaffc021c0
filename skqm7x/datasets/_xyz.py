"""Reading one molecule from a plain or extended xyz file.

Every error about a file is raised here, naming the file and the line, so the
estimators never see a half-parsed molecule.
"""

# SPDX-License-Identifier: BSD-3-Clause

import os
import re
import stat
from pathlib import Path

import numpy as np

from skqm7x._molecules import ATOMIC_NUMBERS, MAX_ATOMIC_NUMBER, bad_atom_pair

MAX_ATOMS = 1000
"""The most atoms a molecule file may announce. Every molecule of a data set
gets a slot for each atom of the largest one (4 floats each), and the
Coulomb-type representations grow with the square of that number: one
implausible count line would cost every molecule memory. The molecules
skqm7x is built for have tens of atoms."""

MAX_FILE_BYTES = 4 * 2**20
"""The most bytes read from one data file: a molecule of ``MAX_ATOMS``
atoms, even with many extended-xyz columns, takes far less, and a file
that is no molecule (a link to a device, say) is not read whole."""


def comment_value(comment, key, ignore_case=False):
    """The value of ``key=value`` on an extended-xyz comment line, or None.

    The key itself, not a word that ends in it: "myProperties=" and
    "(Properties=" are other keys or free text. The value may be quoted;
    the quotes are dropped.

    Examples
    --------
    >>> from skqm7x.datasets._xyz import comment_value
    >>> comment_value('energy=-4.5 Properties="species:S:1:pos:R:3"', "properties",
    ...               ignore_case=True)
    'species:S:1:pos:R:3'
    """
    match = re.search(
        rf"""(?:^|\s){re.escape(key)}=("[^"]*"|'[^']*'|\S+)""",
        comment,
        flags=re.IGNORECASE if ignore_case else 0,
    )
    return None if match is None else match.group(1).strip("\"'")


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


def _species_and_position_columns(comment, path, line_number=2):
    """Column offsets of the species and positions in an extended-xyz line."""
    properties = comment_value(comment, "Properties", ignore_case=True)
    if properties is None:
        return 0, 1  # plain xyz: "Symbol x y z"
    fields = properties.split(":")
    offsets, column = {}, 0
    try:
        for name, _kind, width in zip(
            fields[::3], fields[1::3], fields[2::3], strict=True
        ):
            offsets[name.lower()] = column
            column += int(width)
    except ValueError:
        raise DataFormatError(
            f"{path}, line {line_number}: malformed Properties {properties!r}; "
            "expected name:type:width triples."
        ) from None
    if "species" not in offsets or "pos" not in offsets:
        raise DataFormatError(
            f"{path}, line {line_number}: the Properties line must name 'species' "
            f"and 'pos' columns, got {properties!r}."
        )
    return offsets["species"], offsets["pos"]


def _atomic_number(token, path, line_number):
    if token.isascii() and token.isdigit() and 1 <= int(token) <= MAX_ATOMIC_NUMBER:
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
        If the file is empty, the atom count is wrong or above ``MAX_ATOMS``
        (1000), a symbol is unknown, a coordinate is not a finite number, two
        atoms share a position or two atoms are more than 100 Angstrom apart;
        the message names the file and line. A byte-order mark is allowed.

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
    lines = molecule_lines(path)
    return parse_atom_lines(lines[2:], lines[1], path, first_line=3)


def parse_atom_lines(atom_lines, comment, path, first_line):
    """``(Z, R)`` from the atom lines of one xyz frame and its comment line.

    ``first_line`` is the line number of the first atom line, for messages.
    Raises DataFormatError naming the file and line.
    """
    n_atoms = len(atom_lines)
    species_col, pos_col = _species_and_position_columns(comment, path, first_line - 1)
    Z = np.empty(n_atoms, dtype=int)
    R = np.empty((n_atoms, 3))
    for i, line in enumerate(atom_lines):
        line_number = i + first_line
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
    bad = bad_atom_pair(Z[None], R[None])
    if bad is not None:
        _, a, b, what = bad
        raise DataFormatError(
            f"{path}, lines {a + first_line} and {b + first_line}: the atoms {what}."
        )
    return Z, R


def xyz_frames(path, max_bytes):
    """Every frame of a plain or extended xyz file: ``(Z, R, comment, line)``.

    Frames follow one another, each an atom count, a comment line and its
    atom lines; ``line`` is the number of the frame's count line. Raises
    DataFormatError naming the file and line.
    """
    lines = read_text(path, max_bytes).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataFormatError(f"{path}: the file is empty.")
    frames, start = [], 0
    while start < len(lines):
        n_atoms = _atom_count(lines[start], path, start + 1)
        end = start + 2 + n_atoms
        if end > len(lines):
            raise DataFormatError(
                f"{path}: line {start + 1} announces {n_atoms} atoms but the file "
                f"has {max(len(lines) - start - 2, 0)} lines after the comment."
            )
        Z, R = parse_atom_lines(
            lines[start + 2 : end], lines[start + 1], path, first_line=start + 3
        )
        frames.append((Z, R, lines[start + 1], start + 1))
        start = end
    return frames


def read_text(path, max_bytes=MAX_FILE_BYTES):
    """The UTF-8 text of a regular data file of at most ``max_bytes``.

    Opened without waiting (a named pipe would block a plain open) and read
    only once it is found to be a regular file, of a bounded size; a
    byte-order mark is dropped. Raises DataFormatError naming the file.
    """
    handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    mode = os.fstat(handle).st_mode
    if not stat.S_ISREG(mode):
        os.close(handle)
        kind = "a folder" if stat.S_ISDIR(mode) else "a device, a pipe or a socket"
        raise DataFormatError(f"{path}: not a regular file ({kind}); not read.")
    with os.fdopen(handle, "rb") as file:
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise DataFormatError(
            f"{path}: larger than {max_bytes // 2**20} MiB, more than any "
            "data file skqm7x reads of this kind takes; not read."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DataFormatError(
            f"{path}, line {line}: not UTF-8 text (byte {error.start})."
        ) from None


def molecule_lines(path):
    """The lines of an xyz file, checked against the atom count of line 1.

    Trailing blank lines are dropped; a byte-order mark is not part of the
    text. Raises DataFormatError for an empty file, a count that is not a
    number from 1 to ``MAX_ATOMS``, or a count that the lines do not match.
    """
    # utf-8-sig: some editors start a file with a byte-order mark.
    lines = read_text(path).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataFormatError(f"{path}: the file is empty.")
    n_atoms = _atom_count(lines[0], path, 1)
    if len(lines) - 2 != n_atoms:
        raise DataFormatError(
            f"{path}: line 1 announces {n_atoms} atoms but the file has "
            f"{max(len(lines) - 2, 0)} atom lines."
        )
    return lines


def _atom_count(line, path, line_number):
    """The atom count on an xyz file's count line: from 1 to ``MAX_ATOMS``."""
    count = line.split()[0] if line.split() else ""
    if not (count.isascii() and count.isdigit()):
        # Not an xyz file: what it holds is not shown (it may be anything).
        raise DataFormatError(
            f"{path}, line {line_number}: expected the number of atoms; this is "
            "no xyz file."
        )
    n_atoms = int(count)
    if n_atoms < 1:
        raise DataFormatError(
            f"{path}, line {line_number}: the number of atoms must be >= 1."
        )
    if n_atoms > MAX_ATOMS:
        raise DataFormatError(
            f"{path}, line {line_number}: {n_atoms} atoms, more than the "
            f"{MAX_ATOMS} skqm7x reads: every molecule of a data set gets a slot "
            "for each atom of the largest one."
        )
    return n_atoms
