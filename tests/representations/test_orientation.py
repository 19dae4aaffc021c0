import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from skqm7x import orient_molecules, pack_molecules, unpack_molecules
from skqm7x.representations import SolidHarmonicScatteringTransformer


def test_the_pose_does_not_depend_on_how_the_molecule_was_given(qm7x_train):
    X = qm7x_train.data[:20]
    Z, R = unpack_molecules(X)
    rotation = Rotation.random(random_state=0).as_matrix()
    moved = pack_molecules(
        [
            (z[z > 0][::-1], (r[z > 0] @ rotation.T + [3.0, -1.0, 2.0])[::-1])
            for z, r in zip(Z, R, strict=True)
        ],
        n_atoms_max=Z.shape[1],
    )
    Z_ref, R_ref = unpack_molecules(orient_molecules(X))
    Z_moved, R_moved = unpack_molecules(orient_molecules(moved))
    for i in range(len(X)):
        n = int((Z[i] > 0).sum())
        # The same atoms, in reversed slots, at the same oriented positions.
        np.testing.assert_array_equal(Z_moved[i, :n], Z_ref[i, :n][::-1])
        np.testing.assert_allclose(R_moved[i, :n], R_ref[i, :n][::-1], atol=1e-8)
        assert np.all(R_moved[i, n:] == 0)


def test_it_is_the_scattering_transformers_pose(qm7x_train):
    X = qm7x_train.data[:5]
    oriented = orient_molecules(X)
    np.testing.assert_array_equal(oriented[:, ::4], X[:, ::4])
    # Oriented already, a molecule keeps its scattering features.
    scattering = SolidHarmonicScatteringTransformer(J=1, L=1, device="cpu").fit(X)
    np.testing.assert_allclose(
        scattering.transform(oriented), scattering.transform(X), rtol=1e-5, atol=1e-7
    )


def test_bad_molecules_are_named():
    with pytest.raises(ValueError, match="orient_molecules expects packed molecules"):
        orient_molecules(np.zeros((2, 5)))
