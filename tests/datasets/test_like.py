import numpy as np
import pytest

from skqm7x import molecules_like, pack_molecules

WATER = ([8, 1, 1], [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
METHANE = ([6, 1, 1, 1, 1], np.eye(5, 3) + np.arange(5)[:, None] * [0, 0, 1.1])
ETHYNE = ([6, 6, 1, 1], [[0, 0, 0], [1.2, 0, 0], [-1.06, 0, 0], [2.26, 0, 0]])
CHLOROMETHANE = (
    [6, 17, 1, 1, 1],
    [
        [0, 0, 0],
        [1.78, 0, 0],
        [-0.36, 1.03, 0],
        [-0.36, -0.5, 0.9],
        [-0.36, -0.5, -0.9],
    ],
)


def test_kind_is_the_element_set_and_the_atom_count():
    reference = pack_molecules([METHANE, WATER])
    X = pack_molecules([WATER, ETHYNE, CHLOROMETHANE, METHANE])
    # Ethyne: elements as methane but 4 atoms, which no reference molecule
    # has; chloromethane: 5 atoms as methane, but chlorine.
    np.testing.assert_array_equal(
        molecules_like(X, reference), [True, False, False, True]
    )


def test_the_two_properties_may_come_from_different_molecules():
    ethane_like = ([6, 6, 1, 1, 1], np.arange(15).reshape(5, 3) * 0.9)
    reference = pack_molecules([ETHYNE, METHANE])  # C,H with 4 and with 5 atoms
    X = pack_molecules([ethane_like, ETHYNE])
    np.testing.assert_array_equal(molecules_like(X, reference), [True, True])


def test_padding_width_does_not_matter():
    X = pack_molecules([WATER], n_atoms_max=8)
    reference = pack_molecules([WATER], n_atoms_max=3)
    np.testing.assert_array_equal(molecules_like(X, reference), [True])


def test_bad_reference_is_named():
    with pytest.raises(ValueError, match=r"molecules_like \(reference\)"):
        molecules_like(pack_molecules([WATER]), np.ones((2, 5)))


def test_challenge_test_like_molecules(qm7x_train, qm7x_test):
    test_like = molecules_like(qm7x_train.data, qm7x_test.data)
    Z = qm7x_train.data.reshape(len(test_like), -1, 4)[:, :, 0]
    # The test set has no chlorine: no chlorine molecule is test-like.
    assert not np.any(test_like & np.any(Z == 17, axis=1))
    assert test_like.sum() == 3775
