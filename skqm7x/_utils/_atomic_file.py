"""Files that appear whole or not at all."""

# SPDX-License-Identifier: BSD-3-Clause

import errno
import os
import stat
import tempfile
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
    handle, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        # mkstemp creates the file readable by its owner only; give it the mode
        # of the file it replaces, or that of a new file under the umask.
        os.chmod(temporary, _mode_for(path))
        with os.fdopen(handle, mode, **open_kwargs) as file:
            yield file
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _mode_for(path):
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
