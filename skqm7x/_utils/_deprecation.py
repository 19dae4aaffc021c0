"""Renamed parameters: the old name keeps working for two releases, with a warning."""

# SPDX-License-Identifier: BSD-3-Clause

import warnings

# The default of a renamed parameter: anything else means the caller set it.
DEPRECATED = "deprecated"


def renamed_parameter(estimator, old, new, how):
    """Warn that ``estimator`` was given the ``old`` name of ``new``.

    ``how`` tells what to pass instead.
    """
    warnings.warn(
        f"{type(estimator).__name__}: `{old}` was renamed `{new}` in skqm7x 0.2 "
        f"and will be removed in 0.4; {how}.",
        FutureWarning,
        stacklevel=3,
    )
