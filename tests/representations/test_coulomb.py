import numpy as np
import pytest

from skqm7x import CoulombMatrixTransformer, pack_molecules


def coulomb_reference(Z, R):
    """Rupp et al.'s definition, one entry at a time."""
    n = len(Z)
    C = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            if i == j:
                C[i, j] = 0.5 * Z[i] ** 2.4
            else:
                C[i, j] = Z[i] * Z[j] / np.sqrt(np.sum((R[i] - R[j]) ** 2))
    return C


WATER_Z = np.array([8, 1, 1])
WATER_R = np.array(
    [[0.0, 0.0, 0.1173], [0.0, 0.7572, -0.4692], [0.0, -0.7572, -0.4692]]
)
# Atoms listed out of row-norm order, so that sorting has work to do.
FORMALDEHYDE_Z = np.array([1, 6, 1, 8])
FORMALDEHYDE_R = np.array(
    [[0.94, 0.0, -0.59], [0.0, 0.0, 0.0], [-0.94, 0.0, -0.59], [0.0, 0.0, 1.21]]
)


def test_matches_reference_unsorted():
    X = pack_molecules([(FORMALDEHYDE_Z, FORMALDEHYDE_R)], n_atoms_max=6)
    C = CoulombMatrixTransformer(sorting="none").fit_transform(X).reshape(6, 6)
    np.testing.assert_allclose(
        C[:4, :4], coulomb_reference(FORMALDEHYDE_Z, FORMALDEHYDE_R)
    )
    np.testing.assert_array_equal(C[4:], 0.0)
    np.testing.assert_array_equal(C[:, 4:], 0.0)


def test_water_by_hand():
    X = pack_molecules([(WATER_Z, WATER_R)])
    C = CoulombMatrixTransformer().fit_transform(X).reshape(3, 3)
    distance_oh = np.linalg.norm(WATER_R[0] - WATER_R[1])
    assert C[0, 0] == pytest.approx(0.5 * 8**2.4)
    assert C[1, 1] == pytest.approx(0.5)
    assert C[0, 1] == pytest.approx(8 / distance_oh)
    assert C[1, 2] == pytest.approx(1 / (2 * 0.7572))


def test_row_norm_sorting():
    X = pack_molecules([(FORMALDEHYDE_Z, FORMALDEHYDE_R)], n_atoms_max=6)
    C = CoulombMatrixTransformer().fit_transform(X).reshape(6, 6)
    reference = coulomb_reference(FORMALDEHYDE_Z, FORMALDEHYDE_R)
    order = np.argsort(-np.linalg.norm(reference, axis=1), kind="stable")
    np.testing.assert_allclose(C[:4, :4], reference[np.ix_(order, order)])
    norms = np.linalg.norm(C, axis=1)
    assert np.all(np.diff(norms) <= 0)
    np.testing.assert_allclose(np.diag(C)[:2], [0.5 * 8**2.4, 0.5 * 6**2.4])


def test_eigenspectrum():
    X = pack_molecules([(FORMALDEHYDE_Z, FORMALDEHYDE_R)], n_atoms_max=6)
    spectrum = CoulombMatrixTransformer(sorting="eigenspectrum").fit_transform(X)[0]
    expected = np.linalg.eigvalsh(coulomb_reference(FORMALDEHYDE_Z, FORMALDEHYDE_R))
    expected = expected[np.argsort(-np.abs(expected))]
    np.testing.assert_allclose(spectrum[:4], expected)
    np.testing.assert_array_equal(spectrum[4:], 0.0)


def test_upper_triangle():
    X = pack_molecules([(FORMALDEHYDE_Z, FORMALDEHYDE_R)])
    full = CoulombMatrixTransformer().fit_transform(X).reshape(4, 4)
    triangle = CoulombMatrixTransformer(upper_triangle=True).fit(X)
    np.testing.assert_allclose(triangle.transform(X)[0], full[np.triu_indices(4)])
    assert triangle.get_feature_names_out()[:5].tolist() == [
        "coulomb_0_0",
        "coulomb_0_1",
        "coulomb_0_2",
        "coulomb_0_3",
        "coulomb_1_1",
    ]


def test_feature_names():
    X = pack_molecules([(WATER_Z, WATER_R)])
    names = CoulombMatrixTransformer().fit(X).get_feature_names_out()
    assert names.tolist()[:4] == [
        "coulomb_0_0",
        "coulomb_0_1",
        "coulomb_0_2",
        "coulomb_1_0",
    ]
    spectrum = CoulombMatrixTransformer(sorting="eigenspectrum").fit(X)
    assert spectrum.get_feature_names_out().tolist() == [
        f"eigenvalue_{k}" for k in range(3)
    ]


def test_n_atoms_max_learned_from_slots_and_given(small_molecules):
    X, _ = small_molecules
    assert CoulombMatrixTransformer().fit(X).n_atoms_max_ == X.shape[1] // 4
    wide = CoulombMatrixTransformer(n_atoms_max=30).fit(X)
    assert wide.transform(X).shape == (len(X), 900)
    np.testing.assert_allclose(
        wide.transform(X).reshape(-1, 30, 30)[:, :23, :23].reshape(len(X), -1),
        CoulombMatrixTransformer().fit_transform(X),
    )


def test_n_atoms_max_too_small():
    X = pack_molecules([(FORMALDEHYDE_Z, FORMALDEHYDE_R), (WATER_Z, WATER_R)])
    with pytest.raises(ValueError, match="A training molecule has 4 atoms, more than"):
        CoulombMatrixTransformer(n_atoms_max=3).fit(X)
    transformer = CoulombMatrixTransformer(n_atoms_max=3).fit(X[1:])
    with pytest.raises(
        ValueError, match="Molecule 0 has 4 atoms, more than n_atoms_max_=3"
    ):
        transformer.transform(X)


def test_bad_molecules_are_named():
    X = pack_molecules([(WATER_Z, WATER_R), ([1, 1], [[0, 0, 0], [0, 0, 0.0]])])
    with pytest.raises(ValueError, match="atoms 0 and 1 of molecule 1 share"):
        CoulombMatrixTransformer().fit(X)
    with pytest.raises(ValueError, match="expects packed molecules"):
        CoulombMatrixTransformer().fit(np.ones((2, 6)))
    negative = X.copy()
    negative[0, 0] = -1
    with pytest.raises(ValueError, match="molecule 0 has a negative nuclear charge"):
        CoulombMatrixTransformer().fit(negative)


def test_padding_slots_may_come_first():
    X = pack_molecules([(WATER_Z, WATER_R)], n_atoms_max=4)
    shifted = np.roll(X, 4, axis=1)  # the padding slot now comes first
    transformer = CoulombMatrixTransformer().fit(X)
    np.testing.assert_allclose(transformer.transform(shifted), transformer.transform(X))


def test_float32_is_preserved(small_molecules):
    X, _ = small_molecules
    C64 = CoulombMatrixTransformer().fit_transform(X)
    C32 = CoulombMatrixTransformer().fit_transform(X.astype(np.float32))
    assert C32.dtype == np.float32
    np.testing.assert_allclose(C32, C64, rtol=1e-4)
