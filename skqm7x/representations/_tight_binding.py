"""Semi-empirical tight-binding energies (GFN-xTB, by tblite): a physical baseline."""

# SPDX-License-Identifier: BSD-3-Clause

import os
from contextlib import contextmanager
from functools import lru_cache
from importlib.metadata import version
from numbers import Integral, Real
from pathlib import Path

import joblib
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
    validate_data,
)
from threadpoolctl import threadpool_limits

from skqm7x._molecules import (
    ANGSTROM_IN_BOHR,
    HARTREE_IN_EV,
    check_atomic_numbers,
    check_molecules,
)
from skqm7x._utils._cache import cache_location, shared_result
from skqm7x._utils._docstrings import shared_parameters
from skqm7x.representations._per_molecule import per_molecule_rows

_METHODS = {"GFN2-xTB", "GFN1-xTB", "IPEA1-xTB"}
# The GFN parametrizations cover hydrogen to radon.
_MAX_TIGHT_BINDING_Z = 86
# What a single point gives of each atom, by name.
ATOM_QUANTITIES = ("charges", "valences", "energies")
# tblite's xtbml post-processing of the same single point: each atom's
# partitioned energies, shell populations and multipoles, frontier-orbital
# quantities, and their coordination-number averages. The d shells' three
# are zero where a molecule has none (no S, Cl or heavier).
_XTBML_FEATURES = (
    "CN_A", "E_aes", "E_axc", "E_disp2", "E_disp3", "E_eht", "E_ies_ixc",
    "E_rep", "E_tot", "HOAO", "LUAO", "chem_pot", "dipm_A", "dipm_d", "dipm_p",
    "dipm_s", "ext_CN", "ext_HOAO", "ext_LUAO", "ext_chem_pot", "ext_dipm_A",
    "ext_dipm_Z", "ext_dipm_e", "ext_gap", "ext_q_A", "ext_qm_A", "ext_qm_Z",
    "ext_qm_e", "gap", "p_d", "p_p", "p_s", "q_A", "qm_A", "qm_d", "qm_p",
    "qm_s", "response", "w_tot",
)  # fmt: skip
# The columns of every cached row of a molecule's atoms.
_TABLE_COLUMNS = (*ATOM_QUANTITIES, *_XTBML_FEATURES)


@shared_parameters
class TightBindingEnergyTransformer(TransformerMixin, BaseEstimator):
    """Atomization energy of each molecule by a GFN-xTB tight-binding calculation.

    The extended tight-binding methods of Grimme and co-workers (GFN2-xTB by
    default) are cheap semi-empirical quantum chemistry: a few milliseconds
    per molecule of the challenge, computed by `tblite
    <https://github.com/tblite/tblite>`_. Their energies already hold most of
    the physics of bonding, so a model that learns the difference between the
    reference energy and this baseline (Delta-learning, Ramakrishnan et al.
    2015) needs far fewer training molecules for the same error. Pass it as
    the ``baseline`` of :class:`AtomicReferenceRegressor` to do that, or use
    its column as a feature.

    The output is the energy of the molecule less those of its free atoms, in
    eV (negative for a bound molecule, like the challenge's target). The
    molecule and each free atom are taken as neutral, in their lowest spin
    state (one unpaired electron when the electron count is odd), without
    spin polarization: a fixed choice per element, whose error the element
    energies of :class:`AtomicReferenceRegressor` absorb.

    Parameters
    ----------
    method : {"GFN2-xTB", "GFN1-xTB", "IPEA1-xTB"}, default="GFN2-xTB"
        The tight-binding parametrization.
    accuracy : float, default=1.0
        tblite's numerical accuracy; smaller is tighter.
    max_iterations : int, default=250
        Self-consistent-charge iterations allowed per molecule.
    n_jobs : int, default=None
        {n_jobs}
        The jobs compute molecules in processes, each running tblite on one
        OpenMP thread.
    memory : None, str, path or joblib.Memory, default=None
        {memory}
        Kept here: the calculations, one file per molecule, keyed by the
        method, its settings, the tblite version, the molecule itself and
        the padding width of ``X``, whatever the other molecules: the folds
        of a cross-validation and a second run of a workflow compute each
        molecule once. The files hold what :func:`tight_binding_atoms`
        returns, whose atoms' energies add up to the molecule's: with the
        same ``memory`` and settings, either reads what the other computed.
    verbose : int, default=0
        {verbose}
        The bar counts the molecules.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns of the packed molecules seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen in :meth:`fit`, when ``X`` has string column
        names.

    See Also
    --------
    AtomicReferenceRegressor : Learns the rest of the energy from a baseline.

    References
    ----------
    .. [1] C. Bannwarth, S. Ehlert and S. Grimme, "GFN2-xTB: an accurate and
       broadly parametrized self-consistent tight-binding quantum chemical
       method", J. Chem. Theory Comput. 15, 1652 (2019).
    .. [2] R. Ramakrishnan, P. O. Dral, M. Rupp and O. A. von Lilienfeld, "Big
       data meets quantum chemistry approximations: the Delta-machine learning
       approach", J. Chem. Theory Comput. 11, 2087 (2015).

    Examples
    --------
    >>> from skqm7x import TightBindingEnergyTransformer, pack_molecules
    >>> water = (["O", "H", "H"], [[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]])
    >>> xtb = TightBindingEnergyTransformer().fit(pack_molecules([water]))
    >>> xtb.transform(pack_molecules([water])).round(2)  # eV
    array([[-13.99]])
    >>> xtb.get_feature_names_out()
    array(['gfn2_xtb_atomization_energy'], dtype=object)
    """

    _parameter_constraints: dict = {
        "method": [StrOptions(_METHODS)],
        "accuracy": [Interval(Real, 0, None, closed="neither")],
        "max_iterations": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        method="GFN2-xTB",
        accuracy=1.0,
        max_iterations=250,
        n_jobs=None,
        memory=None,
        verbose=0,
    ):
        self.method = method
        self.accuracy = accuracy
        self.max_iterations = max_iterations
        self.n_jobs = n_jobs
        self.memory = memory
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the molecules; the calculation itself has nothing to learn.

        Parameters
        ----------
        X : array-like of shape (n_molecules, 4 * n_atoms_max)
            Packed molecules (see :func:`pack_molecules`).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        self._check_elements(X)
        return self

    def transform(self, X):
        """Compute the tight-binding energy of each molecule.

        Parameters
        ----------
        X : array-like of shape (n_molecules, 4 * n_atoms_max)
            Packed molecules.

        Returns
        -------
        X_new : ndarray of shape (n_molecules, 1)
            Atomization energies in eV.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        Z, R = self._check_elements(X)
        atoms = _atom_table(
            Z,
            R,
            type(self).__name__,
            method=self.method,
            accuracy=self.accuracy,
            max_iterations=self.max_iterations,
            memory=self.memory,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
        )
        molecule = atoms[..., ATOM_QUANTITIES.index("energies")].sum(axis=1)
        free_atoms = _free_atom_energies(
            Z, self.method, self.accuracy, self.max_iterations
        )
        energies = (molecule - free_atoms) * HARTREE_IN_EV
        return energies[:, None]

    def get_feature_names_out(self, input_features=None):
        """Name of the output column, after the method.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against the names seen in :meth:`fit`; otherwise unused.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``["gfn2_xtb_atomization_energy"]`` for the default method.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        name = self.method.lower().replace("-", "_")
        return np.asarray([f"{name}_atomization_energy"], dtype=object)

    def _check_elements(self, X):
        return _check_tight_binding_molecules(X, type(self).__name__, self.method)


def _check_tight_binding_molecules(X, name, method):
    """``Z, R`` of molecules tblite can compute, or an error naming ``name``."""
    Z, R = check_molecules(X, name)
    check_atomic_numbers(Z, name, method, max_z=_MAX_TIGHT_BINDING_Z)
    empty = np.flatnonzero(~(Z > 0).any(axis=1))
    if empty.size:
        raise ValueError(f"{name}: molecule {empty[0]} has no atoms.")
    return Z, R


def _cache_directory(memory, folder, key):
    """The folder of ``memory`` for the results under ``key``, or None."""
    location = cache_location(memory)
    if location is None:
        return None
    return Path(location) / folder / joblib.hash(key)


def _tblite():
    """The installed tblite, part of the cache key: another may compute otherwise."""
    return version("tblite")


def _total_energy(numbers, positions, method, accuracy, max_iterations):
    """Energy (hartree) of a neutral molecule in its lowest spin state."""
    return _single_point(numbers, positions, method, accuracy, max_iterations).get(
        "energy"
    )


def _single_point(
    numbers, positions, method, accuracy, max_iterations, post_processing=()
):
    """tblite's result for a neutral molecule in its lowest spin state.

    ``positions`` in Angstrom. Besides the energy it holds the atoms'
    charges, bond orders and atom-resolved energies, and what
    ``post_processing`` names (``"xtbml"``).
    """
    from tblite.interface import Calculator

    calculator = Calculator(
        method,
        numbers,
        positions * ANGSTROM_IN_BOHR,
        charge=0.0,
        uhf=int(numbers.sum() % 2),
    )
    calculator.set("verbosity", 0)
    calculator.set("accuracy", float(accuracy))
    calculator.set("max-iter", int(max_iterations))
    for name in post_processing:
        calculator.add(name)
    return calculator.singlepoint()


@lru_cache
def _free_atom_energy(z, method, accuracy, max_iterations):
    return _total_energy(
        np.array([z]), np.zeros((1, 3)), method, accuracy, max_iterations
    )


def xtbml_feature_names():
    """The names of the 39 columns of ``tight_binding_atoms(X, ["xtbml"])``.

    tblite's names, in the order of the columns: partitioned energies
    (``E_...``), shell populations and multipoles (``p_s``, ``dipm_p``,
    ``qm_d``, ...), frontier-orbital quantities (``gap``, ``HOAO``, ...),
    and their averages over each atom's neighbours weighted by coordination
    number (``ext_...``).

    Returns
    -------
    names : ndarray of str of shape (39,)
        One name per column.

    Examples
    --------
    >>> from skqm7x.representations import xtbml_feature_names
    >>> names = xtbml_feature_names()
    >>> len(names), names[:4].tolist()
    (39, ['CN_A', 'E_aes', 'E_axc', 'E_disp2'])
    """
    return np.array(_XTBML_FEATURES, dtype=object)


@contextmanager
def _tblite_on_one_thread():
    """Within the block, tblite's OpenMP loops run on one thread."""
    # threadpoolctl limits only the OpenMP runtimes loaded when the block
    # starts: tblite's is loaded first, or the first molecules of a process
    # would run on every core and sum in another order than the rest.
    import tblite.interface  # noqa: F401

    with threadpool_limits(1, user_api="openmp"):
        yield


@contextmanager
def _failure_named(caller, method, index):
    """Turn tblite's failure on molecule ``index`` into a ValueError naming it."""
    from tblite.exceptions import TBLiteRuntimeError

    try:
        yield
    except TBLiteRuntimeError as error:
        remedy = ""
        if "not converged" in str(error):
            remedy = " Raise max_iterations or accuracy."
        raise ValueError(
            f"{caller}: {method} failed on molecule {index}: {error}.{remedy}"
        ) from None


@shared_parameters
@validate_params(
    {
        "X": ["array-like"],
        "quantities": [list, tuple],
        "method": [StrOptions(_METHODS)],
        "accuracy": [Interval(Real, 0, None, closed="neither")],
        "max_iterations": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def tight_binding_atoms(
    X,
    quantities=ATOM_QUANTITIES,
    *,
    method="GFN2-xTB",
    accuracy=1.0,
    max_iterations=250,
    n_jobs=None,
    memory=None,
    verbose=0,
):
    """Partial charge, valence and energy of every atom, by GFN-xTB.

    What a tight-binding calculation knows about the electrons of each atom,
    from the same single point as :class:`TightBindingEnergyTransformer`'s
    energy (the molecule neutral, in its lowest spin state), computed by
    `tblite <https://github.com/tblite/tblite>`_. Each is invariant to
    translation and rotation and follows its atom under permutation, so it
    can extend an atom's environment vector.

    Parameters
    ----------
    X : array-like of shape (n_molecules, 4 * n_atoms_max)
        Packed molecules (see :func:`~skqm7x.pack_molecules`).
    quantities : sequence of str, default=("charges", "valences", "energies")
        What to return of each atom, in this order, any of: ``"charges"``,
        its partial charge (tblite's Mulliken charge, in units of e);
        ``"valences"``, the sum of its Wiberg bond orders; ``"energies"``,
        its share of the molecule's energy (hartree; the shares add up to
        the total energy); ``"xtbml"``, the 39 columns of tblite's xtbml
        post-processing of the same single point, in the order of
        of :func:`xtbml_feature_names` (the atom's partitioned
        energies, shell populations and multipoles,
        frontier-orbital quantities, and their averages over its neighbours
        by coordination number; tblite's own units; the d shells' three
        are zero in a molecule without sulphur, chlorine or heavier atoms).
    method : {"GFN2-xTB", "GFN1-xTB", "IPEA1-xTB"}, default="GFN2-xTB"
        The tight-binding parametrization.
    accuracy : float, default=1.0
        tblite's numerical accuracy; smaller is tighter.
    max_iterations : int, default=250
        Self-consistent-charge iterations allowed per molecule.
    n_jobs : int, default=None
        {n_jobs}
        The jobs compute molecules in processes.
    memory : None, str, path or joblib.Memory, default=None
        {memory}
        Kept here: one file per molecule, shared with
        :class:`TightBindingEnergyTransformer`: with the same ``memory`` and
        settings, the molecules whose energy it computed are read, not
        computed again (and the other way round).
    verbose : int, default=0
        {verbose}
        The bar counts the molecules.

    Returns
    -------
    atoms : ndarray of shape (n_molecules, n_atoms_max, n_columns)
        The quantities of the atom in each slot of ``X``, one column each
        (39 for ``"xtbml"``); padding slots hold zeros.

    Raises
    ------
    ValueError
        Naming the unknown quantity, or the molecule that is empty, has an
        element tblite does not cover, or on which the calculation fails.

    Examples
    --------
    >>> from skqm7x import pack_molecules
    >>> from skqm7x.representations import tight_binding_atoms
    >>> water = (["O", "H", "H"], [[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]])
    >>> atoms = tight_binding_atoms(pack_molecules([water]), ["charges", "valences"])
    >>> atoms[0].round(2)  # O, H, H
    array([[-0.56,  1.84],
           [ 0.28,  0.92],
           [ 0.28,  0.92]])
    >>> tight_binding_atoms(pack_molecules([water]), ["xtbml"]).shape
    (1, 3, 39)
    """
    known = (*ATOM_QUANTITIES, "xtbml")
    unknown = [name for name in quantities if name not in known]
    if unknown or not quantities:
        raise ValueError(
            f"tight_binding_atoms: quantities must be some of "
            f"{list(known)}, got {list(quantities)!r}."
        )
    columns = []
    for name in quantities:
        names = _XTBML_FEATURES if name == "xtbml" else [name]
        columns += [_TABLE_COLUMNS.index(column) for column in names]
    X = check_array(X, dtype=np.float64, input_name="X")
    Z, R = _check_tight_binding_molecules(X, "tight_binding_atoms", method)
    every_quantity = _atom_table(
        Z,
        R,
        "tight_binding_atoms",
        method=method,
        accuracy=accuracy,
        max_iterations=max_iterations,
        memory=memory,
        n_jobs=n_jobs,
        verbose=verbose,
    )
    return every_quantity[..., columns]


def _atom_table(
    Z, R, caller, *, method, accuracy, max_iterations, memory, n_jobs, verbose
):
    """Every atom's ``_TABLE_COLUMNS``, shape ``(n_molecules, n_atoms_max, 42)``.

    One single point per molecule, cached per molecule in one folder for
    both :class:`TightBindingEnergyTransformer` (whose energy is the sum of
    the atoms') and :func:`tight_binding_atoms`: a model that uses both
    computes each molecule once; without a folder, within a block of
    ``sharing_results`` only. ``caller`` names the failing molecule's caller
    in errors.
    """
    # A molecule's rows are as long as the padding and as wide as the
    # columns: both part of the key.
    key = (
        method,
        float(accuracy),
        int(max_iterations),
        _tblite(),
        Z.shape[1],
        _TABLE_COLUMNS,
    )

    def computed():
        return per_molecule_rows(
            _atom_quantities,
            Z,
            R,
            (caller, method, accuracy, max_iterations),
            directory=_cache_directory(memory, "skqm7x-tight-binding-atoms", key),
            n_jobs=n_jobs,
            verbose=verbose,
            desc=method,
        )

    if memory is not None:
        return computed()
    return shared_result(joblib.hash(("tight-binding atoms", key, Z, R)), computed)


def _atom_quantities(Z, R, indices, caller, method, accuracy, max_iterations):
    """``_atom_table`` of a chunk of molecules.

    ``indices`` are the molecules' places in the caller's input, for error
    messages.
    """
    quantities = np.zeros((*Z.shape, len(_TABLE_COLUMNS)))
    # One OpenMP thread: a small molecule gains little from two (2.3 against
    # 2.7 ms on an idle 2-core machine), and with another job on the other
    # core two threads took 24 to 46 ms against 5 to 7 ms for one. n_jobs
    # parallelizes over molecules instead.
    with _tblite_on_one_thread():
        for i, (charges, positions) in enumerate(zip(Z, R, strict=True)):
            atoms = charges > 0
            with _failure_named(caller, method, indices[i]):
                result = _single_point(
                    charges[atoms].astype(int),
                    positions[atoms].astype(float),
                    method,
                    accuracy,
                    max_iterations,
                    # Naming one replaces tblite's default, the bond orders.
                    post_processing=["bond-orders", "xtbml"],
                )
            n_atoms = int(atoms.sum())
            xtbml = result.get("post-processing-dict")
            empty = np.zeros(n_atoms)
            # tblite labels its bond orders (n_atoms, n_atoms, n_spin) but
            # lays them out spin channel after spin channel.
            bond_orders = result.get("bond-orders").reshape(-1, n_atoms, n_atoms)
            quantities[i, atoms] = np.column_stack(
                [
                    result.get("charges"),
                    bond_orders.sum(axis=(0, 2)),
                    result.get("energies"),
                    *(np.ravel(xtbml.get(name, empty)) for name in _XTBML_FEATURES),
                ]
            )
    return quantities


def _free_atom_energies(Z, method, accuracy, max_iterations):
    """The sum of the free atoms' energies (hartree) of each molecule."""
    elements = np.unique(Z[Z > 0]).astype(int)
    with _tblite_on_one_thread():
        energy = {
            z: _free_atom_energy(z, method, accuracy, max_iterations)
            for z in elements.tolist()
        }
    table = np.zeros(int(Z.max()) + 1)
    table[elements] = [energy[z] for z in elements]
    return table[Z.astype(int)].sum(axis=1)
