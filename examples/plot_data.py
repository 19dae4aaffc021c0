"""
The challenge data
==================

The QM7-X challenge gives 3792 labelled molecules (atomization energy in eV)
and 947 molecules to predict. This example loads the labelled ones with
:func:`skqm7x.load_qm7x`, plots the atomization energy against the number of
atoms and the distribution of the energies, and shows how much of the energy
per-element reference energies already explain
(:class:`skqm7x.AtomicReferenceRegressor`).
"""

# SPDX-License-Identifier: BSD-3-Clause

import matplotlib.pyplot as plt
import numpy as np
from _example_data import labelled_molecules

from skqm7x import AtomicReferenceRegressor, unpack_molecules

# %%
# Loading the molecules
# ---------------------
# Every example gets its molecules from ``examples/_example_data``, a few
# lines around :func:`skqm7x.load_qm7x`, which returns the challenge set
# shipped in the package (or the folder that ``SKQM7X_DATA`` names, if set).
# ``SKQM7X_EXAMPLE_SUBSET=60`` keeps a seeded random subset of 60 labelled
# molecules, which is what the documentation build does so that every
# example runs in under a minute; unset (or 0), all of them are used.

X, y = labelled_molecules()

# %%
# ``X`` holds one ``(Z, x, y, z)`` row per atom slot, padded with ``Z = 0``
# up to the largest molecule of the challenge (23 atoms).
Z, R = unpack_molecules(X)
n_atoms = np.count_nonzero(Z > 0, axis=1)
n_heavy = np.count_nonzero(Z > 1, axis=1)
print(f"{len(X)} molecules, {X.shape[1] // 4} atom slots each")
print(f"atoms per molecule: {n_atoms.min()} to {n_atoms.max()}")
print(f"energies: {y.min():.1f} to {y.max():.1f} eV, mean {y.mean():.1f} eV,")
print(f"standard deviation {y.std():.2f} eV")

# %%
# Energy against size
# -------------------
# An atomization energy is the energy released when the atoms bind, so it is
# negative and grows in magnitude with every bond: the number of atoms,
# and above all the number of heavy (non-hydrogen) atoms, set most of it.

rng = np.random.default_rng(0)
jitter = rng.uniform(-0.25, 0.25, size=len(X))  # separates equal atom counts
fig, (ax_size, ax_hist) = plt.subplots(1, 2, figsize=(11, 4.5))
points = ax_size.scatter(
    n_atoms + jitter,
    y,
    c=n_heavy,
    s=8 if len(X) > 1000 else 20,
    cmap=plt.get_cmap("viridis", 7),
    vmin=0.5,
    vmax=7.5,
    alpha=0.7,
    linewidths=0,
)
fig.colorbar(
    points, ax=ax_size, ticks=range(1, 8), label="heavy atoms (C, N, O, S, Cl)"
)
ax_size.set_xlabel("number of atoms")
ax_size.set_ylabel("atomization energy (eV)")
ax_size.set_title("Energy against molecule size")
ax_size.grid(alpha=0.3)

ax_hist.hist(y, bins=40, color="tab:blue", edgecolor="white")
ax_hist.axvline(y.mean(), color="black", linestyle="--", label="mean")
ax_hist.set_xlabel("atomization energy (eV)")
ax_hist.set_ylabel("number of molecules")
ax_hist.set_title(f"Distribution of the energies (std {y.std():.1f} eV)")
ax_hist.legend()
fig.tight_layout()

# %%
# What per-element reference energies leave
# -----------------------------------------
# One energy per element, fitted by least squares on the element counts,
# already explains most of the spread. The spread that is left, from the
# geometry and the bonding, is what the models of this package learn. (Fitted
# and evaluated on the same molecules: an in-sample figure.)

reference = AtomicReferenceRegressor().fit(X, y)
residual = y - reference.predict(X)
for symbol, energy in zip(
    reference.element_symbols(), reference.element_energies_, strict=True
):
    print(f"reference energy of {symbol:>2}: {energy:7.2f} eV")

fig, ax = plt.subplots(figsize=(6, 4.5))
ax.hist(residual, bins=40, color="tab:orange", edgecolor="white")
ax.set_xlabel("atomization energy minus reference energies (eV)")
ax.set_ylabel("number of molecules")
rmse = np.sqrt(np.mean(residual**2))
ax.set_title(f"After per-element reference energies (RMSE {rmse:.2f} eV)")
fig.tight_layout()
plt.show()
