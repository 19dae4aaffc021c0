"""A data set of any size without downloads: perturbed challenge molecules.

Not a benchmark itself: the scaling benchmarks import it. Each molecule is one
of the 4739 challenge molecules (labelled and test, taken in turn), its atoms
displaced by independent Gaussian noise of ``scale`` Angstrom per Cartesian
coordinate (0.05 by default, about the thermal motion of the atoms at room
temperature), and labelled with its GFN2-xTB atomization energy (tblite, in
eV). Such conformers are the kind of molecules the full QM7-X holds (4.2
million structures of the same molecules); a model learns the GFN2-xTB
energies, a task as hard in its scaling as learning the DFT ones. The set is
generated on demand, cached in ``cache_dir`` (``.cache/`` is ignored by git)
and never committed.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from joblib import Memory

import skqm7x

DEFAULT_SCALE = 0.05
DEFAULT_CACHE = ".cache/skqm7x-conformers"
# The closest two atoms of a perturbed molecule may come, in Angstrom: a
# displacement that brings them closer is drawn again.
_CLOSEST = 0.6


def _perturbed(n_molecules, scale, seed):
    train, test = skqm7x.load_qm7x(), skqm7x.load_qm7x(subset="test")
    width = max(train.data.shape[1], test.data.shape[1])
    pad = [
        np.pad(d.data, ((0, 0), (0, width - d.data.shape[1]))) for d in (train, test)
    ]
    originals = np.vstack(pad)
    rng = np.random.default_rng(seed)
    X = originals[np.arange(n_molecules) % len(originals)].copy()
    Z, R = skqm7x.unpack_molecules(X)
    atoms = Z > 0
    for i in range(n_molecules):
        while True:
            moved = R[i] + scale * rng.normal(size=R[i].shape) * atoms[i, :, None]
            positions = moved[atoms[i]]
            gaps = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
            if np.min(gaps[np.triu_indices(len(positions), 1)]) > _CLOSEST:
                break
        R[i] = moved
    X.reshape(n_molecules, -1, 4)[:, :, 1:] = R
    return X


def _labelled(n_molecules, scale, seed, n_jobs):
    X = _perturbed(n_molecules, scale, seed)
    energies = skqm7x.TightBindingEnergyTransformer(n_jobs=n_jobs, verbose=1)
    return X, energies.fit_transform(X)[:, 0]


def conformers(
    n_molecules, scale=DEFAULT_SCALE, seed=0, cache_dir=DEFAULT_CACHE, n_jobs=-1
):
    """``X, y``: ``n_molecules`` perturbed challenge molecules, GFN2-xTB energies.

    The same arguments give the same molecules; the first ``n`` molecules of
    a larger set are those of the smaller one with the same seed. Computed
    once per arguments and cached in ``cache_dir``.
    """
    labelled = Memory(cache_dir, verbose=0).cache(_labelled, ignore=["n_jobs"])
    return labelled(n_molecules, scale, seed, n_jobs=n_jobs)


def describe(n_molecules, scale=DEFAULT_SCALE, seed=0):
    """One line that says what the generated set is."""
    return (
        f"{n_molecules} conformers of the 4739 challenge molecules (atoms "
        f"displaced by N(0, {scale} A) per coordinate, seed {seed}), labelled "
        "with GFN2-xTB atomization energies (tblite)"
    )
