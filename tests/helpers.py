"""Small helpers shared by several test modules."""

import numpy as np

from skqm7x import pack_molecules, unpack_molecules


def random_rotation(rng):
    """A uniformly random proper rotation matrix."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q


def moved(X, seed):
    """Each molecule translated, rotated and its atoms permuted, at random."""
    rng = np.random.default_rng(seed)
    Z, R = unpack_molecules(X)
    molecules = []
    for z, r in zip(Z, R, strict=True):
        present = z > 0
        z, r = z[present], r[present]
        order = rng.permutation(len(z))
        r = r @ random_rotation(rng).T + rng.uniform(-50, 50, size=3)
        molecules.append((z[order].astype(int), r[order]))
    return pack_molecules(molecules, n_atoms_max=X.shape[1] // 4)
