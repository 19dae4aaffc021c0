"""Names the docstring examples use (pytest --doctest-modules)."""

import pytest

from tests.conftest import DATA_DIR


@pytest.fixture(autouse=True)
def _doctest_data_dir(doctest_namespace):
    doctest_namespace["QM7X_DIR"] = DATA_DIR
