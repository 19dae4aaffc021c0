"""Representative atomic environments: farthest-point sampling per element."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from joblib import Parallel, delayed

from skqm7x.representations import AtomicEnvironments, fchl19_environments

# The fewest representative atoms of an element (or all its atoms, if it has
# fewer): a rare element still gets a few, whatever its share of the atoms.
_MIN_PER_ELEMENT = 20
# Farthest-point sampling runs on the vectors projected onto this many random
# directions: it loops once per chosen point over all the element's atoms,
# and in this size a loop reads a few MB instead of a vector's ~1000 floats
# per atom, and all the atoms of many molecules fit in memory; distances keep
# their order closely (Johnson-Lindenstrauss).
_SAMPLING_DIMENSIONS = 128


def inducing_counts(charges, n_inducing):
    """How many representative atoms each element gets.

    ``n_inducing`` is shared among the elements in proportion to their atoms,
    each getting at least ``_MIN_PER_ELEMENT`` (or all of its atoms).
    """
    elements, counts = np.unique(charges, return_counts=True)
    shares = np.ceil(n_inducing * counts / counts.sum()).astype(int)
    return dict(
        zip(
            elements.tolist(),
            np.minimum(counts, np.maximum(shares, _MIN_PER_ELEMENT)).tolist(),
            strict=True,
        )
    )


def sampling_projection(vectors):
    """``vectors`` projected to ``_SAMPLING_DIMENSIONS`` fixed random directions.

    Shorter vectors are returned as they are. The directions depend only on
    the length of the vectors, so projecting in chunks is projecting at once.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.shape[1] <= _SAMPLING_DIMENSIONS:
        return vectors
    directions = np.random.default_rng(0).normal(
        size=(vectors.shape[1], _SAMPLING_DIMENSIONS)
    )
    return vectors @ directions


def farthest_points(vectors, n_points):
    """Indices of up to ``n_points`` rows of ``vectors``, farthest-point first.

    Starts from the row farthest from the mean, then repeatedly adds the row
    farthest from all those chosen; stops early when every row left
    duplicates a chosen one. Rows longer than ``_SAMPLING_DIMENSIONS`` are
    compared through :func:`sampling_projection`. Deterministic.
    """
    vectors = sampling_projection(vectors)
    squared_norms = np.einsum("ij,ij->i", vectors, vectors)
    centred = vectors - vectors.mean(axis=0)
    chosen = [int(np.argmax(np.einsum("ij,ij->i", centred, centred)))]
    distances = np.full(len(vectors), np.inf)
    for _ in range(min(n_points, len(vectors)) - 1):
        last = vectors[chosen[-1]]
        to_last = squared_norms + squared_norms[chosen[-1]] - 2.0 * (vectors @ last)
        np.minimum(distances, to_last, out=distances)
        farthest = int(np.argmax(distances))
        if distances[farthest] <= 1e-12 * max(squared_norms[farthest], 1.0):
            break
        chosen.append(farthest)
    return np.array(chosen)


def _projected_environments(X, elements, parameters):
    environments = fchl19_environments(X, elements, parameters)
    return sampling_projection(environments.vectors), environments.charges


def select_inducing(X, elements, parameters, n_inducing, chunks, n_jobs=None):
    """Representative atomic environments of the molecules ``X``.

    Farthest-point sampling per element (:func:`farthest_points`), with
    :func:`inducing_counts` atoms of each element. The environments are
    computed a chunk of molecules at a time (``chunks``: slices of ``X``, in
    joblib jobs) and kept only as their projections; the full vectors of the
    chosen atoms are computed again from their molecules.

    Returns
    -------
    inducing : AtomicEnvironments
        One "molecule" per representative atom, the elements in increasing
        order, each element's atoms in the order they were chosen.
    """
    parts = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_projected_environments)(X[rows], elements, parameters)
        for rows in chunks
    )
    projected, charges = (np.concatenate(part) for part in zip(*parts, strict=True))
    atoms = []
    for element, count in inducing_counts(charges, n_inducing).items():
        of_element = np.flatnonzero(charges == element)
        atoms.append(of_element[farthest_points(projected[of_element], count)])
    atoms = np.concatenate(atoms)
    # Which molecule holds each chosen atom, and where among its atoms.
    atom_counts = np.count_nonzero(np.isin(X[:, ::4], elements), axis=1)
    starts = np.concatenate([[0], np.cumsum(atom_counts)])
    owners = np.searchsorted(starts, atoms, side="right") - 1
    molecules, local = np.unique(owners, return_inverse=True)
    environments = fchl19_environments(X[molecules], elements, parameters)
    sub_starts = np.concatenate([[0], np.cumsum(atom_counts[molecules])])
    rows = sub_starts[local] + (atoms - starts[owners])
    return AtomicEnvironments(
        environments.vectors[rows],
        environments.charges[rows],
        np.arange(len(atoms)),
        len(atoms),
    )
