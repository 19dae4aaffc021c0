import numpy as np
import pytest

from skqm7x import pack_molecules, unpack_molecules
from skqm7x._molecules import ATOMIC_NUMBERS, VALENCE_ELECTRONS, check_molecules


def test_pack_unpack_round_trip():
    methane = ("CHHHH", np.arange(15.0).reshape(5, 3))
    water = ([8, 1, 1], [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    X = pack_molecules([(list(methane[0]), methane[1]), water])
    assert X.shape == (2, 20)
    Z, R = unpack_molecules(X)
    np.testing.assert_array_equal(Z, [[6, 1, 1, 1, 1], [8, 1, 1, 0, 0]])
    np.testing.assert_array_equal(R[0], methane[1])
    np.testing.assert_array_equal(R[1, :3], water[1])
    np.testing.assert_array_equal(R[1, 3:], 0.0)


def test_pack_pads_to_n_atoms_max():
    X = pack_molecules([(["H", "H"], [[0, 0, 0], [0.74, 0, 0]])], n_atoms_max=5)
    assert X.shape == (1, 20)
    np.testing.assert_array_equal(X.reshape(1, 5, 4)[0, 2:], 0.0)


def test_pack_ase_atoms():
    ase = pytest.importorskip("ase")
    atoms = ase.Atoms("H2O", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    Z, R = unpack_molecules(pack_molecules([atoms]))
    np.testing.assert_array_equal(Z[0], [1, 1, 8])
    np.testing.assert_allclose(R[0], atoms.get_positions())


@pytest.mark.parametrize(
    "molecule, message",
    [
        ((["Xx"], [[0, 0, 0]]), "molecule 0: unknown element symbol 'Xx'"),
        (([0], [[0, 0, 0]]), "molecule 0: atomic numbers must be integers"),
        (([1.5], [[0, 0, 0]]), "molecule 0: atomic numbers must be integers"),
        (([1, 1], [[0, 0, 0]]), r"molecule 0: positions must have shape \(2, 3\)"),
        (([1], [[0, np.nan, 0]]), "molecule 0: positions must be finite"),
        ("CH4", "expected a \\(Z, R\\) pair or an ase.Atoms"),
    ],
)
def test_pack_bad_molecule(molecule, message):
    with pytest.raises((ValueError, TypeError), match=message):
        pack_molecules([molecule])


def test_pack_molecule_larger_than_n_atoms_max():
    molecules = [([1], [[0, 0, 0]]), ([1, 1, 1], np.eye(3))]
    with pytest.raises(ValueError, match="molecule 1 has 3 atoms, more than"):
        pack_molecules(molecules, n_atoms_max=2)


def test_unpack_rejects_bad_width():
    with pytest.raises(ValueError, match="4 \\* n_atoms_max columns"):
        unpack_molecules(np.zeros((2, 7)))


def test_check_molecules_finds_coincident_atoms():
    X = pack_molecules([([1, 1], [[0, 0, 0], [1, 0, 0]]), ([6, 1], [[1, 1, 1]] * 2)])
    with pytest.raises(ValueError, match="atoms 0 and 1 of molecule 1 share"):
        check_molecules(X, "Estimator")


def test_check_molecules_ignores_padding_positions():
    X = pack_molecules([([1, 1], [[0, 0, 0], [1, 0, 0]])], n_atoms_max=4)
    check_molecules(X, "Estimator")  # two padding slots both sit at the origin


@pytest.mark.parametrize(
    "symbol, valence",
    [
        ("H", 1),
        ("He", 2),
        ("C", 4),
        ("N", 5),
        ("O", 6),
        ("F", 7),
        ("S", 6),
        ("Cl", 7),
        ("Br", 7),
        ("Ga", 3),
        ("I", 7),
        ("Pb", 4),
    ],
)
def test_valence_electrons(symbol, valence):
    assert VALENCE_ELECTRONS[ATOMIC_NUMBERS[symbol]] == valence


def test_check_molecules_in_chunks_names_the_absolute_molecule(monkeypatch):
    import skqm7x._molecules as molecules

    monkeypatch.setattr(molecules, "_CHECK_CHUNK", 2)
    water = (["O", "H", "H"], [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    X = pack_molecules([water] * 5)
    Z, R = check_molecules(X, "Estimator")
    assert Z.shape == (5, 3) and R.shape == (5, 3, 3)
    X[3, 4:8] = X[3, 0:4]  # atom 1 of molecule 3 on top of atom 0
    with pytest.raises(ValueError, match="atoms 0 and 1 of molecule 3 share"):
        check_molecules(X, "Estimator")
