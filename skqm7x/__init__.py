"""skqm7x: scikit-learn estimators for molecular atomization energies (QM7-X).

The subpackages follow the data: ``skqm7x.datasets`` (molecules in, submissions
out) feeds ``skqm7x.representations`` (molecules to features), which feed
``skqm7x.models`` (features to energies); ``skqm7x.recipes`` assembles the
ready-made models, and ``python -m skqm7x`` runs them. Every public name is
also importable from ``skqm7x`` itself.
"""

# SPDX-License-Identifier: BSD-3-Clause

from skqm7x._molecules import pack_molecules, unpack_molecules
from skqm7x.datasets import (
    DataFormatError,
    bonding_graphs,
    load_qm7x,
    molecules_like,
    read_molecules,
    read_xyz,
    write_predictions,
    write_submission,
)
from skqm7x.models import (
    AtomicReferenceRegressor,
    BlendingRegressor,
    ClippedRegressor,
    GaussianProcessKernelRidge,
    GaussianProcessKernelRidgeCV,
    LocalKernelRidge,
    ModelFileError,
    SigmoidMLPRegressor,
    SparseLocalKernelRidge,
    load_model,
    local_kernels,
    per_element_scales,
    read_model_info,
    save_model,
)
from skqm7x.recipes import available_models, make_model, make_scattering_ridge
from skqm7x.representations import (
    AtomicEnvironments,
    BagOfBondsTransformer,
    CoulombMatrixTransformer,
    ManyBodyTensorTransformer,
    RandomCoulombExpander,
    SlatmTransformer,
    SolidHarmonicScatteringTransformer,
    TightBindingEnergyTransformer,
    check_fchl19_parameters,
    fchl19_environments,
    orient_molecules,
    tight_binding_atoms,
    xtbml_feature_names,
)

__version__ = "0.1.0"

__all__ = [
    "AtomicEnvironments",
    "AtomicReferenceRegressor",
    "BagOfBondsTransformer",
    "BlendingRegressor",
    "ClippedRegressor",
    "CoulombMatrixTransformer",
    "GaussianProcessKernelRidge",
    "GaussianProcessKernelRidgeCV",
    "LocalKernelRidge",
    "ModelFileError",
    "ManyBodyTensorTransformer",
    "RandomCoulombExpander",
    "SigmoidMLPRegressor",
    "SlatmTransformer",
    "SolidHarmonicScatteringTransformer",
    "SparseLocalKernelRidge",
    "TightBindingEnergyTransformer",
    "DataFormatError",
    "available_models",
    "bonding_graphs",
    "check_fchl19_parameters",
    "fchl19_environments",
    "load_model",
    "load_qm7x",
    "local_kernels",
    "make_model",
    "make_scattering_ridge",
    "molecules_like",
    "orient_molecules",
    "pack_molecules",
    "per_element_scales",
    "read_model_info",
    "read_molecules",
    "read_xyz",
    "save_model",
    "tight_binding_atoms",
    "unpack_molecules",
    "write_predictions",
    "write_submission",
    "xtbml_feature_names",
]
