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
    python benchmarks/bench_coulomb_mlp.py --only Montavon --first-folds 1
    python benchmarks/bench_coulomb_mlp.py --only "6000 epochs" --n-jobs 2 \\
        --memory ~/skqm7x-folds

``--first-folds K`` fits only the first K of the folds and scores the
molecules they hold out: a partial figure, for a configuration too slow on a
CPU for all five (``montavon-mlp``: about an hour per fold on one core).
``--memory DIR`` keeps each fitted fold's errors and fit time in DIR and
reads them back on the next run of the same configuration: a slow
configuration is measured over several sittings, and the "cached" column
says how many of its folds an earlier run fitted (their fit times are those
runs' own). A fold stopped midway is fitted again; clear DIR after changing
the code.
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
    kfold,
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
        "--first-folds",
        type=int,
        default=None,
        metavar="K",
        help="fit and score only the first K folds (default: all)",
    )
    parser.add_argument(
        "--memory",
        default=None,
        metavar="DIR",
        help="keep the folds' results in DIR and reuse them (default: none)",
    )
    args = parser.parse_args()
    if args.first_folds is not None and not 1 <= args.first_folds <= args.folds:
        parser.error(f"--first-folds takes 1 to {args.folds}, got {args.first_folds}")

    X, y = load_labelled(args.data_dir, args.n_molecules)
    print(describe_cv(len(y), args.folds))
    test_like, test_like_line = load_test_like(X, args.data_dir)
    print(test_like_line)
    if args.first_folds is not None:
        folds = list(kfold(args.folds).split(X))[: args.first_folds]
        held_out = np.concatenate([test for _, test in folds])
        print(
            f"only the first {args.first_folds} fold(s) fitted: {len(held_out)} "
            f"held-out molecules scored, {test_like[held_out].sum()} test-like"
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
            model, X, y, args.folds, args.n_jobs, args.first_folds, args.memory
        )
        scored = np.isfinite(errors)
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
