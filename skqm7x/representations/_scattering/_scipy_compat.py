"""A temporary ``scipy.special.sph_harm`` for importing kymatio on SciPy >= 1.17.

kymatio 0.3.0 does ``from scipy.special import sph_harm`` when its 3D filter
bank module is imported; SciPy 1.17 removed that function in favour of
``sph_harm_y``. :func:`legacy_sph_harm` puts a compatible function into
``scipy.special`` only while kymatio is being imported and removes it
afterwards: kymatio's ``filter_bank`` module keeps its own reference, and no
one else sees a patched SciPy.
"""

# SPDX-License-Identifier: BSD-3-Clause

import contextlib

import scipy.special


def sph_harm(m, n, theta, phi):
    """Spherical harmonic with the signature of the removed SciPy function.

    Parameters
    ----------
    m : array-like of int
        Order, ``|m| <= n``.
    n : array-like of int
        Degree, ``n >= 0``.
    theta : array-like of float
        Azimuthal angle, in ``[0, 2 pi]``.
    phi : array-like of float
        Polar angle, in ``[0, pi]``.

    Returns
    -------
    y : ndarray of complex
        ``Y_n^m(theta, phi)``, with the Condon-Shortley phase.

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x.representations._scattering._scipy_compat import sph_harm
    >>> value = sph_harm(0, 1, 0.3, 0.0)  # Y_1^0 on the z axis
    >>> bool(np.isclose(value, np.sqrt(3 / (4 * np.pi))))
    True
    """
    # sph_harm_y swaps both the argument order and the meaning of the angles:
    # its third argument is the polar angle, its fourth the azimuth.
    return scipy.special.sph_harm_y(n, m, phi, theta)


@contextlib.contextmanager
def legacy_sph_harm():
    """Provide ``scipy.special.sph_harm`` for the duration of a ``with`` block.

    Does nothing on a SciPy that still has the function.

    Examples
    --------
    >>> import scipy.special
    >>> from skqm7x.representations._scattering._scipy_compat import legacy_sph_harm
    >>> had_it = hasattr(scipy.special, "sph_harm")
    >>> with legacy_sph_harm():
    ...     hasattr(scipy.special, "sph_harm")
    True
    >>> hasattr(scipy.special, "sph_harm") == had_it
    True
    """
    if hasattr(scipy.special, "sph_harm"):
        yield
        return
    scipy.special.sph_harm = sph_harm
    try:
        yield
    finally:
        del scipy.special.sph_harm
