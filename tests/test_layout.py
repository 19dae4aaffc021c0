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
