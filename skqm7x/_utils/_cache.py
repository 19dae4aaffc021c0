"""Feature caches: one file per molecule, temporary caches that live as long
as the model using them, and results shared within one call of a model."""

# SPDX-License-Identifier: BSD-3-Clause

import contextvars
import hashlib
import os
import shutil
import tempfile
import warnings
import weakref
from contextlib import contextmanager
from pathlib import Path

import joblib
import numpy as np
from sklearn.utils.validation import check_memory

from skqm7x._utils._atomic_file import atomic_open


def cache_location(memory):
    """The folder an estimator's ``memory`` parameter names, or None.

    Creates nothing: a folder that cannot be made is found, and warned
    about, when the cache is first written.

    Examples
    --------
    >>> import joblib
    >>> from pathlib import Path
    >>> from skqm7x._utils._cache import cache_location
    >>> cache_location(None), cache_location(Path("kept")), cache_location("kept")
    (None, 'kept', 'kept')
    >>> cache_location(joblib.Memory(None))
    """
    if memory is None:
        return None
    if hasattr(memory, "cache"):
        return getattr(memory, "location", None)
    return os.fspath(memory)


def as_memory(memory):
    """The ``joblib.Memory`` of an estimator's ``memory`` parameter.

    As scikit-learn's ``check_memory``, which also takes a path: ``None``
    caches nothing, a folder caches there. A folder that cannot be made (a
    file in the way, no permission) warns once and caches nothing, as a
    cache that cannot be written does.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skqm7x._utils._cache import as_memory
    >>> as_memory(None).location is None
    True
    >>> folder = Path(tempfile.mkdtemp())
    >>> as_memory(folder).location == str(folder)
    True
    """
    if memory is None or hasattr(memory, "cache"):
        return check_memory(memory)
    location = os.fspath(memory)
    try:
        return check_memory(location)
    except OSError as error:
        _warn_unwritable(Path(location), error)
        return check_memory(None)


def with_cache(build, memory, prefix):
    """``build(memory)``, or with ``memory=None`` a :class:`TemporaryMemory`.

    Searches that cache features (also at predict time) then share one
    temporary folder, which is removed with the model and leaves nothing
    behind.

    Examples
    --------
    >>> import os
    >>> from skqm7x._utils._cache import with_cache
    >>> class Model:
    ...     def __init__(self, memory):
    ...         self.memory = memory
    >>> model = with_cache(Model, None, prefix="skqm7x-doc-")
    >>> directory = model.memory.location
    >>> os.path.isdir(directory)
    True
    >>> del model
    >>> os.path.isdir(directory)
    False
    >>> with_cache(Model, "kept", prefix="skqm7x-doc-").memory
    'kept'
    """
    return build(TemporaryMemory(prefix) if memory is None else memory)


class TemporaryMemory(joblib.Memory):
    """A ``joblib.Memory`` in a temporary folder of its own, removed with it.

    Its copies are itself: ``clone`` and ``deepcopy`` return the same object,
    so a model, its clones and a search's candidates share one folder, which
    goes when the last of them is collected, or at exit. Unpickled, it is the
    same object while that lives in the process; in a worker process that
    the owner started, a plain ``Memory`` on the same folder, which the worker
    never removes; anywhere else (a model saved and loaded later), a new
    temporary folder of its own. So no refit recreates a folder that nobody
    removes.

    Examples
    --------
    >>> import copy, os, pickle
    >>> from skqm7x._utils._cache import TemporaryMemory
    >>> memory = TemporaryMemory("skqm7x-doc-")
    >>> copy.deepcopy(memory) is memory, pickle.loads(pickle.dumps(memory)) is memory
    (True, True)
    >>> folder, saved = memory.location, pickle.dumps(memory)
    >>> del memory
    >>> os.path.isdir(folder)
    False
    >>> loaded = pickle.loads(saved)
    >>> loaded.location != folder and os.path.isdir(loaded.location)
    True
    """

    def __init__(self, prefix="skqm7x-"):
        self.prefix = prefix
        super().__init__(tempfile.mkdtemp(prefix=prefix), verbose=0)
        weakref.finalize(self, shutil.rmtree, self.location, ignore_errors=True)
        _LIVE[self.location] = self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return _reopen, (self.location, self.prefix, os.getpid())


_LIVE = weakref.WeakValueDictionary()


def _reopen(location, prefix, owner):
    live = _LIVE.get(location)
    if live is not None:
        return live
    if os.getppid() == owner and os.path.isdir(location):
        return joblib.Memory(location, verbose=0)
    return TemporaryMemory(prefix)


# The results kept inside `sharing_results`, by key; None outside it.
_SHARED_RESULTS = contextvars.ContextVar("skqm7x_shared_results", default=None)


@contextmanager
def sharing_results():
    """Within the block, :func:`shared_result` computes each key once.

    For one call of a model whose parts need the same costly result: a
    Delta model's tight-binding baseline and its kernel's atomic features
    come from one calculation per molecule, also without a ``memory``
    folder. The results are kept in memory until the outermost block ends.

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x._utils._cache import shared_result, sharing_results
    >>> calls = []
    >>> def compute():
    ...     calls.append(1)
    ...     return np.ones(2)
    >>> with sharing_results():
    ...     first = shared_result("ones", compute)
    ...     second = shared_result("ones", compute)
    >>> third = shared_result("ones", compute)  # outside: computed again
    >>> len(calls), first is second
    (2, False)
    """
    if _SHARED_RESULTS.get() is not None:
        yield
        return
    token = _SHARED_RESULTS.set({})
    try:
        yield
    finally:
        _SHARED_RESULTS.reset(token)


def shared_result(key, compute):
    """``compute()``, or inside :func:`sharing_results` the array kept under ``key``.

    Each call gets its own copy, which it may change.
    """
    shared = _SHARED_RESULTS.get()
    if shared is None:
        return compute()
    if key not in shared:
        shared[key] = compute()
    return shared[key].copy()


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
    >>> from skqm7x._utils._cache import cached_rows
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
            _save(paths[index], row)
            computed[keys[index]] = row
    rows = None
    for index, key in enumerate(keys):
        row = computed[key] if key in computed else np.load(paths[index])
        if rows is None:
            rows = np.empty((len(keys), *row.shape), dtype=row.dtype)
        rows[index] = row
    _save(whole, rows)
    return rows


def rows_with_progress(compute, n_rows, directory, keys, **bar):
    """``compute(rows, progress)`` of every row, cached per row in ``directory``.

    ``directory=None`` computes every row; otherwise :func:`cached_rows`
    computes only the rows missing from the cache, under ``keys()`` (called
    only then). The progress bar (``tqdm(**bar)``) runs over the rows
    computed, and opens only when there are some: a search reads the same
    folds from the cache for every candidate.

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x._utils._cache import rows_with_progress
    >>> def squares(rows, progress):
    ...     progress.update(len(rows))
    ...     return (rows**2)[:, None]
    >>> rows_with_progress(squares, 3, None, keys=None, disable=True).ravel().tolist()
    [0, 1, 4]
    """
    from tqdm.auto import tqdm

    bars = []

    def open_bar(total):
        bars.append(tqdm(total=total, **bar))

    try:
        if directory is None:
            open_bar(n_rows)
            return compute(np.arange(n_rows), bars[0])
        return cached_rows(
            lambda rows: compute(rows, bars[0]), keys(), directory, on_missing=open_bar
        )
    finally:
        for opened in bars:
            opened.close()


# Folders where a write failed (a full disk, no permission): each warns once,
# and later calls compute without trying to write there again.
_UNWRITABLE = set()


def _save(path, array):
    folder = path.parent
    if folder in _UNWRITABLE:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_open(path, "wb") as file:
            np.save(file, array)
    except OSError as error:
        _warn_unwritable(folder, error)


def _warn_unwritable(folder, error):
    if folder in _UNWRITABLE:
        return
    _UNWRITABLE.add(folder)
    warnings.warn(
        f"Cannot write the cache in {folder} ({error.strerror or error}); "
        "going on without caching there.",
        RuntimeWarning,
        stacklevel=4,
    )
