"""What matters for kernel ridge regression on Coulomb-type representations.

Each row is one representation and kernel, with or without the per-element
reference energies (``AtomicReferenceRegressor``); each column a kernel width,
as a multiple of the median pairwise distance of the representation on the
molecules used (one table per kernel, each with its own multiples). Cells give
the K-fold CV RMSE (eV) of scikit-learn's ``KernelRidge(kernel="precomputed")``
at the better of two penalties (``--alphas``). Distances are computed once per
representation, so the whole sweep takes minutes; the width and penalty are
picked on the same folds that score them (an ablation, not a nested estimate:
see bench_models.py for that).

Laplacian: ``exp(-||x - x'||_1 / width)``; RBF: ``exp(-||x - x'||_2**2 /
(2 width**2))`` with the Euclidean median.

Usage::

    python benchmarks/bench_kernel_ablation.py
    python benchmarks/bench_kernel_ablation.py --n-molecules 1500 --folds 3
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from _common import (
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
from sklearn.kernel_ridge import KernelRidge
from sklearn.metrics.pairwise import euclidean_distances, manhattan_distances
from sklearn.preprocessing import StandardScaler

import skqm7x

WIDTHS = {"laplacian": (1, 3, 10, 30, 100, 300), "rbf": (0.5, 1, 2, 4, 8, 16)}

# name: (representation, kernel, reference energies first)
VARIANTS = {
    "CM full, no reference": (skqm7x.CoulombMatrixTransformer(), "laplacian", False),
    "CM full": (skqm7x.CoulombMatrixTransformer(), "laplacian", True),
    "CM triangle, no reference": (
        skqm7x.CoulombMatrixTransformer(upper_triangle=True),
        "laplacian",
        False,
    ),
    "CM triangle": (
        skqm7x.CoulombMatrixTransformer(upper_triangle=True),
        "laplacian",
        True,
    ),
    "CM triangle, standardized": (
        skqm7x.CoulombMatrixTransformer(upper_triangle=True),
        "laplacian, standardized",
        True,
    ),
    "CM triangle, RBF": (
        skqm7x.CoulombMatrixTransformer(upper_triangle=True),
        "rbf",
        True,
    ),
    "CM eigenspectrum": (
        skqm7x.CoulombMatrixTransformer(sorting="eigenspectrum"),
        "laplacian",
        True,
    ),
    "BoB 1/r, no reference": (skqm7x.BagOfBondsTransformer(), "laplacian", False),
    "BoB 1/r": (skqm7x.BagOfBondsTransformer(), "laplacian", True),
    "BoB 1/r^2": (skqm7x.BagOfBondsTransformer(exponent=2.0), "laplacian", True),
    "BoB 1/r^3": (skqm7x.BagOfBondsTransformer(exponent=3.0), "laplacian", True),
    "BoB 1/r^6": (skqm7x.BagOfBondsTransformer(exponent=6.0), "laplacian", True),
    "MBTR pairs 1/r^2": (
        skqm7x.ManyBodyTensorTransformer(angle_weight=0.0),
        "rbf",
        True,
    ),
    "MBTR 1/r^2, angles 1/r^2": (skqm7x.ManyBodyTensorTransformer(), "rbf", True),
    "MBTR 1/r^4, angles 1/r^4": (
        skqm7x.ManyBodyTensorTransformer(distance_power=4.0, angle_power=4.0),
        "rbf",
        True,
    ),
}


def distances(features, kernel):
    if kernel.endswith("standardized"):
        features = StandardScaler().fit_transform(features)
    if kernel == "rbf":
        return euclidean_distances(features)
    return manhattan_distances(features)


def cv_errors(K, y, baselines, folds, alpha):
    errors = np.empty_like(y)
    for (train, test), (base_train, base_test) in zip(folds, baselines, strict=True):
        model = KernelRidge(alpha=alpha, kernel="precomputed")
        model.fit(K[np.ix_(train, train)], y[train] - base_train)
        errors[test] = model.predict(K[np.ix_(test, train)]) + base_test - y[test]
    return errors


def main():
    parser = make_parser(__doc__, n_molecules=True, folds=True)
    parser.add_argument("--alphas", nargs=2, type=float, default=[1e-9, 1e-6])
    parser.add_argument(
        "--only", default=None, help="run variants whose name contains this"
    )
    args = parser.parse_args()

    X, y = load_labelled(args.data_dir, args.n_molecules)
    folds = list(kfold(args.folds).split(X))
    print(f"{describe_cv(len(y), args.folds)}; KernelRidge, alpha in {args.alphas}")
    test_like, test_like_line = load_test_like(X, args.data_dir)
    print(describe_machine())
    print(test_like_line + "\n")
    baselines = {}
    for reference in (False, True):
        baselines[reference] = []
        for train, test in folds:
            if reference:
                model = skqm7x.AtomicReferenceRegressor(handle_unknown="ignore")
                model.fit(X[train], y[train])
                baselines[reference].append(
                    (model.predict(X[train]), model.predict(X[test]))
                )
            else:
                mean = y[train].mean()
                baselines[reference].append((mean, mean))
    for family in ("laplacian", "rbf"):
        rows = {
            name: variant
            for name, variant in VARIANTS.items()
            if (variant[1] == "rbf") == (family == "rbf")
            and (not args.only or args.only in name)
        }
        if not rows:
            continue
        table = Table(
            [
                (f"{family}: width / median", "<28"),
                *((f"{w:g}", ">8.4f") for w in WIDTHS[family]),
                ("best: RMSE", ">12.4f"),
                ("MAE", ">8.4f"),
                ("max", ">6.2f"),
                ("like RMSE", ">11.4f"),
                ("like MAE", ">10.4f"),
                ("s", ">6.0f"),
            ]
        )
        for name, (transformer, kernel, reference) in rows.items():
            watch = Stopwatch()
            D = distances(transformer.fit_transform(X), kernel)
            median = np.median(D[np.triu_indices_from(D, k=1)])
            cells, best = [], None
            for multiple in WIDTHS[family]:
                width = multiple * median
                if kernel == "rbf":
                    K = np.exp(-((D / width) ** 2) / 2)
                else:
                    K = np.exp(-D / width)
                scores, errors = min(
                    (
                        (error_scores(errors), errors)
                        for errors in (
                            cv_errors(K, y, baselines[reference], folds, alpha)
                            for alpha in args.alphas
                        )
                    ),
                    key=lambda pair: pair[0],
                )
                cells.append(scores.rmse)
                if best is None or scores < best[0]:
                    best = (scores, error_scores(errors[test_like]))
            scores, like = best
            table.row(name, *cells, *scores, like.rmse, like.mae, watch.seconds)
        print()


if __name__ == "__main__":
    main()
