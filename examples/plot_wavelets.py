r"""
Solid-harmonic wavelets
=======================

:class:`skqm7x.SolidHarmonicScatteringTransformer` convolves the charge
densities of a molecule with solid-harmonic wavelets: a Gaussian window times
a solid harmonic,

.. math::

    \psi_{j,\ell,m}(\mathbf{r}) \propto
    e^{-|\mathbf{r}|^2 / (2 \sigma_j^2)} \, |\mathbf{r}|^\ell \,
    Y_\ell^m(\mathbf{r} / |\mathbf{r}|),
    \qquad \sigma_j = \sigma \, 2^j,

for scales ``j = 0..J`` and degrees ``l = 0..L``, :math:`\sigma` being the
transformer's ``width`` (Eickenberg et al., 2017).
This example draws every wavelet ``(l, m)`` of the default ``L = 3`` at one
scale: its angular shape in 3D, then slices through it.

For each ``l`` the transformer keeps only the modulus over ``m``,
:math:`\sqrt{\sum_m |\rho * \psi_{j,\ell,m}|^2}`, which does not change when
the molecule is rotated. The wavelets are defined with the complex
harmonics :math:`Y_\ell^m`; the real harmonics drawn here mix ``m`` and
``-m`` by a unitary change of basis, which leaves that modulus unchanged, and
their lobes are easier to see.
"""

# SPDX-License-Identifier: BSD-3-Clause

import matplotlib.pyplot as plt
import numpy as np
from _example_data import all_molecules, real_harmonic

from skqm7x import SolidHarmonicScatteringTransformer

# %%
# The scale in Angstrom
# ---------------------
# Wavelet widths are set in grid units (``width``, default 2, doubled at
# every scale ``j``); the scale learned when the transformer is fitted turns
# them into Angstrom. Fitting learns only the geometry, from all challenge
# molecules (the subset switch ``SKQM7X_EXAMPLE_SUBSET`` does not apply).

transformer = SolidHarmonicScatteringTransformer().fit(all_molecules())
j = 1
width = transformer.width * 2**j  # grid units
print(
    f"scale j = {j}: Gaussian window of width {width:g} grid units = "
    f"{width / transformer.scale_:.2f} Angstrom"
)

# %%
# Real spherical harmonics
# ------------------------
# ``real_harmonic`` (in the gallery's ``_example_data``) builds them from
# ``scipy.special.lpmv``'s associated Legendre functions, leaving out their
# Condon-Shortley phase.

L = transformer.L

# %%
# Angular shapes
# --------------
# The surface at distance :math:`|Y_\ell^m|` from the centre in each
# direction, red where the wavelet is positive and blue where it is negative.
# Degree ``l`` has ``2 l + 1`` orders ``m`` and ``l`` nodal surfaces: ``l = 0``
# responds to the amount of charge around a point, ``l = 1`` to its dipole,
# ``l = 2`` and ``l = 3`` to finer angular structure.

polar, azimuth = np.meshgrid(
    np.linspace(0, np.pi, 60), np.linspace(0, 2 * np.pi, 120), indexing="ij"
)
directions = np.stack(
    [
        np.sin(polar) * np.cos(azimuth),
        np.sin(polar) * np.sin(azimuth),
        np.cos(polar),
    ]
)
fig = plt.figure(figsize=(14, 8.5))
for degree in range(L + 1):
    for order in range(-degree, degree + 1):
        values = real_harmonic(degree, order, polar, azimuth)
        x, y, z = np.abs(values) * directions
        colours = plt.cm.RdBu_r(0.5 + 0.5 * values / np.abs(values).max())
        ax = fig.add_subplot(
            L + 1, 2 * L + 1, degree * (2 * L + 1) + order + L + 1, projection="3d"
        )
        ax.plot_surface(x, y, z, facecolors=colours, rstride=2, cstride=2, linewidth=0)
        reach = np.abs(values).max()
        ax.set_xlim(-reach, reach)
        ax.set_ylim(-reach, reach)
        ax.set_zlim(-reach, reach)
        ax.set_box_aspect((1, 1, 1))
        ax.set_axis_off()
        ax.set_title(f"l = {degree}, m = {order}", fontsize=10, pad=-2)
fig.suptitle("Angular part of the wavelets (z axis up; red positive, blue negative)")
fig.subplots_adjust(left=0, right=1, bottom=0, top=0.93, wspace=0, hspace=0.05)

# %%
# Slices at one scale
# -------------------
# The wavelets themselves, Gaussian window included, at scale ``j = 1``,
# sliced by the plane ``z = width / 2`` (above the centre, so that every
# ``(l, m)`` shows: through the centre, many of them vanish by symmetry).
# Each panel is scaled to its own largest value. The window confines every
# wavelet to a few ``sigma_j``; the factor :math:`|\mathbf{r}|^\ell` pushes its
# weight outwards as ``l`` grows.

extent = 3 * width  # grid units on each side of the centre
x, y = np.meshgrid(np.linspace(-extent, extent, 121), np.linspace(-extent, extent, 121))
z = np.full_like(x, width / 2)
radius = np.sqrt(x**2 + y**2 + z**2)
polar, azimuth = np.arccos(z / radius), np.arctan2(y, x)
window = np.exp(-(radius**2) / (2 * width**2))
to_angstrom = 1 / transformer.scale_

fig, axes = plt.subplots(L + 1, 2 * L + 1, figsize=(14, 8.5), layout="constrained")
for degree in range(L + 1):
    for column, order in enumerate(range(-L, L + 1)):
        ax = axes[degree, column]
        if abs(order) > degree:
            ax.set_axis_off()
            continue
        wavelet = window * radius**degree * real_harmonic(degree, order, polar, azimuth)
        wavelet /= np.abs(wavelet).max()
        shown = ax.imshow(
            wavelet,
            origin="lower",
            extent=np.array([-extent, extent, -extent, extent]) * to_angstrom,
            cmap="RdBu_r",
            vmin=-1,
            vmax=1,
        )
        ax.set_title(f"l = {degree}, m = {order}", fontsize=10)
        ax.tick_params(labelsize=8)
fig.supxlabel("x (Å)")
fig.supylabel("y (Å)")
fig.colorbar(
    shown,
    ax=axes,
    shrink=0.6,
    label="wavelet / its largest absolute value (dimensionless)",
)
fig.suptitle(
    f"Solid-harmonic wavelets at scale j = {j} "
    f"(window width {width:g} grid units = {width * to_angstrom:.2f} Å), "
    f"sliced at z = {width / 2 * to_angstrom:.2f} Å"
)
plt.show()
