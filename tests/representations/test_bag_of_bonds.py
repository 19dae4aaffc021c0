import numpy as np
import pytest

from skqm7x import BagOfBondsTransformer, pack_molecules, unpack_molecules
from tests.helpers import assert_invariant


def bob_python(Z, R, elements, exponent=1.0):
    """Bags of one molecule as a dict {bag: sorted terms}, straight from the formula."""
    bags = {}
    for i, a in enumerate(elements):
        bags[(a,)] = [0.5 * a**2.4] * sum(1 for z in Z if z == a)
        for b in elements[i:]:
            terms = []
            for p in range(len(Z)):
                for q in range(p + 1, len(Z)):
                    if sorted((Z[p], Z[q])) == [a, b]:
                        distance = np.linalg.norm(np.subtract(R[p], R[q]))
                        terms.append(a * b / distance**exponent)
            bags[(a, b)] = sorted(terms, reverse=True)
    return bags


def test_matches_python_reference_on_water(water):
    bob = BagOfBondsTransformer().fit(water)
    Z, R = unpack_molecules(water)
    expected = bob_python(Z[0].tolist(), R[0], [1.0, 8.0])
    out = bob.transform(water)[0]
    start = 0
    for bag, size in zip(bob.bags_, bob.bag_sizes_, strict=True):
        np.testing.assert_allclose(out[start : start + size], expected[bag])
        start += size
    assert start == out.size


@pytest.mark.parametrize("exponent", [1.0, 3.0])
def test_matches_python_reference_on_real_molecules(qm7x_train, exponent):
    X = qm7x_train.data[:15]
    bob = BagOfBondsTransformer(exponent=exponent).fit(X)
    out = bob.transform(X)
    Z, R = unpack_molecules(X)
    elements = bob.elements_.tolist()
    for i in range(len(X)):
        present = Z[i] > 0
        expected = bob_python(Z[i][present].tolist(), R[i][present], elements, exponent)
        start = 0
        for bag, size in zip(bob.bags_, bob.bag_sizes_, strict=True):
            padded = np.zeros(size)
            padded[: len(expected[bag])] = expected[bag]
            np.testing.assert_allclose(out[i, start : start + size], padded)
            start += size


def test_bag_sizes_are_the_largest_training_counts(qm7x_train):
    X = qm7x_train.data[:50]
    bob = BagOfBondsTransformer().fit(X)
    Z, _ = unpack_molecules(X)
    n_h = (Z == 1).sum(axis=1)
    n_c = (Z == 6).sum(axis=1)
    sizes = dict(zip(bob.bags_, bob.bag_sizes_, strict=True))
    assert sizes[(1.0,)] == n_h.max()
    assert sizes[(1.0, 1.0)] == (n_h * (n_h - 1) // 2).max()
    assert sizes[(1.0, 6.0)] == (n_h * n_c).max()


def test_invariant_to_rotation_translation_and_atom_order(qm7x_train):
    X = qm7x_train.data[:20]
    bob = BagOfBondsTransformer().fit(X)
    assert_invariant(bob.transform, X, rtol=1e-10, atol=1e-10)


def test_larger_molecule_keeps_its_largest_terms():
    small = pack_molecules([(["C", "H"], [[0, 0, 0], [1.1, 0, 0]])], n_atoms_max=3)
    large = pack_molecules([(["C", "H", "H"], [[0, 0, 0], [1.0, 0, 0], [0, 2.0, 0]])])
    bob = BagOfBondsTransformer().fit(small)
    names = bob.get_feature_names_out().tolist()
    out = dict(zip(names, bob.transform(large)[0], strict=True))
    # One C-H term was learned: the closer hydrogen (1 Angstrom) wins.
    assert out["HC_0"] == pytest.approx(6.0)
    assert out["H_0"] == pytest.approx(0.5)


def test_unknown_element(qm7x_train):
    water = pack_molecules(
        [(["O", "H", "H"], [[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]])]
    )
    methane = pack_molecules([(["C", "H"], [[0, 0, 0], [1.09, 0, 0]])], n_atoms_max=3)
    with pytest.raises(ValueError, match="Z=6"):
        BagOfBondsTransformer().fit(water).transform(methane)
    ignored = BagOfBondsTransformer(handle_unknown="ignore").fit(water)
    out = dict(
        zip(ignored.get_feature_names_out(), ignored.transform(methane)[0], strict=True)
    )
    # Only the hydrogen is left: one diagonal term, no pairs.
    assert out == {"H_0": 0.5, "H_1": 0, "O_0": 0, "HH_0": 0, "HO_0": 0, "HO_1": 0}


def test_fixed_elements_give_bags_to_absent_ones(water):
    bob = BagOfBondsTransformer(elements=[8, 1, 6]).fit(water)
    np.testing.assert_array_equal(bob.elements_, [1.0, 6.0, 8.0])
    assert (6.0,) in bob.bags_ and (1.0, 6.0) in bob.bags_
    assert bob.transform(water).shape[1] == bob.bag_sizes_.sum()


def test_float32_is_preserved(qm7x_train):
    X = qm7x_train.data[:10]
    out32 = BagOfBondsTransformer().fit_transform(X.astype(np.float32))
    assert out32.dtype == np.float32
    out64 = BagOfBondsTransformer().fit_transform(X)
    np.testing.assert_allclose(out32, out64, rtol=1e-5)
