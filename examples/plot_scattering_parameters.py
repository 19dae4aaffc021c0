"""
What each scattering parameter changes
======================================

:class:`skqm7x.SolidHarmonicScatteringTransformer` has a handful of
parameters that shape its features: the grid (``grid_shape``, ``scale``,
``margin``), the width of the atomic Gaussians (``width``), the wavelet scales
(``J``), the angular degrees (``L``) and the exponents of the final integrals
(``integral_powers``). This example draws what each one does to one challenge
molecule. It computes no scattering features itself (fitting the transformer
only learns the geometry), so it runs in seconds; the features of the
performance page come from the transformer.
"""

# SPDX-License-Identifier: BSD-3-Clause

import matplotlib.pyplot as plt
import numpy as np
from _example_data import all_molecules, real_harmonic
from matplotlib.colors import PowerNorm
from matplotlib.patches import Rectangle

from skqm7x import (
    SolidHarmonicScatteringTransformer,
    load_qm7x,
    orient_molecules,
    unpack_molecules,
)

# %%
# One molecule and the geometry of all of them
# --------------------------------------------
# The grid's scale (grid units per Angstrom) is learned from the molecules the
# transformer is fitted on; here all the challenge molecules, train and test,
# without their energies. One molecule is drawn, so the subset switch
# (``SKQM7X_EXAMPLE_SUBSET``) does not apply.

molecules = all_molecules()
train = load_qm7x()

molecule_id = 7
index = int(np.flatnonzero(train.ids == molecule_id)[0])
# Centred and turned to its principal axes, as the transformer orients every
# molecule.
Z, R = unpack_molecules(orient_molecules(train.data[index : index + 1]))
Z, oriented = Z[0, Z[0] > 0], R[0, Z[0] > 0]


def grid_coordinates(n):
    """Coordinates of one grid axis in grid units, centred on 0."""
    return np.arange(n) - n // 2


def density_on_grid(fitted, height=0.0):
    """Slice ``z = height`` (Angstrom) of the full density on a fitted grid."""
    nx, ny, _ = fitted.grid_shape_
    x, y = np.meshgrid(grid_coordinates(nx), grid_coordinates(ny), indexing="ij")
    atoms = oriented * fitted.scale_  # grid units
    squared = (
        (x[..., None] - atoms[:, 0]) ** 2
        + (y[..., None] - atoms[:, 1]) ** 2
        + (height * fitted.scale_ - atoms[:, 2]) ** 2
    )
    return np.exp(-squared / (2 * fitted.width**2)) @ Z


def draw_grid(ax, fitted, title):
    """The density slice on the grid, and the region atoms must stay within."""
    image = density_on_grid(fitted)
    nx, ny, _ = fitted.grid_shape_
    spacing = 1 / fitted.scale_
    extent = np.array(
        [-nx // 2 - 0.5, nx - nx // 2 - 0.5, -ny // 2 - 0.5, ny - ny // 2 - 0.5]
    )
    ax.imshow(
        image.T,
        origin="lower",
        extent=extent * spacing,
        cmap="magma",
        norm=PowerNorm(0.5, vmin=0, vmax=image.max()),
    )
    # Atoms may come no closer than margin * width grid units to the edges.
    usable = ((np.array([nx, ny]) - 1) // 2 - fitted.margin * fitted.width) * spacing
    ax.add_patch(
        Rectangle(
            -usable,
            *(2 * usable),
            fill=False,
            edgecolor="cyan",
            linestyle="--",
            linewidth=1.2,
        )
    )
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("x (Å)")
    ax.set_ylabel("y (Å)")


# %%
# The grid and the Gaussians: ``grid_shape``, ``scale``, ``width``, ``margin``
# ----------------------------------------------------------------------------
# ``grid_shape`` sets the number of points along the molecule's long axis
# (the other two axes are sized to the molecules). With ``scale="auto"`` the
# transformer then learns the largest scale at which every training molecule,
# enlarged by 10 %, keeps ``margin * width`` grid units from the edges (the
# dashed box holds the region the atoms may occupy). ``width`` is the width
# of each atom's Gaussian in grid units, so in Angstrom it is ``width /
# scale``: on a coarse grid, or with a large ``width``, the atoms' Gaussians
# merge and the density no longer tells the atoms apart. A larger ``width``
# also needs a larger clearance, hence a smaller scale. Each panel is scaled
# to its own maximum (square-root colour scale).
#
# Every backend sees the same Gaussians, of width ``width / scale`` Angstrom.
# The ``"kymatio"`` backend computes on exactly this periodic grid, pixels
# included, and refuses molecules that come closer to its edges than the
# margin; the ``"fast"`` backend integrates over all space with its own
# sampling, so for it ``grid_shape`` and ``margin`` only set the scale.

settings = [
    ("grid_shape", {"grid_shape": 32}),
    ("grid_shape", {"grid_shape": 48}),
    ("grid_shape", {"grid_shape": 64}),
    ("width", {"width": 1.0}),
    ("width", {"width": 2.0}),
    ("width", {"width": 4.0}),
]
fig, axes_grid = plt.subplots(2, 3, figsize=(14, 8), layout="constrained")
for ax, (name, params) in zip(axes_grid.ravel(), settings, strict=True):
    fitted = SolidHarmonicScatteringTransformer(**params).fit(molecules)
    title = (
        f"{name}={params[name]:g}: grid {fitted.grid_shape_}\n"
        f"{1 / fitted.scale_:.2f} Å per point, "
        f"Gaussian width {fitted.width / fitted.scale_:.2f} Å"
    )
    draw_grid(ax, fitted, title)
fig.suptitle(
    "Full charge density of molecule 7 on the grid (z = 0); dashed: where atoms "
    "may lie (margin = 3 widths from the edges)"
)

# %%
# The wavelet scales and degrees: ``J`` and ``L``
# -----------------------------------------------
# The wavelet of scale ``j`` has a Gaussian window of width
# ``width * 2**j`` grid units, so ``J`` sets the largest distance over which
# the features relate charge: with the defaults (``width = 2``, ``J = 2``) up
# to a window of 8 grid units. Degree ``l`` multiplies the window by
# ``|r|**l``, which moves the wavelet's weight outwards and gives it ``l``
# angular nodes (see :ref:`sphx_glr_auto_examples_plot_wavelets.py`). Order-1
# features exist for every ``(j, l)``, order-2 features for every
# ``j1 < j2`` and ``l``.

default = SolidHarmonicScatteringTransformer().fit(molecules)
to_angstrom = 1 / default.scale_
radius = np.linspace(0, 30, 400)  # grid units
fig, (ax_j, ax_l) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
for j in range(4):
    width = default.width * 2**j
    profile = np.exp(-(radius**2) / (2 * width**2))
    style = "-" if j <= default.J else ":"
    ax_j.plot(
        radius * to_angstrom,
        profile,
        style,
        label=f"j = {j}: width {width:g} grid units = {width * to_angstrom:.2f} Å",
    )
ax_j.set_xlabel("distance from the wavelet's centre (Å)")
ax_j.set_ylabel("Gaussian window (relative to its centre)")
ax_j.set_title(f"Scales j = 0..J (J = {default.J} by default; dotted: J = 3)")
ax_j.legend(fontsize=9)

width = default.width * 2
for degree in range(5):
    profile = radius**degree * np.exp(-(radius**2) / (2 * width**2))
    style = "-" if degree <= default.L else ":"
    ax_l.plot(
        radius * to_angstrom, profile / profile.max(), style, label=f"l = {degree}"
    )
ax_l.set_xlabel("distance from the wavelet's centre (Å)")
ax_l.set_ylabel("radial profile (relative to its maximum)")
ax_l.set_title(f"Degrees l = 0..L at j = 1 (L = {default.L} by default; dotted: 4)")
ax_l.legend()

# %%
# How many features: ``3 * P * (1 + (J + 1) (J + 2) / 2 * (L + 1))`` for
# three channels and ``P`` integral powers, as the transformer names them:

for J in (1, 2, 3):
    counts = [
        len(
            SolidHarmonicScatteringTransformer(J=J, L=L)
            .fit(molecules[:10])
            .get_feature_names_out()
        )
        for L in range(5)
    ]
    print(f"J = {J}: L = 0..4 gives {counts} features")

# %%
# The integrals: ``integral_powers``
# ----------------------------------
# Each feature integrates a map over the whole grid: the density itself at
# order 0, the modulus :math:`U = \sqrt{\sum_m |\rho * \psi_{j,l,m}|^2}` at
# order 1 (and the same again on ``U`` at order 2). A feature is
# :math:`\sum U^p` for each ``p`` in ``integral_powers`` (default 0.5, 1, 2,
# 3). Small powers weigh the whole molecule almost evenly, large powers
# concentrate on the few strongest responses, here in the middle of the
# molecule. Below, :math:`U^p` in the molecule's plane for ``j = 1``,
# ``l = 2`` (computed by FFT convolution on the default grid), each panel
# scaled to its own maximum.

shape = default.grid_shape_
# Periodic coordinates with the origin at index 0, as the FFT expects.
coords = np.meshgrid(
    *[np.fft.ifftshift(grid_coordinates(n)) for n in shape], indexing="ij"
)
atoms = oriented * default.scale_
density = np.zeros(shape)
for charge, position in zip(Z, atoms, strict=True):
    squared = sum((c - p) ** 2 for c, p in zip(coords, position, strict=True))
    density += charge * np.exp(-squared / (2 * default.width**2))
distance = np.sqrt(sum(c**2 for c in coords))
polar = np.arccos(
    np.divide(coords[2], distance, where=distance > 0, out=np.ones(shape))
)
azimuth = np.arctan2(coords[1], coords[0])
j, degree = 1, 2
width = default.width * 2**j
window = distance**degree * np.exp(-(distance**2) / (2 * width**2))
spectrum = np.fft.fftn(density)
modulus = np.sqrt(
    sum(
        np.abs(
            np.fft.ifftn(
                spectrum
                * np.fft.fftn(window * real_harmonic(degree, m, polar, azimuth))
            )
        )
        ** 2
        for m in range(-degree, degree + 1)
    )
)
plane = np.fft.fftshift(modulus)[:, :, shape[2] // 2]

powers = default.integral_powers
fig, axes_row = plt.subplots(
    1, len(powers), figsize=(15, 3.8), sharey=True, layout="constrained"
)
extent = (
    np.array(
        [
            -shape[0] // 2 - 0.5,
            shape[0] - shape[0] // 2 - 0.5,
            -shape[1] // 2 - 0.5,
            shape[1] - shape[1] // 2 - 0.5,
        ]
    )
    * to_angstrom
)
for ax, p in zip(axes_row, powers, strict=True):
    weighted = plane**p
    shown = ax.imshow(
        (weighted / weighted.max()).T,
        origin="lower",
        extent=extent,
        cmap="viridis",
        vmin=0,
        vmax=1,
    )
    ax.plot(*oriented[:, :2].T, "w.", markersize=4)  # projected
    ax.set_title(f"p = {p:g}")
    ax.set_xlabel("x (Å)")
axes_row[0].set_ylabel("y (Å)")
fig.colorbar(shown, ax=axes_row, label="$U^p$ / its maximum (dimensionless)")
fig.suptitle("Order-1 modulus U (j = 1, l = 2) to the power p; dots: atoms")
plt.show()
