"""Refuse, before it starts, work that would not fit in memory."""

# SPDX-License-Identifier: BSD-3-Clause

from pathlib import Path

_GIB = 2**30


def available_memory():
    """Bytes of memory the system can give without swapping, or None if unknown."""
    try:
        import psutil
    except ImportError:
        pass
    else:
        return int(psutil.virtual_memory().available)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_fits_in_memory(n_bytes, what, how_to_reduce):
    """Raise MemoryError, naming the remedy, if ``n_bytes`` exceed what is free.

    ``what`` says what needs the memory (``"LocalKernelRidge.fit on 100000
    molecules (4 kernels of 100000 x 100000)"``); ``how_to_reduce`` which
    parameter lowers it. Nothing is checked where the free memory is unknown.
    """
    available = available_memory()
    if available is not None and n_bytes > available:
        raise MemoryError(
            f"{what} needs about {_size(n_bytes)} of memory, more than the "
            f"{_size(available)} available; {how_to_reduce}."
        )


def _size(n_bytes):
    if n_bytes >= _GIB:
        return f"{n_bytes / _GIB:.1f} GiB"
    return f"{n_bytes / 2**20:.1f} MiB"
