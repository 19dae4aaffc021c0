"""Defaults that two families must agree on."""

# SPDX-License-Identifier: BSD-3-Clause

DEFAULT_N_DRAWS = 10
"""Random Coulomb matrices per molecule: the expander draws them, and the MLP
reads its input rows as that many views of one molecule."""
