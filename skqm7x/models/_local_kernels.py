"""Local kernels between molecules: Gaussians summed over same-element atom pairs.

What :class:`LocalKernelRidge` and :class:`SparseLocalKernelRidge` share.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from scipy import linalg
from scipy.linalg import blas
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from skqm7x._molecules import unpack_molecules
from skqm7x._utils._docstrings import shared_parameters
from skqm7x.representations import AtomicEnvironments, fchl19_environments

# Atoms of one element per tile of the kernel (whole molecules): a tile's
# squared distances and exponentials (128 x 256 float64, 256 KiB a width)
# stay in a core's cache between the matrix product that makes them and the
# sums that use them, and the matrices that sum them per molecule stay small.
_TILE_ROWS = 256
_TILE_COLUMNS = 128
# Atoms per slice when a set of vectors is read in pieces (their Gram matrix,
# their projection): bounds the copies to a few MiB.
_SLICE = 4096
# The directions kept for an element's vectors leave out less than this share
# of their summed squared norms; see _shared_basis.
_DROPPED_SHARE = 1e-12


def _molecule_chunks(owners, size):
    """``(start, stop)`` ranges of whole molecules, ``size`` atoms or so each.

    ``owners`` is sorted. A range ends where a molecule ends (holding at
    least one whole molecule, whatever its size), so the ranges' sums add to
    disjoint molecules.
    """
    start = 0
    while start < len(owners):
        stop = min(start + size, len(owners))
        if stop < len(owners):
            stop = np.searchsorted(owners, owners[stop], side="left")
            if stop == start:  # one molecule with more atoms than size
                stop = np.searchsorted(owners, owners[start], side="right")
        yield start, stop
        start = stop


def _shared_basis(vector_sets):
    """Orthonormal directions that hold the vectors of the sets, to rounding.

    FCHL19 vectors have about a thousand entries but span a few hundred
    directions (their two- and three-body bins overlap); distances between
    vectors of the span are the same in the basis of its directions, at a
    third of the product's cost. The directions are the eigenvectors of the
    vectors' Gram matrix, the leading ones up to those whose eigenvalues add
    to less than ``_DROPPED_SHARE`` of its trace: what is dropped of any dot
    product is at most ``_DROPPED_SHARE`` times the sum of the squared norms.
    Returns None when nothing would be dropped.
    """
    n_features = vector_sets[0][0].shape[1]
    gram = np.zeros((n_features, n_features), order="F")
    for vectors, atoms in vector_sets:
        for start in range(0, len(atoms), _SLICE):
            part = vectors[atoms[start : start + _SLICE]]
            # The upper triangle of part.T @ part, at half a product's cost.
            gram = blas.dsyrk(1.0, part.T, beta=1.0, c=gram, overwrite_c=1)
    values, directions = linalg.eigh(gram, lower=False)  # ascending
    dropped = np.cumsum(np.clip(values, 0.0, None))
    n_dropped = int(np.searchsorted(dropped, _DROPPED_SHARE * dropped[-1], "right"))
    if n_dropped == 0:
        return None
    return directions[:, n_dropped:]


def _basis_pays(n_left, n_right, n_features):
    """Whether the products of ``n_left`` by ``n_right`` vectors repay a basis.

    Finding the basis (the vectors' Gram matrix, its eigenvectors) and
    projecting the vectors costs about ``3 (n_left + n_right) d^2 + 10 d^3``
    operations for ``d`` features; the products save about ``n_left n_right
    d`` when the span is half the features, as FCHL19's is.
    """
    d = n_features
    return n_left * n_right > 3 * (n_left + n_right) * d + 10 * d * d


def _distance_factors(vectors, atoms, basis):
    """``[x, |x|^2, 1]`` for the rows ``atoms`` of ``vectors``, ``x`` in ``basis``.

    ``basis=None`` keeps the vectors as they are; the squared norms are those
    of the full vectors. With :func:`_right_factors` of another set, one
    matrix product gives the squared distances ``|x|^2 + |y|^2 - 2 x.y``.
    """
    n_columns = vectors.shape[1] if basis is None else basis.shape[1]
    factors = np.empty((len(atoms), n_columns + 2))
    for start in range(0, len(atoms), _SLICE):
        part = vectors[atoms[start : start + _SLICE]]
        rows = slice(start, start + len(part))
        factors[rows, -2] = np.einsum("ij,ij->i", part, part)
        factors[rows, :n_columns] = part if basis is None else part @ basis
    factors[:, -1] = 1.0
    return factors


def _right_factors(factors):
    """``[-2 y, 1, |y|^2]`` from the ``[y, |y|^2, 1]`` of :func:`_distance_factors`."""
    right = np.empty_like(factors)
    np.multiply(factors[:, :-2], -2.0, out=right[:, :-2])  # exact: a power of two
    right[:, -2], right[:, -1] = factors[:, -1], factors[:, -2]
    return right


class _MoleculeSums:
    """A range of whole molecules' atoms, and the matrix that sums over them.

    ``matrix`` has one row of ones and zeros per molecule of the range
    (``molecules``, in order): its product with values of the range's atoms
    sums them per molecule.
    """

    def __init__(self, owners, start, stop):
        self.start, self.stop = start, stop
        owners = owners[start:stop]
        firsts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        self.molecules = owners[firsts]
        counts = np.diff(np.r_[firsts, len(owners)])
        self.matrix = np.zeros((len(firsts), len(owners)))
        rows = np.repeat(np.arange(len(firsts)), counts)
        self.matrix[rows, np.arange(len(owners))] = 1.0


def _tiles(owners, size):
    """:class:`_MoleculeSums` of ranges of about ``size`` atoms, in order."""
    return [
        _MoleculeSums(owners, start, stop)
        for start, stop in _molecule_chunks(owners, size)
    ]


class AtomFactors:
    """The atoms of a set of molecules, element by element, ready for local kernels.

    Build it with :func:`atom_factors`. For each element, ``by_element``
    holds the basis its vectors are written in (None: as they are), their
    :func:`_distance_factors` and the molecule of each atom (sorted).
    """

    def __init__(self, n_molecules, by_element):
        self.n_molecules = n_molecules
        self.by_element = by_element

    @property
    def bases(self):
        return {element: basis for element, (basis, _, _) in self.by_element.items()}


def atom_factors(environments, bases=None):
    """:class:`AtomFactors` of ``environments``.

    ``bases`` (element to basis, from the :class:`AtomFactors` of the set to
    pair with) writes the atoms of each element in that set's basis, and
    leaves out the elements it lacks; None gives each element the basis of
    its own vectors, where it repays its cost (:func:`_basis_pays`, for the
    kernel of the set with itself).
    """
    vectors, charges = environments.vectors, environments.charges
    by_element = {}
    for element in np.unique(charges).tolist():
        atoms = np.flatnonzero(charges == element)
        if bases is not None:
            if element not in bases:
                continue
            basis = bases[element]
        elif _basis_pays(len(atoms), len(atoms), vectors.shape[1]):
            basis = _shared_basis([(vectors, atoms)])
        else:
            basis = None
        by_element[element] = (
            basis,
            _distance_factors(vectors, atoms, basis),
            environments.owners[atoms],
        )
    return AtomFactors(environments.n_molecules, by_element)


@shared_parameters
def local_kernels(left, right, gammas, progress=None, n_jobs=None):
    """Local kernels between two sets of molecules, one per width.

    ``K[k, a, b]`` sums ``exp(-gamma_k |x_I - x_J|^2)`` over the atoms
    ``I`` of molecule ``a`` and ``J`` of molecule ``b`` that are the same
    element. The squared distances, the costly part, are computed once for
    all widths, as ``|x_I|^2 + |x_J|^2 - 2 x_I . x_J`` by one matrix product
    per tile of atom pairs; the sums over each molecule's atoms are two
    small products, by matrices of ones and zeros. Where the sets are large,
    the vectors of an element enter the first product in the basis of the
    directions that ``right``'s vectors of that element span (a few hundred
    of FCHL19's thousand entries): the directions left out hold less than
    ``1e-12`` of those vectors' summed squared norms, and a dot product
    changes by no more than what they hold of its two vectors.

    Parameters
    ----------
    left : AtomicEnvironments
        The atoms of a set of molecules, from
        :func:`~skqm7x.representations.fchl19_environments`.
    right : AtomicEnvironments or None
        The atoms of another set, with the same elements and parameters.
        ``None`` means ``left`` again: the symmetric kernel of a training
        set, each pair of molecules computed once (half the work) and
        mirrored.
    gammas : sequence of float
        Kernel coefficients, ``1 / (2 sigma^2)`` for a Gaussian of width
        ``sigma``.
    progress : tqdm or None, default=None
        Updated with the number of ``left`` atoms done.
    n_jobs : int, default=None
        {n_jobs}
        The jobs compute blocks of ``left`` atoms in threads, each with one
        BLAS thread.

    Returns
    -------
    K : ndarray of shape (len(gammas), left.n_molecules, right.n_molecules)

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x import pack_molecules
    >>> from skqm7x.models import local_kernels
    >>> from skqm7x.representations import fchl19_environments
    >>> water = np.array([[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    >>> X = pack_molecules([(["O", "H", "H"], water), (["H", "H"], water[1:])])
    >>> environments = fchl19_environments(X, elements=[1, 8])
    >>> K = local_kernels(environments, None, [0.5, 0.125])
    >>> K.shape, float(K[0, 0, 1]) == float(K[0, 1, 0])
    ((2, 2, 2), True)
    """
    if right is None:
        return kernels_of(atom_factors(left), None, gammas, progress, n_jobs)
    right = atom_factors(right)
    left = atom_factors(left, bases=right.bases)
    return kernels_of(left, right, gammas, progress, n_jobs)


def kernels_of(left, right, gammas, progress=None, n_jobs=None):
    """:func:`local_kernels` of two :class:`AtomFactors` (``right=None``: left again).

    ``left`` must be written in ``right``'s bases (:func:`atom_factors`).
    """
    symmetric = right is None
    if symmetric:
        right = left
    minus_gammas = -np.asarray(gammas, dtype=np.float64)
    K = np.zeros((len(minus_gammas), left.n_molecules, right.n_molecules))
    # Parallel blocks each take one BLAS thread rather than share the cores'.
    blas_threads = 1 if effective_n_jobs(n_jobs) > 1 else None
    for element, (_, a, a_owners) in left.by_element.items():
        if element not in right.by_element:
            continue
        _, b, b_owners = right.by_element[element]
        b = _right_factors(b)
        columns = _tiles(b_owners, _TILE_COLUMNS)
        with threadpool_limits(blas_threads, user_api="blas"):
            Parallel(n_jobs=n_jobs, require="sharedmem")(
                delayed(_add_block)(
                    K, a, rows, b, columns, minus_gammas, symmetric, progress
                )
                for rows in _tiles(a_owners, _TILE_ROWS)
            )
    if symmetric:
        _mirror_upper_triangle(K)
    return K


def _add_block(K, a, rows, b, columns, minus_gammas, symmetric, progress):
    """Add the pairs of one block of ``left`` atoms to its molecules' rows of ``K``.

    In the symmetric case, only the columns from the block's first molecule on.
    """
    a = a[rows.start : rows.stop]
    if symmetric:
        columns = [tile for tile in columns if tile.molecules[-1] >= rows.molecules[0]]
    size = max(tile.stop - tile.start for tile in columns)
    distances = np.empty((size, len(a)))
    weights = np.empty((len(minus_gammas), size, len(a)))
    for tile in columns:
        n = tile.stop - tile.start
        d, w = distances[:n], weights[:, :n]
        np.matmul(b[tile.start : tile.stop], a.T, out=d)
        for k, minus_gamma in enumerate(minus_gammas):
            np.multiply(d, minus_gamma, out=w[k])
            np.exp(w[k], out=w[k])
        sums = np.matmul(np.matmul(tile.matrix, w), rows.matrix.T)
        _add_to(K, rows.molecules, tile.molecules, sums.transpose(0, 2, 1))
    if progress is not None:
        progress.update(len(a))


def _add_to(K, rows, columns, sums):
    """``K[:, rows][:, :, columns] += sums``, with slices where the indices run on."""
    if rows[-1] - rows[0] + 1 == len(rows) and columns[-1] - columns[0] + 1 == len(
        columns
    ):
        K[:, rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1] += sums
    else:
        K[:, rows[:, None], columns[None, :]] += sums


def _mirror_upper_triangle(K):
    """Copy each kernel's upper triangle onto its lower one, a band at a time.

    The symmetric case computes every pair at or above the diagonal; below
    it, a kernel holds parts of sums, or nothing.
    """
    band = 1024
    for kernel in K:
        for start in range(0, len(kernel), band):
            stop = min(start + band, len(kernel))
            kernel[start:stop, :start] = kernel[:start, start:stop].T
            square = kernel[start:stop, start:stop]
            lower = np.tril_indices(stop - start, -1)
            square[lower] = square.T[lower]


def self_kernels(environments, gammas):
    """``k(x, x)`` of each molecule, one row per width: its atoms against each other."""
    diagonal = np.zeros((len(gammas), environments.n_molecules))
    # The atoms are stored molecule after molecule.
    bounds = np.searchsorted(
        environments.owners, np.arange(environments.n_molecules + 1)
    )
    for molecule, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        x, z = environments.vectors[start:stop], environments.charges[start:stop]
        norms = np.einsum("ij,ij->i", x, x)
        squared = norms[:, None] + norms[None, :] - 2.0 * (x @ x.T)
        pairs = np.maximum(squared[z[:, None] == z[None, :]], 0.0)
        for k, gamma in enumerate(gammas):
            diagonal[k, molecule] = np.sum(np.exp(pairs * -gamma))
    return diagonal


# The ``parameters`` of a model whose atoms are their ``columns`` alone.
COLUMNS_ONLY = "columns only"


def atom_environments(X, elements, parameters, columns):
    """The atoms of ``elements`` in packed molecules, as vectors.

    FCHL19's of ``parameters``, with ``columns`` (one row per atom slot, or
    None) appended as ``atom_columns`` of
    :func:`~skqm7x.representations.fchl19_environments`; or, where
    ``parameters`` is ``COLUMNS_ONLY``, the ``columns`` alone.
    """
    if parameters != COLUMNS_ONLY:
        return fchl19_environments(X, elements, parameters, atom_columns=columns)
    Z, _ = unpack_molecules(X)
    kept = np.isin(Z, [int(element) for element in elements])
    return AtomicEnvironments(
        np.ascontiguousarray(columns[kept], dtype=np.float64),
        Z[kept].astype(int),
        np.nonzero(kept)[0],
        len(Z),
    )


def training_atoms(X, elements, parameters, columns):
    """:class:`AtomFactors` of packed training molecules, in their own bases.

    The atoms are :func:`atom_environments` of the arguments.
    """
    return atom_factors(atom_environments(X, elements, parameters, columns))


def training_kernels(
    X, elements, parameters, columns, gammas, *, atoms, n_jobs, verbose
):
    """The kernels of training molecules with themselves, from their ``atoms``.

    ``atoms`` are :func:`training_atoms` of the other arguments: a cache
    keys the kernels by those (and ``gammas``) alone.
    """
    with _progress_bar(atoms, atoms, verbose) as bar:
        return kernels_of(atoms, None, gammas, bar, n_jobs)


def query_kernels(
    X,
    X_fit,
    elements,
    parameters,
    columns,
    columns_fit,
    gamma,
    *,
    training,
    n_jobs,
    verbose,
):
    """The kernel of queries with training molecules, and the queries' own.

    ``training`` are :func:`training_atoms` of ``X_fit`` and ``columns_fit``:
    a cache keys the result by the other arguments alone. Returns the
    kernel (queries by training molecules) and each query's ``k(x, x)``.
    """
    environments = atom_environments(X, elements, parameters, columns)
    queries = atom_factors(environments, bases=training.bases)
    with _progress_bar(queries, training, verbose) as bar:
        (K,) = kernels_of(queries, training, [gamma], bar, n_jobs)
    return K, self_kernels(environments, [gamma])[0]


def _progress_bar(left, right, verbose):
    """A progress bar over the atoms of ``left`` that have a partner in ``right``."""
    total = sum(
        len(owners)
        for element, (_, _, owners) in left.by_element.items()
        if element in right.by_element
    )
    return tqdm(total=total, desc="local kernel", unit="atom", disable=not verbose)
