"""5-fold CV RMSE of the local FCHL19 kernel for each fixed width and penalty.

``LocalKernelRidge`` chooses ``gamma`` and ``alpha`` by leave-one-out inside
each fit. This script shows what every fixed pair of the grid would score on
the same outer folds (KFold(5, shuffle=True, random_state=0)), after
per-element reference energies fitted on each training fold, so that the
leave-one-out choice can be compared with the best fixed pair in hindsight.
Each fold computes the kernels of all widths in one pass (the library's own
kernel code) and solves for every penalty. The grid is given by the widths
``sigma`` of the Gaussian kernel, ``gamma = 1 / (2 sigma^2)``.

Usage::

    python benchmarks/bench_local_kernel_grid.py
    python benchmarks/bench_local_kernel_grid.py --sigmas 8 16 32 --alphas 1e-7 1e-6
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from _common import (
    TEST_LIKE_COLUMNS,
    Stopwatch,
    Table,
    describe_cv,
    describe_machine,
    error_scores,
    kfold,
    load_labelled,
    load_test_like,
    make_parser,
)
from scipy.linalg import cho_factor, cho_solve

import skqm7x
from skqm7x.models import local_kernels
from skqm7x.representations import fchl19_environments


def main():
    parser = make_parser(__doc__, n_molecules=True)
    parser.add_argument("--sigmas", type=float, nargs="+", default=[2.0, 4.0, 8.0])
    parser.add_argument("--alphas", type=float, nargs="+", default=[1e-8, 1e-6, 1e-4])
    args = parser.parse_args()

    X, y = load_labelled(args.data_dir, args.n_molecules)
    Z, R = skqm7x.unpack_molecules(X)
    elements = np.unique(Z[Z > 0])
    test_like, test_like_line = load_test_like(X, args.data_dir)
    print(f"{describe_cv(len(y))}; {describe_machine()}\n{test_like_line}")
    errors = np.empty((len(args.sigmas), len(args.alphas), len(y)))
    for fold, (train, test) in enumerate(kfold().split(X)):
        watch = Stopwatch()
        reference = skqm7x.AtomicReferenceRegressor(handle_unknown="ignore")
        residual = y - reference.fit(X[train], y[train]).predict(X)
        training = fchl19_environments(X[train], elements)
        held_out = fchl19_environments(X[test], elements)
        gammas = [0.5 / sigma**2 for sigma in args.sigmas]
        train_kernels = local_kernels(training, None, gammas)
        test_kernels = local_kernels(held_out, training, gammas)
        for i, (K, K_test) in enumerate(zip(train_kernels, test_kernels, strict=True)):
            for j, alpha in enumerate(args.alphas):
                factor = cho_factor(K + alpha * np.eye(len(K)))
                predicted = K_test @ cho_solve(factor, residual[train])
                errors[i, j, test] = predicted - residual[test]
        print(f"fold {fold}: {watch.seconds:.0f} s", flush=True)

    print()
    table = Table(
        [
            ("sigma", ">8g"),
            ("alpha", ">10.0e"),
            ("RMSE (eV)", ">11.4f"),
            ("MAE (eV)", ">10.4f"),
            *TEST_LIKE_COLUMNS,
        ],
        rule=False,
    )
    for i, sigma in enumerate(args.sigmas):
        for j, alpha in enumerate(args.alphas):
            table.row(
                sigma,
                alpha,
                *error_scores(errors[i, j])[:2],
                *error_scores(errors[i, j, test_like])[:2],
            )


if __name__ == "__main__":
    main()
