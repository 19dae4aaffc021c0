import os
from pathlib import Path

import pytest

DATA_DIR = Path(
    os.environ.get(
        "SKQM7X_DATA", Path(__file__).parents[2] / "shared" / "data" / "qm7x"
    )
)


@pytest.fixture(scope="session")
def data_dir():
    if not (DATA_DIR / "atoms").is_dir():
        pytest.fail(f"QM7-X challenge data not found at {DATA_DIR}; set SKQM7X_DATA.")
    return DATA_DIR


@pytest.fixture(scope="session")
def qm7x_train(data_dir):
    from skqm7x import load_qm7x

    return load_qm7x(data_dir, "train")


@pytest.fixture(scope="session")
def small_molecules(qm7x_train):
    """Twenty real challenge molecules with their energies (eV)."""
    return qm7x_train.data[:20], qm7x_train.target[:20]


@pytest.fixture
def water():
    from skqm7x import pack_molecules

    positions = [[0.0, 0.0, 0.1173], [0.0, 0.7572, -0.4692], [0.0, -0.7572, -0.4692]]
    return pack_molecules([(["O", "H", "H"], positions)])
