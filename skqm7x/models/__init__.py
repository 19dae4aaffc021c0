"""Models: regressors of the energy, and meta-regressors around any model.

The regressors take features from ``skqm7x.representations`` (in a
pipeline), or packed molecules where they compute their own
(``LocalKernelRidge``, ``SparseLocalKernelRidge``); ``AtomicReferenceRegressor`` and
``ClippedRegressor`` wrap any regressor, and ``BlendingRegressor`` blends
several.
:func:`save_model` and :func:`load_model` keep a fitted model in a file.
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
from skqm7x.models._model_file import (
    ModelFileError,
    load_model,
    read_model_info,
    save_model,
)
from skqm7x.models._reference import AtomicReferenceRegressor
from skqm7x.models._sparse_local_kernel_ridge import SparseLocalKernelRidge

__all__ = [
    "AtomicReferenceRegressor",
    "BlendingRegressor",
    "ClippedRegressor",
    "GaussianProcessKernelRidge",
    "GaussianProcessKernelRidgeCV",
    "LocalKernelRidge",
    "ModelFileError",
    "SigmoidMLPRegressor",
    "SparseLocalKernelRidge",
    "load_model",
    "local_kernels",
    "per_element_scales",
    "read_model_info",
    "save_model",
]
