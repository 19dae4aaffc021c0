"""5-fold CV RMSE of the local FCHL19 kernel for each fixed width and penalty.

``LocalKernelRidge`` chooses ``sigma`` and ``alpha`` by leave-one-out inside
each fit. This script shows what every fixed pair of the grid would score on
the same outer folds (KFold(5, shuffle=True, random_state=0)), after
per-element reference energies fitted on each training fold, so that the
leave-one-out choice can be compared with the best fixed pair in hindsight.
Each fold computes the kernels of all widths in one pass (the library's own
kernel code) and solves for every penalty.

Usage::

    python benchmarks/bench_local_kernel_grid.py
    python benchmarks/bench_local_kernel_grid.py --sigmas 8 16 32 --alphas 1e-7 1e-6
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import os
import platform
import time

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from sklearn.model_selection import KFold

import skqm7x
from skqm7x.models._local_kernel_ridge import _Environments, local_kernels


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir",
        default=None,
        help="a folder in the challenge layout (default: $SKQM7X_DATA, else the "
        "challenge set shipped in the package)",
    )
    parser.add_argument("--sigmas", type=float, nargs="+", default=[2.0, 4.0, 8.0])
    parser.add_argument("--alphas", type=float, nargs="+", default=[1e-8, 1e-6, 1e-4])
    parser.add_argument("--n-molecules", type=int, default=None)
    args = parser.parse_args()

    X, y = skqm7x.load_qm7x(args.data_dir, return_X_y=True)
    X, y = X[: args.n_molecules], y[: args.n_molecules]
    Z, R = skqm7x.unpack_molecules(X)
    elements = np.unique(Z[Z > 0])
    print(
        f"{len(y)} labelled molecules, 5-fold CV (KFold, shuffle=True, "
        f"random_state=0); machine: {platform.machine()}, {os.cpu_count()} cores"
    )
    errors = np.empty((len(args.sigmas), len(args.alphas), len(y)))
    for fold, (train, test) in enumerate(
        KFold(5, shuffle=True, random_state=0).split(X)
    ):
        start = time.perf_counter()
        reference = skqm7x.AtomicReferenceRegressor(handle_unknown="ignore")
        residual = y - reference.fit(X[train], y[train]).predict(X)
        training = _Environments(Z[train], R[train], elements, {})
        held_out = _Environments(Z[test], R[test], elements, {})
        train_kernels = local_kernels(training, training, args.sigmas)
        test_kernels = local_kernels(held_out, training, args.sigmas)
        for i, (K, K_test) in enumerate(zip(train_kernels, test_kernels, strict=True)):
            for j, alpha in enumerate(args.alphas):
                factor = cho_factor(K + alpha * np.eye(len(K)))
                predicted = K_test @ cho_solve(factor, residual[train])
                errors[i, j, test] = predicted - residual[test]
        print(f"fold {fold}: {time.perf_counter() - start:.0f} s", flush=True)

    print(f"\n{'sigma':>8}{'alpha':>10}{'RMSE (eV)':>11}{'MAE (eV)':>10}")
    for i, sigma in enumerate(args.sigmas):
        for j, alpha in enumerate(args.alphas):
            e = errors[i, j]
            print(
                f"{sigma:>8g}{alpha:>10.0e}{np.sqrt(np.mean(e**2)):>11.4f}"
                f"{np.mean(np.abs(e)):>10.4f}"
            )


if __name__ == "__main__":
    main()
