"""skqm7x: scikit-learn estimators for molecular atomization energies (QM7-X)."""

# SPDX-License-Identifier: BSD-3-Clause

from skqm7x._bag_of_bonds import BagOfBondsTransformer
from skqm7x._clipped import ClippedRegressor
from skqm7x._coulomb import CoulombMatrixTransformer
from skqm7x._kernel import GaussianProcessKernelRidge
from skqm7x._local_kernel import LocalKernelRidge
from skqm7x._mbtr import ManyBodyTensorTransformer
from skqm7x._mlp import SigmoidMLPRegressor
from skqm7x._models import available_models, make_model
from skqm7x._molecules import pack_molecules, unpack_molecules
from skqm7x._random_coulomb import RandomCoulombExpander
from skqm7x._reference import AtomicReferenceRegressor
from skqm7x._scattering import (
    SolidHarmonicScatteringTransformer,
    make_scattering_ridge,
)
from skqm7x._tight_binding import TightBindingEnergyTransformer
from skqm7x.datasets import DataFormatError, load_qm7x, read_xyz, write_submission

__version__ = "0.1.0"

__all__ = [
    "AtomicReferenceRegressor",
    "BagOfBondsTransformer",
    "ClippedRegressor",
    "CoulombMatrixTransformer",
    "GaussianProcessKernelRidge",
    "LocalKernelRidge",
    "ManyBodyTensorTransformer",
    "RandomCoulombExpander",
    "SigmoidMLPRegressor",
    "SolidHarmonicScatteringTransformer",
    "TightBindingEnergyTransformer",
    "DataFormatError",
    "available_models",
    "load_qm7x",
    "make_model",
    "make_scattering_ridge",
    "pack_molecules",
    "read_xyz",
    "unpack_molecules",
    "write_submission",
]
