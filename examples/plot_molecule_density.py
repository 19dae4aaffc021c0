"""
A molecule and its Gaussian charge density
==========================================

:class:`skqm7x.SolidHarmonicScatteringTransformer` does not see atoms: it sees
densities, sums of Gaussians centred on the atoms. This example draws one
challenge molecule in 3D, atoms coloured by element, next to slices of the
density the transformer builds from it, with the transformer's own
orientation and Gaussian width, sampled on the grid its scale is learned for
(the grid the ``"kymatio"`` backend computes on; the ``"fast"`` backend
starts from the same density's Fourier transform, known in closed form).
"""

# SPDX-License-Identifier: BSD-3-Clause

import matplotlib.pyplot as plt
import numpy as np
from _example_data import all_molecules
from matplotlib import patheffects
from matplotlib.colors import PowerNorm

from skqm7x import (
    SolidHarmonicScatteringTransformer,
    load_qm7x,
    orient_molecules,
    unpack_molecules,
)

# %%
# One molecule, and the grid learned from all of them
# ---------------------------------------------------
# The example draws a single molecule, so the subset switch
# (``SKQM7X_EXAMPLE_SUBSET``) changes nothing here. Fitting the transformer
# only learns its geometry (no energies involved): the scale from Angstrom to
# grid units at which the largest challenge molecule fits the grid.

transformer = SolidHarmonicScatteringTransformer().fit(all_molecules())
spacing = 1 / transformer.scale_  # Angstrom between grid points
width = transformer.width * spacing  # Gaussian width in Angstrom
print(f"grid {transformer.grid_shape_}, {spacing:.3f} Angstrom between points")
print(f"Gaussian width = {transformer.width:g} grid units = {width:.2f} A")

train = load_qm7x()
molecule_id = 7  # C, N, O and H, 17 atoms
index = int(np.flatnonzero(train.ids == molecule_id)[0])

# %%
# Centre and orientation
# ----------------------
# As the transformer does (:func:`skqm7x.orient_molecules`): centre on the
# centre of nuclear charge, turn to the principal axes of the charge-weighted
# second moment (largest spread first, along the grid's longest axis), sign
# each axis by the third moment, and centre the bounding box.

Z, R = unpack_molecules(orient_molecules(train.data[index : index + 1]))
present = Z[0] > 0
Z, oriented = Z[0, present].astype(int), R[0, present]
print(f"molecule {molecule_id}: {len(Z)} atoms, {train.target[index]:.2f} eV")

# %%
# Densities on the grid
# ---------------------
# Three channels: the nuclear charge ``Z`` (full), the valence electrons, and
# the core electrons (full minus valence), each atom a normalised Gaussian of
# width ``width``. In physical units the density is in elementary charges per
# cubic Angstrom.

VALENCE = {1: 1, 6: 4, 7: 5, 8: 6, 16: 6, 17: 7}
SYMBOLS = {1: "H", 6: "C", 7: "N", 8: "O", 16: "S", 17: "Cl"}
COLOURS = {1: "white", 6: "0.25", 7: "tab:blue", 8: "tab:red", 16: "gold", 17: "green"}
valence = np.array([VALENCE[z] for z in Z], dtype=float)
charges = {"full": Z.astype(float), "valence": valence, "core": Z - valence}

grid = [(np.arange(n) - n // 2) * spacing for n in transformer.grid_shape_]  # Angstrom


def density_slice(weights, height):
    """The density in the plane ``third axis = height`` (Angstrom)."""
    x, y = np.meshgrid(grid[0], grid[1], indexing="ij")
    squared = (
        (x[..., None] - oriented[:, 0]) ** 2
        + (y[..., None] - oriented[:, 1]) ** 2
        + (height - oriented[:, 2]) ** 2
    )
    gaussians = np.exp(-squared / (2 * width**2)) / (2 * np.pi * width**2) ** 1.5
    return gaussians @ weights


def draw_molecule(ax):
    """Atoms as balls coloured by element, bonds as lines."""
    distances = np.linalg.norm(oriented[:, None] - oriented[None], axis=-1)
    bonded = (distances < 1.65) & ~((Z[:, None] == 1) & (Z[None] == 1))
    for a, b in zip(*np.nonzero(np.triu(bonded, k=1)), strict=True):
        ax.plot(*oriented[[a, b]].T, color="0.5", linewidth=2)
    for z in np.unique(Z):
        atoms = oriented[Z == z]
        ax.scatter(
            *atoms.T,
            s=70 if z == 1 else 180,
            color=COLOURS[z],
            edgecolors="black",
            depthshade=False,
            label=SYMBOLS[z],
        )
    ax.set_xlabel("x (Å)")
    ax.set_ylabel("y (Å)")
    ax.set_zlabel("z (Å)")
    ax.set_box_aspect(np.ptp(oriented, axis=0) + 1.0)
    ax.view_init(elev=30, azim=-65)
    ax.legend(loc="upper left", title="element")


# %%
# The molecule and its density
# ----------------------------
# The density in the plane through the middle of the molecule, perpendicular
# to its thinnest axis, on that grid (one pixel per grid point).
# A square-root colour scale keeps the hydrogen atoms visible next to the far
# larger heavy-atom peaks. The letters mark the atoms, projected onto the plane.

extent = (grid[0][0], grid[0][-1], grid[1][0], grid[1][-1])


def show_density(ax, image, norm, atoms_within=None):
    """One slice as an image, with the atoms near the plane labelled."""
    shown = ax.imshow(
        image.T,
        origin="lower",
        extent=extent,
        norm=norm,
        cmap="magma",
    )
    if atoms_within is not None:
        height, tolerance = atoms_within
        for z, (x, y, depth) in zip(Z, oriented, strict=True):
            if abs(depth - height) <= tolerance:
                ax.annotate(
                    SYMBOLS[z],
                    (x, y),
                    color="white",
                    ha="center",
                    va="center",
                    fontsize=9,
                    path_effects=[patheffects.withStroke(linewidth=2, foreground="k")],
                )
    ax.set_xlabel("x (Å)")
    ax.set_ylabel("y (Å)")
    return shown


full = density_slice(charges["full"], 0.0)
norm = PowerNorm(0.5, vmin=0.0, vmax=full.max())
fig = plt.figure(figsize=(12, 5))
fig.subplots_adjust(left=0.0, right=0.95, bottom=0.1, top=0.9, wspace=0.15)
ax3d = fig.add_subplot(1, 2, 1, projection="3d")
draw_molecule(ax3d)
ax3d.set_title(f"Molecule {molecule_id} in its principal axes")
ax = fig.add_subplot(1, 2, 2)
shown = show_density(ax, full, norm, atoms_within=(0.0, 0.5))
ax.set_title(f"Charge density at z = 0 (Gaussians of width {width:.2f} Å)")
fig.colorbar(shown, ax=ax, label="charge density (e / Å³)")

# %%
# Slices through the molecule
# ---------------------------
# The same density in three parallel planes, 0.8 Å apart; the letters mark
# the atoms within 0.4 Å of each plane.

heights = (-0.8, 0.0, 0.8)
fig, axes_row = plt.subplots(1, 3, figsize=(14, 4.2), sharey=True, layout="constrained")
for ax, height in zip(axes_row, heights, strict=True):
    image = density_slice(charges["full"], height)
    shown = show_density(ax, image, norm, atoms_within=(height, 0.4))
    ax.set_title(f"full density, z = {height:+.1f} Å")
for ax in axes_row[1:]:
    ax.set_ylabel("")
fig.colorbar(shown, ax=axes_row, label="charge density (e / Å³)", shrink=0.85)

# %%
# The three channels
# ------------------
# The valence channel spreads the charge more evenly over the atoms (hydrogen
# weighs 1, carbon 4, oxygen 6); the core channel has no hydrogen at all.

fig, axes_row = plt.subplots(1, 3, figsize=(14, 4.2), sharey=True, layout="constrained")
for ax, (name, weights) in zip(axes_row, charges.items(), strict=True):
    image = density_slice(weights, 0.0)
    shown = show_density(ax, image, PowerNorm(0.5, vmin=0.0, vmax=image.max()))
    ax.set_title(f"{name} channel, z = 0")
    fig.colorbar(shown, ax=ax, label="charge density (e / Å³)", shrink=0.85)
for ax in axes_row[1:]:
    ax.set_ylabel("")
plt.show()
