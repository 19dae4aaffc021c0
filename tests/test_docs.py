"""Every public name has a docstring example and a page in the API reference."""

import inspect
from pathlib import Path

import pytest

import skqm7x

API_PAGE = Path(__file__).parents[1] / "docs" / "api.rst"


@pytest.mark.parametrize("name", skqm7x.__all__)
def test_public_name_has_a_docstring_example(name):
    # The examples themselves run under pytest --doctest-modules.
    docstring = inspect.getdoc(getattr(skqm7x, name)) or ""
    assert "\nExamples\n--------\n" in docstring, f"{name} has no Examples section"
    assert ">>> " in docstring, f"{name}'s Examples section has no doctest"


@pytest.mark.parametrize("name", skqm7x.__all__)
def test_public_name_is_in_the_api_reference(name):
    assert name in API_PAGE.read_text().split(), f"{name} is missing from {API_PAGE}"
