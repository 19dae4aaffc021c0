import os

import pytest

# The tests read the challenge set shipped in the package, never a folder
# outside the repository: a folder given by SKQM7X_DATA is only compared with
# the shipped set (tests/datasets/test_shipped_data.py), and is removed from the
# environment so that no other test, nor a command a test runs, reads it.
REFERENCE_DATA_DIR = os.environ.pop("SKQM7X_DATA", None) or None


def pytest_configure(config):
    """Under pytest-xdist, each worker computes on one thread.

    The README runs the tests with ``-n auto``, one worker per core: BLAS,
    OpenMP and torch threads on top of them would put more threads than
    cores to work, and torch's threads wait for work by spinning.
    """
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
        torch.set_num_threads(1)


@pytest.fixture(scope="session")
def qm7x_train():
    from skqm7x import load_qm7x

    return load_qm7x()


@pytest.fixture(scope="session")
def qm7x_test():
    from skqm7x import load_qm7x

    return load_qm7x(subset="test")


@pytest.fixture(scope="session")
def small_molecules(qm7x_train):
    """Twenty real challenge molecules with their energies (eV)."""
    return qm7x_train.data[:20], qm7x_train.target[:20]


@pytest.fixture
def water():
    from skqm7x import pack_molecules

    positions = [[0.0, 0.0, 0.1173], [0.0, 0.7572, -0.4692], [0.0, -0.7572, -0.4692]]
    return pack_molecules([(["O", "H", "H"], positions)])
