"""The benchmarks' own helpers whose results the record rests on.

``FoldStore`` reads back folds that an earlier run kept (the figures of
``montavon-mlp`` are built from them), so what it reads is input: checked,
never trusted. ``_mbd`` computes the many-body dispersion energies of a
screened route.
"""

import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def _load(name):
    # The benchmarks import their helpers by bare name, as scripts do.
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


@pytest.fixture(scope="module")
def common():
    return _load("_common")


@pytest.fixture
def fold(tmp_path, common):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 8)), rng.normal(size=10)
    store = common.FoldStore(tmp_path / "folds")
    held_out = np.array([1, 4, 7])
    args = ({"model": "a"}, X, y, 5, 2)
    store.write(*args, held_out, np.array([0.1, -0.2, 0.3]), 12.5)
    (path,) = (tmp_path / "folds").glob("*/fold-2-of-5.json")
    return store, args, held_out, path


def test_a_kept_fold_reads_back_as_written(fold):
    store, args, held_out, _ = fold
    errors, seconds = store.read(*args, held_out)
    np.testing.assert_array_equal(errors, [0.1, -0.2, 0.3])
    assert seconds == 12.5
    # Another model's parameters, another fold: not found, never another's.
    assert store.read({"model": "b"}, *args[1:], held_out) is None
    assert store.read(*args[:-1], 3, held_out) is None


@pytest.mark.parametrize(
    "change",
    [
        lambda record: record.update(fold=3),
        lambda record: record.update(held_out=[1, 4, 8]),
        lambda record: record.update(errors=[0.1, -0.2]),
        lambda record: record.update(errors=[0.1, None, 0.3]),
        lambda record: record.update(fit_seconds=-1.0),
    ],
)
def test_a_changed_fold_file_is_refused_with_its_name(fold, change):
    store, args, held_out, path = fold
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match=str(path)):
        store.read(*args, held_out)


@pytest.mark.parametrize("content", [b"not json", b"[1, 2]", b"\xff\xfe", b"{}"])
def test_a_file_that_is_no_fold_result_is_refused_with_its_name(fold, content):
    store, args, held_out, path = fold
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"{path}: not"):
        store.read(*args, held_out)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_folder_others_may_write_to_is_refused(fold):
    store, args, held_out, path = fold
    path.parent.chmod(0o777)
    with pytest.raises(PermissionError, match="chmod go-w"):
        store.read(*args, held_out)


def test_mbd_of_two_distant_atoms_is_their_dipole_dispersion():
    # Far apart, neither screening nor damping acts, and the coupled
    # oscillators give -C6_AB / R^6 with the London combination of the two
    # atoms' C6 (Tang's formula from alpha and omega).
    mbd = _load("_mbd")
    alpha, c6, radii = (
        np.array([12.0, 5.4]),
        np.array([46.6, 15.6]),
        np.array([3.59, 3.19]),
    )
    distance = 60.0
    positions = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, distance]])
    omega = 4 / 3 * c6 / alpha**2
    c6_pair = 1.5 * alpha.prod() * omega.prod() / omega.sum()
    energy = mbd.mbd_energy(positions, alpha, c6, radii)
    assert energy == pytest.approx(-c6_pair / distance**6, rel=1e-3)
    # Invariant to moving and turning the pair.
    turned = positions @ np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))[0]
    assert mbd.mbd_energy(turned + 5.0, alpha, c6, radii) == pytest.approx(energy)
