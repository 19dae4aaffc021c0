"""What the per-molecule representations share: chunks, processes, cache, progress."""

# SPDX-License-Identifier: BSD-3-Clause

import hashlib

import numpy as np
from joblib import Parallel, delayed

from skqm7x._utils._cache import rows_with_progress

# Molecules per task: a few milliseconds each, so chunks keep the parallel
# overhead small and the progress bar moving.
_CHUNK = 64


def per_molecule_rows(compute, Z, R, settings, *, directory, n_jobs, verbose, desc):
    """``compute(Z, R, indices, *settings)`` for every molecule.

    In chunks of ``_CHUNK`` molecules over ``n_jobs`` processes, each
    molecule cached in ``directory`` (None: nothing cached), with a progress
    bar over the molecules computed. ``indices`` are the molecules' places in
    ``Z``, for error messages. ``compute`` is a module-level function (it
    travels to the processes) and returns one row per molecule.
    """

    def in_chunks(rows, progress):
        tasks = (
            delayed(compute)(Z[chunk], R[chunk], chunk, *settings)
            for chunk in (
                rows[start : start + _CHUNK] for start in range(0, len(rows), _CHUNK)
            )
        )
        results = []
        for result in Parallel(n_jobs=n_jobs, return_as="generator")(tasks):
            results.append(result)
            progress.update(len(result))
        return np.concatenate(results)

    return rows_with_progress(
        in_chunks,
        len(Z),
        directory,
        lambda: _molecule_keys(Z, R),
        disable=not verbose,
        unit="mol",
        desc=desc,
    )


def _molecule_keys(Z, R):
    """One cache key per molecule: its atoms and positions, padding left out."""
    keys = []
    for charges, positions in zip(Z, R, strict=True):
        present = charges > 0
        digest = hashlib.sha1(np.ascontiguousarray(charges[present], float).tobytes())
        digest.update(np.ascontiguousarray(positions[present], float).tobytes())
        keys.append(digest.hexdigest())
    return keys
