"""Representations: transformers from packed molecules to features.

Each transformer takes the 2D molecule encoding (``skqm7x.pack_molecules``)
and returns one row of features per molecule, invariant to translation,
rotation and the order of the atoms. ``fchl19_environments`` and
``tight_binding_atoms`` describe each atom instead, for the local kernels of
``skqm7x.models``.
"""

# SPDX-License-Identifier: BSD-3-Clause

from skqm7x.representations._bag_of_bonds import BagOfBondsTransformer
from skqm7x.representations._coulomb import CoulombMatrixTransformer
from skqm7x.representations._fchl19 import (
    AtomicEnvironments,
    check_fchl19_parameters,
    fchl19_environments,
)
from skqm7x.representations._mbtr import ManyBodyTensorTransformer
from skqm7x.representations._orientation import orient_molecules
from skqm7x.representations._random_coulomb import RandomCoulombExpander
from skqm7x.representations._scattering import SolidHarmonicScatteringTransformer
from skqm7x.representations._slatm import SlatmTransformer
from skqm7x.representations._tight_binding import (
    TightBindingEnergyTransformer,
    tight_binding_atoms,
    xtbml_feature_names,
)

__all__ = [
    "AtomicEnvironments",
    "BagOfBondsTransformer",
    "CoulombMatrixTransformer",
    "ManyBodyTensorTransformer",
    "RandomCoulombExpander",
    "SlatmTransformer",
    "SolidHarmonicScatteringTransformer",
    "TightBindingEnergyTransformer",
    "check_fchl19_parameters",
    "fchl19_environments",
    "orient_molecules",
    "tight_binding_atoms",
    "xtbml_feature_names",
]
