"""Feature caches that live exactly as long as the model using them."""

# SPDX-License-Identifier: BSD-3-Clause

import shutil
import tempfile
import weakref


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
