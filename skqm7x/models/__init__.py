"""Models: regressors of the energy, and meta-regressors around any model.

The regressors take features from ``skqm7x.representations`` (in a
pipeline), or packed molecules where they compute their own
(``LocalKernelRidge``, ``SparseLocalKernelRidge``); ``AtomicReferenceRegressor`` and
``ClippedRegressor`` wrap any regressor, and ``BlendingRegressor`` blends
several.
"""

# SPDX-License-Identifier: BSD-3-Clause

from skqm7x.models._blending import BlendingRegressor
from skqm7x.models._clipped import ClippedRegressor
from skqm7x.models._kernel_ridge import (
    GaussianProcessKernelRidge,
    GaussianProcessKernelRidgeCV,
)
from skqm7x.models._local_kernel_ridge import LocalKernelRidge, per_element_scales
from skqm7x.models._local_kernels import local_kernels
from skqm7x.models._mlp import SigmoidMLPRegressor
from skqm7x.models._reference import AtomicReferenceRegressor
from skqm7x.models._sparse_local_kernel_ridge import SparseLocalKernelRidge

__all__ = [
    "AtomicReferenceRegressor",
    "BlendingRegressor",
    "ClippedRegressor",
    "GaussianProcessKernelRidge",
    "GaussianProcessKernelRidgeCV",
    "LocalKernelRidge",
    "SigmoidMLPRegressor",
    "SparseLocalKernelRidge",
    "local_kernels",
    "per_element_scales",
]
