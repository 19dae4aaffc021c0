"""Renamed parameters: the old name keeps working for two releases, with a warning."""

# SPDX-License-Identifier: BSD-3-Clause

import warnings

# The default of a renamed parameter: anything else means the caller set it.
DEPRECATED = "deprecated"


def renamed_value(estimator, old, new, how):
    """The value ``estimator`` was given under ``old``, the former name of ``new``.

    ``None`` when ``old`` was left at its default; otherwise warns, ``how``
    telling what to pass instead.
    """
    value = getattr(estimator, old)
    if isinstance(value, str) and value == DEPRECATED:
        return None
    warnings.warn(
        f"{type(estimator).__name__}: `{old}` was renamed `{new}` in skqm7x 0.2 "
        f"and will be removed in 0.4; {how}.",
        FutureWarning,
        stacklevel=3,
    )
    return value
