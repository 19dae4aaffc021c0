import sys

import pytest

from skqm7x._utils import _memory


def test_available_memory_is_known_here():
    # Linux tells it in /proc/meminfo, whether psutil is there or not.
    available = _memory.available_memory()
    if sys.platform.startswith("linux"):
        assert available is not None
    assert available is None or available > 2**20


def test_check_names_the_work_and_the_remedy(monkeypatch):
    monkeypatch.setattr(_memory, "available_memory", lambda: 2 * 2**30)
    _memory.check_fits_in_memory(2**30, "a fit", "lower n")
    with pytest.raises(
        MemoryError,
        match=r"^a fit needs about 3\.0 GiB of memory, more than the 2\.0 GiB "
        r"available; lower n\.$",
    ):
        _memory.check_fits_in_memory(3 * 2**30, "a fit", "lower n")
