"""Files that appear whole or not at all."""

# SPDX-License-Identifier: BSD-3-Clause

import errno
import os
import secrets
import stat
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_open(path, mode="w", **open_kwargs):
    """Open ``path`` for writing through a temporary file, renamed on success.

    A reader never sees a half-written file, and an error or an interrupt
    leaves ``path`` as it was (and no temporary file behind).

    Examples
    --------
    >>> import os, pathlib, tempfile
    >>> from skqm7x._utils._atomic_file import atomic_open
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_open(path) as file:
    ...     _ = file.write("whole")
    >>> path.read_text()
    'whole'
    >>> try:
    ...     with atomic_open(path) as file:
    ...         _ = file.write("half")
    ...         raise KeyboardInterrupt
    ... except KeyboardInterrupt:
    ...     pass
    >>> path.read_text(), sorted(p.name for p in path.parent.iterdir())
    ('whole', ['out.txt'])

    The file gets the mode of the file it replaces, or, if new, the mode
    that ``open`` would give it under the process's umask.

    >>> os.chmod(path, 0o640)
    >>> with atomic_open(path) as file:
    ...     _ = file.write("again")
    >>> oct(os.stat(path).st_mode & 0o777)
    '0o640'
    """
    # Through a symbolic link, the file it points to is replaced, not the link.
    path = Path(os.path.realpath(path))
    if path.exists() and not path.is_file():
        # A rename would replace a device, a pipe or a folder by a file.
        raise FileExistsError(
            errno.EEXIST, "not a regular file, so not replaced by one", str(path)
        )
    handle, temporary = _create_beside(path, readable="+" in mode)
    try:
        if path.exists():
            os.chmod(temporary, stat.S_IMODE(path.stat().st_mode))
        with os.fdopen(handle, mode, **open_kwargs) as file:
            yield file
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _create_beside(path, readable=False):
    """A new, empty hidden file next to ``path``: ``(descriptor, path)``.

    Created with mode 0o666 for the kernel to apply the umask, as ``open``
    does for a new file (``tempfile.mkstemp`` would make it 0o600, and reading
    the umask means setting it, for every thread of the process).
    """
    while True:
        temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            access = os.O_RDWR if readable else os.O_WRONLY
            flags = access | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue
