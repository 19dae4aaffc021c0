"""Many-body dispersion (MBD@rsSCS) energies in numpy, for bench_routes.py.

The range-separated self-consistently screened many-body dispersion of
Ambrosetti et al. (J. Chem. Phys. 140, 18A508, 2014), as libmbd's numpy
reference (``pymbd.pymbd``) computes it for a finite molecule: each atom a
quantum harmonic oscillator of static polarizability ``alpha`` and
characteristic frequency ``4 C6 / (3 alpha^2)``; the polarizabilities are
screened by the short-range dipole field (Gaussian-smeared dipoles, Fermi
damping of the long range) at each imaginary frequency of a Gauss-Legendre
grid, and the energy is that of the coupled oscillators under the long-range
dipole coupling. Atomic units throughout.

The labels' MBD takes each atom's polarizability from its Hirshfeld volume
in the PBE0 density, which a GFN2-xTB baseline does not have; here the atoms'
polarizabilities and C6 coefficients are D4's (dftd4: the free atom's,
corrected for the atom's coordination number and partial charge), and the
van der Waals radii the free atoms' scaled by the cube root of the
polarizability ratio, as the Tkatchenko-Scheffler scheme scales them by the
volume ratio.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy.special import erf

# Free atoms' static polarizability (bohr^3), C6 (hartree bohr^6) and van der
# Waals radius (bohr): Tkatchenko and Scheffler, Phys. Rev. Lett. 102,
# 073005 (2009), from Chu and Dalgarno (2004).
FREE_ATOMS = {
    1: (4.50, 6.50, 3.10),
    6: (12.0, 46.6, 3.59),
    7: (7.4, 24.2, 3.34),
    8: (5.4, 15.6, 3.19),
    16: (19.6, 134.0, 3.86),
    17: (15.0, 94.6, 3.71),
}
# MBD@rsSCS's range-separation parameter for PBE0 (Ambrosetti et al., 2014).
BETA_PBE0 = 0.85
FERMI_STEEPNESS = 6.0


def frequency_grid(n=15, length=0.6):
    """Imaginary frequencies and weights for integrals over [0, infinity).

    Gauss-Legendre points mapped by ``length (1 + x) / (1 - x)``, with the
    static frequency 0 first at weight 0.
    """
    x, w = leggauss(n)
    weights = 2 * length / (1 - x) ** 2 * w
    frequencies = length * (1 + x) / (1 - x)
    return np.r_[0.0, frequencies[::-1]], np.r_[0.0, weights[::-1]]


def _dipole_tensors(positions):
    """Outer products of separations, distances and bare dipole tensors of pairs.

    An atom is no pair with itself: its distance is set to 1 (any finite
    value), and ``_blocks`` drops its tensors.
    """
    separations = positions[:, None, :] - positions[None, :, :]
    distances = np.linalg.norm(separations, axis=-1)
    np.fill_diagonal(distances, 1.0)
    outer = separations[..., :, None] * separations[..., None, :]
    inverse = (1.0 / distances)[..., None, None]
    bare = np.eye(3) * inverse**3 - 3 * outer * inverse**5
    return outer, distances, bare


def _fermi(distances, radii, beta):
    """Fermi damping of each pair, 1/2 at ``beta`` times the summed radii."""
    summed = beta * (radii[:, None] + radii[None, :])
    return 1.0 / (1.0 + np.exp(-FERMI_STEEPNESS * (distances / summed - 1.0)))


def _blocks(tensors):
    """``(n, n, 3, 3)`` pair tensors as one ``(3n, 3n)`` matrix, 0 for i = i."""
    n = len(tensors)
    tensors = tensors * ~np.eye(n, dtype=bool)[..., None, None]
    return tensors.transpose(0, 2, 1, 3).reshape(3 * n, 3 * n)


def screened(positions, alpha, c6, radii, beta=BETA_PBE0, n_frequencies=15):
    """rsSCS: the screened static polarizabilities, C6, radii and frequencies."""
    frequencies, weights = frequency_grid(n_frequencies)
    omega = 4 / 3 * c6 / alpha**2
    outer, distances, bare = _dipole_tensors(positions)
    short_range = 1.0 - _fermi(distances, radii, beta)
    dynamic = alpha / (1 + (frequencies[:, None] / omega) ** 2)
    screened_alpha = np.empty_like(dynamic)
    for k, a in enumerate(dynamic):
        sigma = (np.sqrt(2 / np.pi) * a / 3) ** (1 / 3)
        zeta = distances / np.sqrt(sigma[:, None] ** 2 + sigma[None, :] ** 2)
        theta = 2 * zeta / np.sqrt(np.pi) * np.exp(-(zeta**2))
        smeared = (erf(zeta) - theta)[..., None, None] * bare + (
            2 * zeta**2 * theta / distances**5
        )[..., None, None] * outer
        coupling = _blocks(short_range[..., None, None] * smeared)
        inverse = np.linalg.inv(np.diag(np.repeat(1 / a, 3)) + coupling)
        n = len(a)
        screened_alpha[k] = (
            inverse.reshape(n, 3, n, 3).sum(axis=2).trace(axis1=1, axis2=2) / 3
        )
    alpha_0 = screened_alpha[0]
    c6_screened = 3 / np.pi * np.sum(weights[:, None] * screened_alpha**2, axis=0)
    radii_screened = radii * (alpha_0 / alpha) ** (1 / 3)
    return alpha_0, c6_screened, radii_screened, 4 / 3 * c6_screened / alpha_0**2


def mbd_energy(positions, alpha, c6, radii, beta=BETA_PBE0):
    """MBD@rsSCS energy (hartree) of one molecule; positions in bohr."""
    alpha_0, _, radii_screened, omega = screened(positions, alpha, c6, radii, beta)
    _, distances, bare = _dipole_tensors(positions)
    damped = _fermi(distances, radii_screened, beta)[..., None, None] * bare
    factor = np.repeat(omega * np.sqrt(alpha_0), 3)
    hamiltonian = np.diag(np.repeat(omega**2, 3)) + factor[:, None] * factor[
        None, :
    ] * _blocks(damped)
    eigenvalues = np.linalg.eigvalsh(hamiltonian)
    if eigenvalues.min() <= 0:
        raise ValueError(
            "MBD: the coupled oscillators are unstable (polarization catastrophe)"
        )
    return np.sum(np.sqrt(eigenvalues)) / 2 - 3 * np.sum(omega) / 2


def d4_parameters(numbers, positions):
    """D4's polarizability and C6 of each atom, and the radii scaled to them."""
    from dftd4.interface import DispersionModel

    properties = DispersionModel(numbers, positions).get_properties()
    alpha = np.asarray(properties["polarizabilities"], dtype=float)
    c6 = np.diag(np.asarray(properties["c6 coefficients"], dtype=float)).copy()
    free = np.array([FREE_ATOMS[int(z)] for z in numbers])
    radii = free[:, 2] * (alpha / free[:, 0]) ** (1 / 3)
    return alpha, c6, radii
