"""5-fold CV RMSE and training time of the Coulomb-matrix MLP pipeline.

Prints one row per configuration: per-element reference energies alone (a
baseline), the seed-faithful defaults (Montavon et al., 2012) and the tuned
configuration that ``make_model("coulomb-mlp")`` builds, the same on top of a
GFN2-xTB baseline (``make_model("xtb-coulomb-mlp")``, Delta-learning), and
Montavon et al.'s own training protocol (``make_model("montavon-mlp")``), by
KFold(5, shuffle=True, random_state=0) on the labelled challenge molecules.

Usage::

    python benchmarks/bench_coulomb_mlp.py
    python benchmarks/bench_coulomb_mlp.py --n-molecules 500   # a quick look
    python benchmarks/bench_coulomb_mlp.py --only Montavon --fit-folds 1
    python benchmarks/bench_coulomb_mlp.py --only Montavon --n-jobs 2 \\
        --fit-folds 1 2 --memory benchmarks/results/folds
    python benchmarks/bench_coulomb_mlp.py --only protocol \\
        --memory benchmarks/results/folds   # montavon-mlp's five kept folds

``--fit-folds K [K ...]`` fits only those of the folds (numbered from 1) and
scores the molecules they hold out: a partial figure, for a configuration
too slow on a CPU for all five in one sitting (``montavon-mlp``: about 41
minutes of one core per fold, an hour or more beside other work).
``--memory DIR`` keeps each fitted fold's errors and fit time in DIR as
JSON, written as soon as the fold is fitted, and reads
back the folds kept there by earlier runs of the same configuration: a slow
configuration is measured over several sittings, and the "cached" column
says how many of its folds were read back (their fit times are those runs'
own). A fold stopped midway is fitted again; clear DIR after changing the
code.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import torch
from _common import (
    TEST_LIKE_COLUMNS,
    Table,
    cross_validate,
    describe_cv,
    describe_machine,
    error_scores,
    load_labelled,
    load_test_like,
    make_parser,
)
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

import skqm7x


def configurations():
    defaults = make_pipeline(
        skqm7x.CoulombMatrixTransformer(),
        skqm7x.SigmoidMLPRegressor(
            expander=skqm7x.RandomCoulombExpander(random_state=0),
            random_state=0,
            device="cpu",
        ),
    )
    tuned = skqm7x.make_model("coulomb-mlp", random_state=0)
    tuned.set_params(regressor__sigmoidmlpregressor__device="cpu")

    def epochs(n):
        return clone(tuned).set_params(regressor__sigmoidmlpregressor__max_epochs=n)

    delta = skqm7x.make_model("xtb-coulomb-mlp", random_state=0)
    delta.set_params(regressor__sigmoidmlpregressor__device="cpu")
    montavon = skqm7x.make_model("montavon-mlp", random_state=0)
    montavon.set_params(regressor__sigmoidmlpregressor__device="cpu")
    return {
        "atomic reference alone": skqm7x.AtomicReferenceRegressor(),
        "defaults (Montavon 2012)": defaults,
        "tuned, 600 epochs": epochs(600),
        "tuned (make_model)": tuned,
        "tuned, 3000 epochs": epochs(3000),
        "tuned, 6000 epochs": epochs(6000),
        "tuned + GFN2-xTB baseline": delta,
        "Montavon's protocol (montavon-mlp)": montavon,
    }


def main():
    parser = make_parser(__doc__, n_molecules=True, folds=True)
    parser.add_argument(
        "--n-jobs", type=int, default=1, help="folds trained in parallel processes"
    )
    parser.add_argument(
        "--only",
        default=None,
        help="run configurations whose name contains this (any case)",
    )
    parser.add_argument(
        "--fit-folds",
        type=int,
        nargs="+",
        default=None,
        metavar="K",
        help="fit only these folds, numbered from 1 (default: all)",
    )
    parser.add_argument(
        "--memory",
        default=None,
        metavar="DIR",
        help="keep each fitted fold's errors in DIR and read back those kept "
        "(default: none)",
    )
    args = parser.parse_args()
    for fold in args.fit_folds or []:
        if not 1 <= fold <= args.folds:
            parser.error(f"--fit-folds takes 1 to {args.folds}, got {fold}")

    X, y = load_labelled(args.data_dir, args.n_molecules)
    print(describe_cv(len(y), args.folds))
    test_like, test_like_line = load_test_like(X, args.data_dir)
    print(test_like_line)
    if args.fit_folds is not None:
        print(
            f"only folds {sorted(set(args.fit_folds))} fitted, and those --memory keeps"
        )
    print(
        describe_machine(
            f"torch {torch.__version__}", f"{torch.get_num_threads()} threads", "CPU"
        )
    )
    print(f"predict-the-mean RMSE: {np.std(y):.3f} eV\n")
    table = Table(
        [
            ("configuration", "<28"),
            ("RMSE (eV)", ">10.3f"),
            ("MAE (eV)", ">10.3f"),
            *TEST_LIKE_COLUMNS,
            ("max |err|", ">10.2f"),
            ("fit s/fold", ">12.1f"),
            ("cached", ">7"),
        ]
    )
    for name, model in configurations().items():
        if args.only and args.only.lower() not in name.lower():
            continue
        errors, fit_seconds, n_cached = cross_validate(
            model, X, y, args.folds, args.n_jobs, args.fit_folds, args.memory
        )
        scored = np.isfinite(errors)
        if not scored.all():
            print(
                f"{name}: {scored.sum()} held-out molecules scored "
                f"({(test_like & scored).sum()} test-like), the others' folds "
                "not fitted"
            )
        rmse, mae, largest = error_scores(errors[scored])
        like_rmse, like_mae, _ = error_scores(errors[test_like & scored])
        table.row(
            name,
            rmse,
            mae,
            like_rmse,
            like_mae,
            largest,
            np.mean(fit_seconds),
            f"{n_cached}/{len(fit_seconds)}",
        )


if __name__ == "__main__":
    main()
