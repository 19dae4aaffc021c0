"""The molecules every gallery example starts from (not an example itself).

The examples import it as ``_example_data``, by the folder they run from:
``python examples/plot_data.py`` puts ``examples/`` first on ``sys.path``,
and sphinx-gallery runs each example in ``examples/`` with that folder on
``sys.path``. It is a package (this ``__init__.py``) rather than a module so
that the documentation build neither runs nor lists it: ``docs/conf.py``
skips files named ``__init__.py``, and sphinx-gallery skips folders without a
gallery header.

``SKQM7X_EXAMPLE_SUBSET=60`` (what the documentation build sets) makes
:func:`labelled_molecules` return a seeded random subset of 60 labelled
molecules; unset or 0, all of them. The molecules are the challenge set
shipped in the package, or the folder ``SKQM7X_DATA`` names (as
``skqm7x.load_qm7x()`` reads).
"""

# SPDX-License-Identifier: BSD-3-Clause

import os
import tempfile
from math import factorial

import numpy as np
from scipy.special import lpmv

from skqm7x import SolidHarmonicScatteringTransformer, load_qm7x

# Scattering features cached on disk, shared by the examples and their runs.
SCATTERING_CACHE = os.path.join(tempfile.gettempdir(), "skqm7x-scattering-cache")


def subset_size():
    """``SKQM7X_EXAMPLE_SUBSET`` as a number of molecules; 0 means all."""
    return int(os.environ.get("SKQM7X_EXAMPLE_SUBSET") or 0)


def labelled_molecules(n_molecules=None, data_dir=None):
    """``X, y``: the labelled molecules, or a seeded random subset of them.

    ``n_molecules=None`` takes :func:`subset_size`; 0 takes all. The subset
    is the first ``n_molecules`` of a permutation seeded with 0, so every
    example draws the same molecules.
    """
    X, y = load_qm7x(data_dir, return_X_y=True)
    if n_molecules is None:
        n_molecules = subset_size()
    if n_molecules:
        keep = np.random.default_rng(0).permutation(len(X))[:n_molecules]
        X, y = X[keep], y[keep]
    return X, y


def all_molecules(data_dir=None):
    """Every challenge molecule, labelled and test, without energies."""
    return np.concatenate(
        [load_qm7x(data_dir, subset=subset).data for subset in ("train", "test")]
    )


def challenge_grid(data_dir=None):
    """The scattering grid learned from all the challenge molecules.

    Returns the ``scale`` and ``grid_shape`` that
    :class:`skqm7x.SolidHarmonicScatteringTransformer` learns when fitted on
    :func:`all_molecules` (geometry only, no energies), as keyword arguments
    of the transformer or of :func:`skqm7x.make_scattering_ridge`. Fixed so,
    a molecule's features do not depend on the molecules a model is trained
    on, and the cache computes them once.
    """
    geometry = SolidHarmonicScatteringTransformer().fit(all_molecules(data_dir))
    return {"scale": geometry.scale_, "grid_shape": geometry.grid_shape_}


def real_harmonic(degree, order, polar, azimuth):
    """Real spherical harmonic: cos(m phi) for m > 0, sin(|m| phi) for m < 0.

    Orthonormal on the sphere, from ``scipy.special.lpmv``'s associated
    Legendre functions, whose Condon-Shortley phase the real harmonics leave
    out. For the gallery's pictures of the wavelets.
    """
    am = abs(order)
    norm = np.sqrt(
        (2 * degree + 1) / (4 * np.pi) * factorial(degree - am) / factorial(degree + am)
    )
    legendre = (-1) ** am * lpmv(am, degree, np.cos(polar))
    if order == 0:
        return norm * legendre
    angular = np.cos(am * azimuth) if order > 0 else np.sin(am * azimuth)
    return np.sqrt(2) * norm * legendre * angular
