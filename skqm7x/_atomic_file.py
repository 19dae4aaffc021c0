"""Files that appear whole or not at all."""

# SPDX-License-Identifier: BSD-3-Clause

import os
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
    >>> import pathlib, tempfile
    >>> from skqm7x._atomic_file import atomic_open
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
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, mode, **open_kwargs) as file:
            yield file
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
