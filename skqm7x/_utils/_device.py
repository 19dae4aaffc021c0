"""Where torch computes: one rule for every estimator that takes ``device``."""

# SPDX-License-Identifier: BSD-3-Clause


def resolve_device(device):
    """``"auto"`` becomes ``"cuda"`` when torch sees a GPU, else ``"cpu"``.

    ``"cuda"`` without a usable GPU is a clear ``ValueError``, raised before
    any work starts.
    """
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device='cuda' was requested, but torch finds no usable CUDA device "
            "(torch.cuda.is_available() is False); use device='auto' or 'cpu'."
        )
    return device
