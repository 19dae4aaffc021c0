"""Helpers that several families share: caches, atomic files, devices."""

# SPDX-License-Identifier: BSD-3-Clause
