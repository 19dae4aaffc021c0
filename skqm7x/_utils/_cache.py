"""Feature caches: one file per molecule, temporary caches that live as long
as the model using them, and results shared within one call of a model."""

# SPDX-License-Identifier: BSD-3-Clause

import contextvars
import hashlib
import io
import os
import secrets
import shutil
import stat
import tempfile
import warnings
import weakref
from contextlib import contextmanager
from pathlib import Path

import joblib
import numpy as np
from joblib import numpy_pickle
from joblib._store_backends import FileSystemStoreBackend
from sklearn.utils.validation import check_memory


def cache_location(memory):
    """The folder an estimator's ``memory`` parameter names, checked, or None.

    The folder must be private (:func:`check_private_folder`). Creates
    nothing: a folder that cannot be made is found, and warned about, when
    the cache is first written.

    Examples
    --------
    >>> import joblib, tempfile
    >>> from pathlib import Path
    >>> from skqm7x._utils._cache import cache_location
    >>> folder = tempfile.mkdtemp()
    >>> cache_location(None), cache_location(Path(folder)) == folder
    (None, True)
    >>> cache_location(joblib.Memory(None))
    """
    if memory is None:
        return None
    location = getattr(memory, "location", None) if hasattr(memory, "cache") else memory
    if location is None:
        return None
    location = os.fspath(location)
    check_private_folder(location)
    return location


def check_private_folder(folder):
    """Refuse a cache folder that someone other than its owner could write.

    What a cache holds is read back as the model's own work: joblib's
    pickles, which run code when loaded, and arrays that set every
    prediction. So, as ssh does for its keys, the folder must be owned by
    this process's user and writable by no one else, and nothing in it may
    be a symbolic link or belong to another user; where group or others may
    enter the folder, the same holds for every folder and file in it. A
    folder that does not exist yet passes (the cache creates it, private).
    Each folder is checked once per process.

    Raises
    ------
    PermissionError
        In one line: which path, and why.
    """
    folder = os.path.realpath(folder)
    if folder in _PRIVATE:
        return
    try:
        top = os.lstat(folder)
    except FileNotFoundError:
        return
    except OSError:
        return  # found, and warned about, when the cache is written
    if not stat.S_ISDIR(top.st_mode):
        return  # a file in the way: warned about when the cache is written
    _check_owned(folder, top, "cache folder")
    if top.st_mode & 0o022:
        raise PermissionError(
            f"cache folder {folder} is writable by group or others (mode "
            f"{stat.S_IMODE(top.st_mode):#o}): only its owner may write where "
            f"skqm7x reads back its work (chmod go-w {folder}, or give a "
            "private folder)"
        )
    closed = not top.st_mode & 0o077
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = os.path.join(root, name)
            entry = os.lstat(path)
            if stat.S_ISLNK(entry.st_mode):
                raise PermissionError(
                    f"cache folder {folder} holds a symbolic link, {path}: a "
                    "cache never follows one (remove it, or give another folder)"
                )
            _check_owned(path, entry, "the cache holds")
            if not closed and entry.st_mode & 0o022:
                raise PermissionError(
                    f"cache folder {folder} holds {path}, writable by group or "
                    f"others (mode {stat.S_IMODE(entry.st_mode):#o}) in a folder "
                    f"they may enter (chmod -R go-w {folder}, or chmod 700 "
                    f"{folder})"
                )
    _PRIVATE.add(folder)


def _check_owned(path, status, what):
    if status.st_uid != os.geteuid():
        raise PermissionError(
            f"{what} {path} belongs to user {status.st_uid}, not to this "
            f"process's user ({os.geteuid()}): skqm7x reads back only its "
            "user's own cache"
        )


# Folders found private in this process.
_PRIVATE = set()


def as_memory(memory):
    """The ``joblib.Memory`` of an estimator's ``memory`` parameter.

    As scikit-learn's ``check_memory``, which also takes a path: ``None``
    caches nothing, a folder caches there. The folder must be private
    (:func:`check_private_folder`); a missing one is made, readable by its
    owner alone. A folder that cannot be made (a file in the way, no
    permission) warns once and caches nothing, as a cache that cannot be
    written does.

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
    if memory is None:
        return check_memory(memory)
    location = cache_location(memory)
    if hasattr(memory, "cache"):
        return memory
    try:
        _make_folders(location)
    except OSError as error:
        _warn_unwritable(Path(location), error)
        return check_memory(None)
    # Checked again now that it exists: a failed write then warns once for it.
    check_private_folder(location)
    return joblib.Memory(location, verbose=0, backend=_STORE)


class _GuardedStore(FileSystemStoreBackend):
    """joblib's file store, checked: failed writes and changed results.

    joblib warns about a result it cannot save, but not about the code of
    the cached function, which it writes first: a full disk then failed the
    whole run and left joblib's temporary files behind. Here every write
    that fails removes its temporary file, warns once for the cache folder,
    and the run goes on computing. Each result is saved with the SHA-256
    digest of its file beside it; a result whose file does not match (or
    has no digest) is not unpickled, and joblib computes it again.
    """

    def dump_item(self, call_id, item, verbose=1):
        super().dump_item(call_id, item, verbose=verbose)
        output = Path(self.location, *call_id, "output.pkl")
        try:
            digest = _file_digest(output)
        except OSError:
            return  # not saved: warned
        self._concurrency_safe_write(
            digest, str(output.with_suffix(".sha256")), _write_text
        )

    def load_item(self, call_id, verbose=1, timestamp=None, metadata=None):
        output = Path(self.location, *call_id, "output.pkl")
        try:
            expected = output.with_suffix(".sha256").read_text()
        except OSError:
            expected = None
        # Read twice (digest, then load) rather than held whole in memory: a
        # cached kernel takes hundreds of MB, and only its owner may write
        # the folder between the two.
        if expected != _file_digest(output):
            raise KeyError(f"{output} does not match its digest; computed again")
        return numpy_pickle.load(str(output))

    def _concurrency_safe_write(self, to_write, filename, write_func):
        try:
            super()._concurrency_safe_write(to_write, filename, write_func)
        except OSError as error:
            # joblib names its temporary files after the file, then a suffix.
            for leftover in Path(filename).parent.glob(Path(filename).name + ".*"):
                _remove(leftover)
            _warn_unwritable(Path(self.location), error)

    def create_location(self, location):
        try:
            super().create_location(location)
        except OSError as error:
            _warn_unwritable(Path(self.location), error)

    @staticmethod
    def _open_item(path, mode):
        # joblib writes only new files (a unique temporary name, then a
        # rename): one that exists, or a link, is not written through.
        if "w" in mode:
            return _new_file(path, mode)
        no_follow = getattr(os, "O_NOFOLLOW", 0)
        return os.fdopen(os.open(path, os.O_RDONLY | no_follow), mode)


def _file_digest(path):
    """The SHA-256 digest of a file, in hexadecimal, read a MiB at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_text(text, path):
    with open(path, "w", encoding="ascii") as file:
        file.write(text)


_STORE = "skqm7x-guarded"
joblib.register_store_backend(_STORE, _GuardedStore)


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
        super().__init__(tempfile.mkdtemp(prefix=prefix), verbose=0, backend=_STORE)
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
    and never leaves a truncated row behind. Each file ends with the SHA-256
    digest of what precedes it: a file that does not match its digest, or
    is no array, is computed again and replaced. The assembled rows are kept too,
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
    rows = _load(whole)
    if rows is not None and len(rows) == len(keys):
        return rows
    paths = [directory / f"{key}.npy" for key in keys]
    places = {}
    for index, key in enumerate(keys):
        places.setdefault(key, []).append(index)
    # Each row goes into the result as soon as it is read or computed, so
    # that no second copy of all the rows is ever held.
    rows = None

    def place(key, row):
        nonlocal rows
        if rows is None:
            rows = np.empty((len(keys), *row.shape), dtype=row.dtype)
        rows[places[key]] = row

    missing = []
    for key, indices in places.items():
        row = _load(paths[indices[0]])
        if row is None:
            missing.append(indices[0])
        else:
            place(key, row)
    missing = np.asarray(missing, dtype=int)
    if len(missing) and on_missing is not None:
        on_missing(len(missing))
    for start in range(0, len(missing), chunk_size):
        chunk = missing[start : start + chunk_size]
        for index, row in zip(chunk, compute(chunk), strict=True):
            _save(paths[index], row)
            place(keys[index], row)
    if rows is None:
        return np.empty((0,))
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
    """Write ``array`` and its digest at ``path``, whole or not at all.

    The file is made beside ``path`` (never through a symbolic link), for its
    owner alone, then renamed over it; the folders missing on the way are
    made for the owner alone too. The array goes to the file in numpy's
    chunks, digested on the way: no copy of it is made.
    """
    folder = path.parent
    if folder in _UNWRITABLE:
        return
    temporary = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        _make_folders(folder)
        with _new_file(temporary) as file:
            digesting = _DigestingWriter(file)
            np.save(digesting, array, allow_pickle=False)
            file.write(digesting.digest.digest())
        os.replace(temporary, path)
    except OSError as error:
        _remove(temporary)
        _warn_unwritable(folder, error)
    except BaseException:
        _remove(temporary)
        raise


class _DigestingWriter:
    """A binary file's ``write`` that also feeds a SHA-256 digest."""

    def __init__(self, file):
        self.file = file
        self.digest = hashlib.sha256()

    def write(self, data):
        self.digest.update(data)
        return self.file.write(data)


def _remove(path):
    """Remove ``path`` if it is there (and its folder is one)."""
    try:
        path.unlink()
    except OSError:
        pass


def _new_file(path, mode="wb"):
    """A new file at ``path`` for its owner alone, opened to write.

    Never an existing file, and never through a symbolic link.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return os.fdopen(os.open(path, flags, 0o600), mode)


def _load(path):
    """The array :func:`_save` wrote at ``path``, or None if missing or damaged.

    The file is read once into the memory the array then uses: no copy.
    """
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(handle, "rb") as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode) or status.st_size <= _DIGEST_SIZE:
            return None
        data = bytearray(status.st_size)
        if file.readinto(data) != len(data) or file.read(1):
            return None
    view = memoryview(data)
    payload, digest = view[:-_DIGEST_SIZE], view[-_DIGEST_SIZE:]
    if hashlib.sha256(payload).digest() != digest:
        return None
    return _array_in(data, len(payload))


def _array_in(data, size):
    """The array of the ``.npy`` bytes ``data[:size]``, without copying them."""
    header = io.BytesIO(bytes(data[: min(size, _MAX_HEADER)]))
    try:
        version = np.lib.format.read_magic(header)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(header)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(header)
        else:  # version 3 only names structured fields in UTF-8: never written
            return None
    except (ValueError, EOFError):
        return None
    count = int(np.prod(shape, dtype=np.int64))
    offset = header.tell()
    if dtype.hasobject or offset + count * dtype.itemsize != size:
        return None
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return flat.reshape(shape, order="F" if fortran else "C")


# np.save writes version 1.0 headers (at most 65535 bytes) unless a larger
# one is needed, which no row of this cache is.
_MAX_HEADER = 2**16 + 16


_DIGEST_SIZE = hashlib.sha256().digest_size


def _make_folders(folder):
    """Make ``folder`` and its missing parents, each for its owner alone."""
    missing = []
    folder = Path(folder)
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        new.mkdir(mode=0o700, exist_ok=True)


def _warn_unwritable(folder, error):
    """Skip ``folder`` from now on; warn once for the cache that holds it."""
    if folder in _UNWRITABLE:
        return
    _UNWRITABLE.add(folder)
    path = os.path.realpath(folder)
    root = next(
        (root for root in _PRIVATE if path == root or path.startswith(root + os.sep)),
        path,
    )
    if root in _WARNED:
        return
    _WARNED.add(root)
    warnings.warn(
        f"Cannot write the cache in {folder} ({error.strerror or error}); "
        "going on without caching there.",
        RuntimeWarning,
        stacklevel=4,
    )


# The caches already warned about, by their folder.
_WARNED = set()
