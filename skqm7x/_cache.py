"""Feature caches: one file per molecule, and temporary caches that live as
long as the model using them."""

# SPDX-License-Identifier: BSD-3-Clause

import hashlib
import shutil
import tempfile
import weakref
from pathlib import Path

import numpy as np

from skqm7x._atomic_file import atomic_open


def with_cache(build, memory, prefix):
    """``build(memory)``, or with ``memory=None`` a temporary cache directory.

    The temporary directory is removed when the returned object is garbage
    collected, so searches that cache features (also at predict time) leave
    nothing behind.

    Examples
    --------
    >>> import os
    >>> from skqm7x._cache import with_cache
    >>> class Model:
    ...     def __init__(self, memory):
    ...         self.memory = memory
    >>> model = with_cache(Model, None, prefix="skqm7x-doc-")
    >>> directory = model.memory
    >>> os.path.isdir(directory)
    True
    >>> del model
    >>> os.path.isdir(directory)
    False
    >>> with_cache(Model, "kept", prefix="skqm7x-doc-").memory
    'kept'
    """
    if memory is not None:
        return build(memory)
    directory = tempfile.mkdtemp(prefix=prefix)
    model = build(directory)
    weakref.finalize(model, shutil.rmtree, directory, ignore_errors=True)
    return model


def cached_rows(compute, keys, directory, *, chunk_size=256, on_missing=None):
    """Rows of ``compute(indices)``, each kept in ``directory`` under its key.

    Only the rows whose key has no file yet are computed, each distinct key
    once, ``chunk_size`` rows per call; so a row is reused by any later call
    that holds the same key, whatever the other rows (another fold, another
    split). Each chunk is saved as soon as it is computed, and files are
    written whole or not at all: an interrupted run keeps its finished chunks
    and never leaves a truncated row behind. The assembled rows are kept too,
    under the digest of all the keys, so that the same call again (every
    candidate of a search transforms the same folds) reads one file.

    Parameters
    ----------
    compute : callable
        ``compute(indices)`` returns an array whose first axis runs over
        ``indices`` (an int array into ``keys``).
    keys : sequence of str
        One key per row, usable as a file name; equal keys mean equal rows.
    directory : str or path
        Created if missing.
    chunk_size : int, default=256
        Most rows per call of ``compute``.
    on_missing : callable or None, default=None
        Called once, with the number of rows to compute, before the first
        call of ``compute`` (not at all when every row is in the cache): to
        open a progress bar over the work there is.

    Returns
    -------
    rows : ndarray of shape (len(keys), ...)
        The rows in the order of ``keys``.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from skqm7x._cache import cached_rows
    >>> calls = []
    >>> def squares(indices):
    ...     calls.append(indices.tolist())
    ...     return np.asarray(values)[indices, None] ** 2
    >>> directory = tempfile.mkdtemp()
    >>> values = [1.0, 2.0, 1.0]
    >>> cached_rows(squares, ["one", "two", "one"], directory).ravel().tolist()
    [1.0, 4.0, 1.0]
    >>> values = [2.0, 3.0]
    >>> cached_rows(squares, ["two", "three"], directory).ravel().tolist()
    [4.0, 9.0]
    >>> calls
    [[0, 1], [1]]
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    whole = directory / f"rows-{hashlib.sha1(' '.join(keys).encode()).hexdigest()}.npy"
    if whole.exists():
        return np.load(whole)
    paths = [directory / f"{key}.npy" for key in keys]
    first = {}
    for index, key in enumerate(keys):
        first.setdefault(key, index)
    missing = np.asarray(
        [index for index in first.values() if not paths[index].exists()], dtype=int
    )
    if len(missing) and on_missing is not None:
        on_missing(len(missing))
    computed = {}
    for start in range(0, len(missing), chunk_size):
        chunk = missing[start : start + chunk_size]
        for index, row in zip(chunk, compute(chunk), strict=True):
            with atomic_open(paths[index], "wb") as file:
                np.save(file, row)
            computed[keys[index]] = row
    rows = None
    for index, key in enumerate(keys):
        row = computed[key] if key in computed else np.load(paths[index])
        if rows is None:
            rows = np.empty((len(keys), *row.shape), dtype=row.dtype)
        rows[index] = row
    with atomic_open(whole, "wb") as file:
        np.save(file, rows)
    return rows
