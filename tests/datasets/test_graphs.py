"""bonding_graphs: one name per bonding graph, whatever the pose or the order."""

import numpy as np
import pytest

from skqm7x import bonding_graphs, load_qm7x, pack_molecules
from skqm7x.__main__ import main
from tests.helpers import assert_invariant


def test_the_challenge_set_holds_conformers_of_about_1200_compounds():
    train, test = load_qm7x(), load_qm7x(subset="test")
    graphs, test_graphs = bonding_graphs(train.data), bonding_graphs(test.data)
    names, counts = np.unique(graphs, return_counts=True)
    assert len(names) == 1209 and np.median(counts) == 2
    assert np.isin(test_graphs, graphs).sum() == 825


def test_a_name_does_not_depend_on_pose_or_atom_order(small_molecules):
    X, _ = small_molecules

    def as_numbers(X):
        return np.unique(bonding_graphs(X), return_inverse=True)[1].astype(float)

    assert_invariant(as_numbers, X[:20], seeds=(0, 1))


def test_bonds_are_what_the_radii_say():
    # Two hydrogens 0.74 A apart are bonded (2 * 0.31 * 1.25 = 0.775), 0.8 A
    # apart they are not.
    near = pack_molecules([([1, 1], [[0, 0, 0], [0.74, 0, 0]])])
    far = pack_molecules([([1, 1], [[0, 0, 0], [0.8, 0, 0]])])
    assert bonding_graphs(near)[0] != bonding_graphs(far)[0]
    assert bonding_graphs(far, radius_factor=1.5)[0] == bonding_graphs(near)[0]


def test_an_element_without_a_radius_is_named():
    iron = pack_molecules([([26, 1], [[0, 0, 0], [1.6, 0, 0]])])
    with pytest.raises(ValueError, match="no covalent radius for Fe"):
        bonding_graphs(iron)


def test_cv_can_keep_each_compounds_conformers_in_one_fold(capsys):
    command = ["cv", "reference", "--n-molecules", "60", "--folds", "2", "--quiet"]
    assert main([*command, "--group-by-graph"]) == 0
    grouped = capsys.readouterr().out
    n_graphs = len(np.unique(bonding_graphs(load_qm7x().data[:60])))
    assert f"GroupKFold over the {n_graphs} bonding graphs" in grouped
    assert main(command) == 0
    assert "(KFold, shuffle=True" in capsys.readouterr().out
