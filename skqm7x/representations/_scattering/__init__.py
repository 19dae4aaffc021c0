"""Solid-harmonic wavelet scattering of molecules.

``_transformer`` holds the estimator, ``_geometry`` the centring, orientation,
scale and grid, and each backend (today ``_kymatio_backend``) the scattering
itself; ``_scipy_compat`` lets kymatio import on SciPy >= 1.17.
"""

# SPDX-License-Identifier: BSD-3-Clause

from skqm7x.representations._scattering._transformer import (
    SolidHarmonicScatteringTransformer,
)

__all__ = ["SolidHarmonicScatteringTransformer"]
