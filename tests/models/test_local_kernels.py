import numpy as np
import pytest

# qmllib, a dependency, computes the reference kernel.
from qmllib import kernels as qmllib_kernels
from qmllib import representations as qmllib_representations

from skqm7x import unpack_molecules
from skqm7x.models import _local_kernels, local_kernels
from skqm7x.models._local_kernels import self_kernels
from skqm7x.representations import fchl19_environments


def environments_of(X):
    Z, _ = unpack_molecules(X)
    return fchl19_environments(X, np.unique(Z[Z > 0]))


def brute_force(left, right, gammas):
    """Every same-element pair of atoms, one at a time, in float64."""
    K = np.zeros((len(gammas), left.n_molecules, right.n_molecules))
    atoms = zip(left.vectors, left.charges, left.owners, strict=True)
    for x, z, a in atoms:
        same = right.charges == z
        squared = np.sum((right.vectors[same] - x) ** 2, axis=1)
        for k, gamma in enumerate(gammas):
            np.add.at(K[k, a], right.owners[same], np.exp(-gamma * squared))
    return K


def test_kernel_matches_qmllib_local_kernel(molecules):
    X, _ = molecules
    Z, R = unpack_molecules(X[:12])
    elements = np.unique(Z[Z > 0])
    left = fchl19_environments(X[:7], elements)
    right = fchl19_environments(X[7:12], elements)
    ours = local_kernels(left, right, [0.5 / 1.5**2, 0.5 / 4.0**2])

    # qmllib's own (Fortran) double loop over atoms, on padded vectors.
    def padded(Z, R):
        charges = [z[z > 0].astype(int) for z in Z]
        vectors = np.array(
            [
                qmllib_representations.generate_fchl19(
                    q, r[: len(q)], elements=elements.astype(int).tolist(), pad=23
                )
                for q, r in zip(charges, R, strict=True)
            ]
        )
        return vectors, charges

    (X1, Q1), (X2, Q2) = padded(Z[:7], R[:7]), padded(Z[7:], R[7:])
    for k, sigma in enumerate([1.5, 4.0]):
        reference = qmllib_kernels.get_local_kernel(X1, X2, Q1, Q2, sigma)
        # qmllib returns the transpose (one row per molecule of X2).
        np.testing.assert_allclose(ours[k], reference.T, rtol=1e-9)


@pytest.mark.parametrize("symmetric", [True, False])
def test_the_basis_of_the_span_keeps_every_sum_of_atom_pairs(
    molecules, monkeypatch, symmetric
):
    # Sets this small are computed without a basis; forced to use one, the
    # kernels are the same: the vectors lie in the span of its directions.
    X, _ = molecules
    left = environments_of(X[:30])
    right = left if symmetric else environments_of(X[30:45])
    gammas = [0.5, 0.03125]
    expected = brute_force(left, right, gammas)
    monkeypatch.setattr(_local_kernels, "_basis_pays", lambda *sizes: True)
    kept = []
    original = _local_kernels._shared_basis

    def recorded(sets):
        basis = original(sets)
        kept.append(basis.shape)
        return basis

    monkeypatch.setattr(_local_kernels, "_shared_basis", recorded)
    ours = local_kernels(left, None if symmetric else right, gammas)
    # The basis holds fewer directions than the vectors have entries.
    assert all(directions < features for features, directions in kept)
    np.testing.assert_allclose(ours, expected, rtol=1e-9)


def test_a_basis_pays_only_for_many_atom_pairs():
    assert not _local_kernels._basis_pays(300, 300, 1000)
    assert _local_kernels._basis_pays(36000, 36000, 1000)


def test_a_set_with_itself_is_half_computed_and_mirrored(molecules):
    X, _ = molecules
    environments = environments_of(X[:40])
    full = local_kernels(environments, environments, [2.0, 4.0])
    mirrored = local_kernels(environments, None, [2.0, 4.0])
    np.testing.assert_array_equal(mirrored, mirrored.transpose(0, 2, 1))
    np.testing.assert_allclose(mirrored, full, rtol=1e-13)
    np.testing.assert_allclose(mirrored, brute_force(*[environments] * 2, [2.0, 4.0]))


@pytest.mark.parametrize("symmetric", [True, False])
def test_tiles_and_threads_do_not_change_it(molecules, monkeypatch, symmetric):
    X, _ = molecules
    environments = environments_of(X[:40])
    right = None if symmetric else environments
    expected = local_kernels(environments, right, [2.0, 4.0])
    # Tiles of a few atoms, fewer than some molecules have of one element:
    # every tile still holds whole molecules.
    monkeypatch.setattr(_local_kernels, "_TILE_ROWS", 5)
    monkeypatch.setattr(_local_kernels, "_TILE_COLUMNS", 3)
    for element in np.unique(environments.charges):
        owners = environments.owners[environments.charges == element]
        for tile in _local_kernels._tiles(owners, 3):
            assert tile.stop > tile.start
            after = owners[tile.stop] if tile.stop < len(owners) else -1
            assert after != owners[tile.stop - 1]
            np.testing.assert_array_equal(
                tile.matrix @ np.ones(tile.stop - tile.start),
                np.bincount(owners[tile.start : tile.stop])[tile.molecules],
            )
    for n_jobs in (1, 2):
        np.testing.assert_allclose(
            local_kernels(environments, right, [2.0, 4.0], n_jobs=n_jobs),
            expected,
            rtol=1e-13,
        )


def test_molecules_without_an_element_get_nothing_of_it(water):
    # Molecule 1 has no oxygen, molecule 2 no hydrogen: the element's sums
    # skip them, and the tiles add to molecules that are not neighbours.
    from skqm7x import pack_molecules

    positions = [[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]]
    X = pack_molecules(
        [
            (["O", "H", "H"], positions),
            (["H", "H"], positions[1:]),
            (["O"], positions[:1]),
            (["O", "H"], positions[:2]),
        ]
    )
    environments = fchl19_environments(X, elements=[1, 8])
    for right in (None, environments):
        np.testing.assert_allclose(
            local_kernels(environments, right, [0.5]),
            brute_force(environments, environments, [0.5]),
            rtol=1e-12,
        )


def test_prior_variance_is_the_kernel_diagonal(molecules):
    X, _ = molecules
    environments = environments_of(X[:10])
    gammas = [0.05, 0.5]
    kernels = local_kernels(environments, environments, gammas)
    np.testing.assert_allclose(
        self_kernels(environments, gammas),
        [np.diag(K) for K in kernels],
        rtol=1e-10,
    )
