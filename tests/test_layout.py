"""The package's layout: families with their own public names, private inside."""

import ast
from pathlib import Path

import skqm7x
from skqm7x import datasets, models, recipes, representations

FAMILIES = {
    "datasets": datasets,
    "representations": representations,
    "models": models,
    "recipes": recipes,
}
PACKAGE = Path(skqm7x.__file__).parent
REPOSITORY = Path(__file__).parents[1]


def test_every_public_name_is_in_one_family_and_at_the_top():
    in_families = [name for family in FAMILIES.values() for name in family.__all__]
    assert len(in_families) == len(set(in_families))
    encoding = {"pack_molecules", "unpack_molecules"}  # the shared _molecules
    assert set(in_families) | encoding == set(skqm7x.__all__)
    for family in FAMILIES.values():
        for name in family.__all__:
            assert getattr(skqm7x, name) is getattr(family, name), name


def test_private_modules_are_imported_only_inside_their_family():
    shared = {"_molecules", "_utils"}
    reached = []
    for path in PACKAGE.rglob("*.py"):
        family = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "skqm7x."
            ):
                parts = node.module.split(".")
                private = any(part.startswith("_") for part in parts[1:])
                if private and parts[1] not in shared and parts[1] != family:
                    reached.append(f"{path.relative_to(PACKAGE)}: {node.module}")
    assert reached == []


def private_uses(source):
    """The private modules and names of skqm7x that a script's source reaches.

    A private one has a part after ``skqm7x`` that starts with ``_``, imported
    (``import skqm7x._x``, ``from skqm7x.y import _z``) or reached as an
    attribute (``skqm7x.y._z``); each is named by its dotted path up to that
    part. Dunders are not private: ``skqm7x.__main__`` holds the command
    line's entry point (``[project.scripts]``).
    """

    def first_private(dotted):
        parts = dotted.split(".")
        if parts[0] != "skqm7x":
            return None
        for i, part in enumerate(parts[1:], start=2):
            if part.startswith("_") and not (
                part.startswith("__") and part.endswith("__")
            ):
                return ".".join(parts[:i])
        return None

    dotted_names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            dotted_names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            dotted_names += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Attribute):
            parts = [node.attr]
            value = node.value
            while isinstance(value, ast.Attribute):
                parts.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name):
                dotted_names.append(".".join([value.id, *reversed(parts)]))
    found = {first_private(dotted) for dotted in dotted_names}
    return sorted(found - {None})


def test_private_uses_finds_imports_and_attributes():
    source = """
import skqm7x
import skqm7x._molecules
from skqm7x.models._blending import BlendingRegressor
from skqm7x.models import _helper
from skqm7x.__main__ import main, _formula
from _common import _private_to_the_benchmarks
skqm7x.models._kernel_ridge.solve(skqm7x.__version__)
"""
    assert private_uses(source) == [
        "skqm7x.__main__._formula",
        "skqm7x._molecules",
        "skqm7x.models._blending",
        "skqm7x.models._helper",
        "skqm7x.models._kernel_ridge",
    ]


def test_benchmarks_and_examples_use_the_public_api_only():
    # Benchmarks and gallery examples are users: what they need is public.
    # The gallery's own helpers (examples/_example_data) and the benchmarks'
    # (benchmarks/_common.py) are theirs, not skqm7x's.
    scripts = [
        path
        for folder in ("benchmarks", "examples")
        for path in sorted((REPOSITORY / folder).rglob("*.py"))
    ]
    assert len(scripts) > 10
    reached = [
        f"{path.relative_to(REPOSITORY)}: {name}"
        for path in scripts
        for name in private_uses(path.read_text())
    ]
    assert reached == []


def test_shared_parameters_are_documented_in_one_wording():
    """n_jobs, verbose, memory and random_state: one meaning, one wording."""
    import inspect

    from skqm7x._utils._docstrings import SHARED_PARAMETERS

    def words(text):
        return " ".join(text.split())

    missing = []
    for name in skqm7x.__all__:
        documented = getattr(skqm7x, name)
        if not callable(documented):
            continue
        if isinstance(documented, type) and issubclass(documented, Exception):
            continue
        parameters = inspect.signature(documented).parameters
        doc = words(documented.__doc__ or "")
        for parameter, text in SHARED_PARAMETERS.items():
            if parameter in parameters and words(text) not in doc:
                missing.append(f"{name}: {parameter}")
    assert missing == []
