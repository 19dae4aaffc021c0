"""The molecule encoding shared by every estimator, and the element tables.

A batch of ``n`` molecules is one plain float array ``X`` of shape
``(n, 4 * n_atoms_max)``: ``X.reshape(n, -1, 4)`` has one row per atom slot,
``(Z, x, y, z)``, with the nuclear charge ``Z`` and Cartesian coordinates in
Angstrom. Slots with ``Z == 0`` are padding; their coordinates are ignored.
Keeping molecules in an ordinary 2D array is what lets ``Pipeline``,
``GridSearchCV``, ``clone``, pickling and ``Pipeline(memory=...)`` work untouched.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

# fmt: off
ELEMENT_SYMBOLS = (
    "H", "He",
    "Li", "Be", "B", "C", "N", "O", "F", "Ne",
    "Na", "Mg", "Al", "Si", "P", "S", "Cl", "Ar",
    "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn",
    "Ga", "Ge", "As", "Se", "Br", "Kr",
    "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd",
    "In", "Sn", "Sb", "Te", "I", "Xe",
    "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy",
    "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt",
    "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn",
    "Fr", "Ra", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm", "Bk", "Cf",
    "Es", "Fm", "Md", "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds",
    "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og",
)
# fmt: on
MAX_ATOMIC_NUMBER = len(ELEMENT_SYMBOLS)
ATOMIC_NUMBERS = {symbol: z for z, symbol in enumerate(ELEMENT_SYMBOLS, start=1)}

# Atomic units (CODATA 2018), for the quantum-chemistry codes that take them.
ANGSTROM_IN_BOHR = 1 / 0.529177210903
HARTREE_IN_EV = 27.211386245988

# Atomic numbers of the noble gases close each period; the electrons of the
# previous noble gas form the core.
_NOBLE_GASES = (0, 2, 10, 18, 36, 54, 86, 118)


def _valence_electrons(z):
    """Electrons outside the previous noble-gas core, filled d/f shells excluded."""
    period = np.searchsorted(_NOBLE_GASES, z)
    n_outer = z - _NOBLE_GASES[period - 1]
    # From period 4 on, a filled d shell (and from period 6, f shell) sits
    # below the valence s and p electrons of the p-block elements.
    filled_inner = {4: 10, 5: 10, 6: 24, 7: 24}.get(period, 0)
    if filled_inner and n_outer > filled_inner + 2:
        return n_outer - filled_inner
    return n_outer


VALENCE_ELECTRONS = np.array(
    [0] + [_valence_electrons(z) for z in range(1, MAX_ATOMIC_NUMBER + 1)]
)
"""``VALENCE_ELECTRONS[Z]``: valence electrons of element ``Z`` (0 for padding)."""


def element_symbol(z):
    """The symbol of nuclear charge ``z``, or ``"Z2.5"`` for a fractional one.

    Examples
    --------
    >>> from skqm7x._molecules import element_symbol
    >>> element_symbol(8.0), element_symbol(0.5)
    ('O', 'Z0.5')
    """
    if z == int(z) and 1 <= z <= MAX_ATOMIC_NUMBER:
        return ELEMENT_SYMBOLS[int(z) - 1]
    return f"Z{z:g}"


def _as_atomic_numbers(numbers, where):
    numbers = np.asarray(numbers)
    if numbers.dtype.kind in "US":
        unknown = [str(s) for s in numbers.ravel() if str(s) not in ATOMIC_NUMBERS]
        if unknown:
            raise ValueError(f"{where}: unknown element symbol {unknown[0]!r}.")
        return np.array([ATOMIC_NUMBERS[str(s)] for s in numbers.ravel()])
    numbers = np.asarray(numbers, dtype=float).ravel()
    if not np.all((numbers >= 1) & (numbers <= MAX_ATOMIC_NUMBER)) or not np.all(
        numbers == np.round(numbers)
    ):
        raise ValueError(
            f"{where}: atomic numbers must be integers between 1 and "
            f"{MAX_ATOMIC_NUMBER}, got {numbers.tolist()}."
        )
    return numbers.astype(int)


def _as_numbers_and_positions(molecule, where):
    if hasattr(molecule, "get_atomic_numbers") and hasattr(molecule, "get_positions"):
        numbers, positions = molecule.get_atomic_numbers(), molecule.get_positions()
    else:
        try:
            numbers, positions = molecule
        except (TypeError, ValueError):
            raise TypeError(
                f"{where}: expected a (Z, R) pair or an ase.Atoms, got "
                f"{type(molecule).__name__}."
            ) from None
    numbers = _as_atomic_numbers(numbers, where)
    positions = np.asarray(positions, dtype=float)
    if positions.shape != (len(numbers), 3):
        raise ValueError(
            f"{where}: positions must have shape ({len(numbers)}, 3) for "
            f"{len(numbers)} atoms, got {positions.shape}."
        )
    if not np.all(np.isfinite(positions)):
        raise ValueError(f"{where}: positions must be finite.")
    return numbers, positions


def pack_molecules(molecules, n_atoms_max=None):
    """Pack molecules into the 2D array that every estimator takes.

    Parameters
    ----------
    molecules : iterable of (Z, R) pairs or ase.Atoms
        ``Z`` holds atomic numbers or element symbols, shape ``(n_atoms,)``;
        ``R`` the positions in Angstrom, shape ``(n_atoms, 3)``.
    n_atoms_max : int, default=None
        Number of atom slots per molecule. ``None`` uses the largest molecule.

    Returns
    -------
    X : ndarray of shape (n_molecules, 4 * n_atoms_max)
        ``X.reshape(n_molecules, -1, 4)`` has one ``(Z, x, y, z)`` row per atom
        slot; slots with ``Z == 0`` are padding.

    See Also
    --------
    unpack_molecules : The inverse.

    Examples
    --------
    >>> from skqm7x import pack_molecules
    >>> water = (["O", "H", "H"], [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    >>> X = pack_molecules([water], n_atoms_max=4)
    >>> X.shape
    (1, 16)
    >>> X.reshape(1, -1, 4)[0, :, 0]
    array([8., 1., 1., 0.])
    """
    parsed = [
        _as_numbers_and_positions(molecule, f"molecule {i}")
        for i, molecule in enumerate(molecules)
    ]
    largest = max((len(numbers) for numbers, _ in parsed), default=0)
    if n_atoms_max is None:
        n_atoms_max = largest
    elif largest > n_atoms_max:
        index = next(i for i, (z, _) in enumerate(parsed) if len(z) > n_atoms_max)
        raise ValueError(
            f"molecule {index} has {len(parsed[index][0])} atoms, more than "
            f"n_atoms_max={n_atoms_max}."
        )
    X = np.zeros((len(parsed), n_atoms_max, 4))
    for i, (numbers, positions) in enumerate(parsed):
        X[i, : len(numbers), 0] = numbers
        X[i, : len(numbers), 1:] = positions
    return X.reshape(len(parsed), 4 * n_atoms_max)


def unpack_molecules(X):
    """Split packed molecules into atomic numbers and positions.

    Parameters
    ----------
    X : array-like of shape (n_molecules, 4 * n_atoms_max)
        Molecules as returned by :func:`pack_molecules`.

    Returns
    -------
    Z : ndarray of shape (n_molecules, n_atoms_max)
        Nuclear charges, 0 for padding slots.
    R : ndarray of shape (n_molecules, n_atoms_max, 3)
        Positions in Angstrom; padding slots are set to 0.

    See Also
    --------
    pack_molecules : The inverse.

    Examples
    --------
    >>> from skqm7x import pack_molecules, unpack_molecules
    >>> X = pack_molecules([([1, 1], [[0, 0, 0], [0.74, 0, 0]])])
    >>> Z, R = unpack_molecules(X)
    >>> Z
    array([[1., 1.]])
    >>> R[0, 1]
    array([0.74, 0.  , 0.  ])
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] % 4:
        raise ValueError(
            "Packed molecules must be a 2D array with 4 * n_atoms_max columns "
            f"(Z, x, y, z per atom slot); got shape {X.shape}."
        )
    atoms = X.reshape(X.shape[0], -1, 4)
    Z = atoms[..., 0]
    R = np.where((Z > 0)[..., None], atoms[..., 1:], 0.0)
    return Z, R


def check_molecules(X, estimator_name):
    """Validate the physics of packed molecules, after ``validate_data``.

    Nuclear charges may be any non-negative number (fractional charges are
    meaningful for the Coulomb matrix), but two atoms of one molecule must not
    share a position.
    """
    if X.shape[1] % 4:
        raise ValueError(
            f"{estimator_name} expects packed molecules with 4 * n_atoms_max "
            f"columns (Z, x, y, z per atom slot), got n_features = {X.shape[1]}; "
            "build X with skqm7x.pack_molecules."
        )
    Z, R = unpack_molecules(X)
    bad = np.flatnonzero(np.any(Z < 0, axis=1))
    if bad.size:
        raise ValueError(
            f"{estimator_name}: molecule {bad[0]} has a negative nuclear charge."
        )
    empty = np.flatnonzero(~np.any(Z > 0, axis=1))
    if empty.size:
        raise ValueError(
            f"{estimator_name}: molecule {empty[0]} has no atoms (every slot is "
            "padding, Z = 0)."
        )
    # Chunks bound the pairwise-distance temporaries (~35 kB a molecule).
    for start in range(0, len(Z), _CHECK_CHUNK):
        bad = bad_atom_pair(
            Z[start : start + _CHECK_CHUNK], R[start : start + _CHECK_CHUNK]
        )
        if bad is not None:
            i, a, b, what = bad
            raise ValueError(
                f"{estimator_name}: atoms {a} and {b} of molecule {start + i} {what}."
            )
    return Z, R


_CHECK_CHUNK = 1024

MAX_DIAMETER = 100.0
"""The widest molecule, in Angstrom, that the estimators accept. The molecules
skqm7x is built for span a few Angstrom and no interaction it models reaches
this far; a wider spread is a stray atom or positions in another unit (Bohr,
picometres), and the grids of the scattering transform would not fit it."""


def bad_atom_pair(Z, R):
    """The first two atoms of one molecule that cannot be where they are.

    Two atoms at one position, or farther apart than ``MAX_DIAMETER``.
    Returns ``(molecule, atom, atom, what)``, ``what`` completing "the atoms
    ...", or None when every molecule is fine.

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x._molecules import bad_atom_pair
    >>> bad_atom_pair(np.array([[1, 1]]), np.array([[[0, 0, 0], [0, 0, 0.0]]]))
    (0, 0, 1, 'share the same position')
    """
    present = Z > 0
    # Positions like 1e300 overflow to an infinite distance, which is refused.
    with np.errstate(over="ignore", invalid="ignore"):
        distances = np.linalg.norm(R[:, :, None, :] - R[:, None, :, :], axis=-1)
    pairs = present[:, :, None] & present[:, None, :]
    np.einsum("nii->ni", pairs)[...] = False
    clash = np.argwhere(pairs & (distances < 1e-8))
    if clash.size:
        i, a, b = map(int, clash[0])
        return i, a, b, "share the same position"
    wide = np.argwhere(pairs & ~(distances <= MAX_DIAMETER))
    if wide.size:
        i, a, b = map(int, wide[0])
        return (
            i,
            a,
            b,
            (
                f"are {distances[i, a, b]:.3g} Angstrom apart, more than the "
                f"{MAX_DIAMETER:g} Angstrom a molecule may span (a stray atom, or "
                "positions in another unit?)"
            ),
        )
    return None


def check_atomic_numbers(Z, estimator_name, needs, max_z=MAX_ATOMIC_NUMBER):
    """Refuse nuclear charges that are not the atomic numbers 1 to ``max_z``.

    The Coulomb-type representations take any non-negative charge; the
    methods that look elements up in tables (FCHL19, tight binding) do not.
    ``needs`` names the method in the message.
    """
    invalid = (Z > 0) & ((Z != np.round(Z)) | (Z > max_z))
    if invalid.any():
        molecule, slot = np.argwhere(invalid)[0]
        raise ValueError(
            f"{estimator_name}: molecule {molecule} has a nuclear charge of "
            f"{Z[molecule, slot]:g}; {needs} needs atomic numbers from 1 (H) to "
            f"{max_z} ({ELEMENT_SYMBOLS[max_z - 1]})."
        )


def check_known_elements(
    Z, elements, handle_unknown, remedy="leave it out, or list it in elements"
):
    """Raise on an element outside ``elements``, unless ``handle_unknown="ignore"``.

    ``remedy`` completes the error's advice: "set handle_unknown='ignore' to
    ...". Returns the mask of the atoms whose element is unknown (padding
    excluded).
    """
    unknown = (Z > 0) & ~np.isin(Z, elements)
    if unknown.any() and handle_unknown == "error":
        molecule, slot = np.argwhere(unknown)[0]
        raise ValueError(
            f"Molecule {molecule} contains an element (Z={Z[molecule, slot]:g}) "
            f"that was not seen in fit; set handle_unknown='ignore' to {remedy}."
        )
    return unknown


def fitted_elements(Z, elements=None):
    """The elements a transformer learns in ``fit``, as sorted nuclear charges.

    Parameters
    ----------
    Z : ndarray of shape (n_molecules, n_atoms_max)
        Nuclear charges of the training molecules, 0 for padding.
    elements : array-like of float or None, default=None
        Charges given by the user; ``None`` takes those present in ``Z``.

    Returns
    -------
    elements : ndarray of float
        Sorted, unique, positive charges.

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x._molecules import fitted_elements
    >>> fitted_elements(np.array([[8.0, 1.0, 1.0, 0.0]])).tolist()
    [1.0, 8.0]
    """
    if elements is None:
        found = np.unique(Z[Z > 0]).astype(float)
        if found.size == 0:
            raise ValueError("The training molecules have no atoms.")
        return found
    found = np.unique(np.asarray(elements, dtype=float))
    if found.size == 0 or np.any(found <= 0):
        raise ValueError("elements must be positive nuclear charges.")
    return found
