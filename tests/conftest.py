import os

import pytest

# The tests read the challenge set shipped in the package, never a folder
# outside the repository: a folder given by SKQM7X_DATA is only compared with
# the shipped set (tests/datasets/test_shipped_data.py), and is removed from the
# environment so that no other test, nor a command a test runs, reads it.
REFERENCE_DATA_DIR = os.environ.pop("SKQM7X_DATA", None) or None


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
