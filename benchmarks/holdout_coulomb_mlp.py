"""One held-out fit of the Coulomb MLP pipeline, for tuning by hand.

Fits on 80 % of the labelled molecules (``train_test_split(test_size=0.2,
random_state=0)``) and prints the held-out RMSE and MAE, those on the
training molecules themselves (how closely the network fits what it saw)
and the fit time.
``--ensemble N`` fits N networks that differ only in their seed
(``random_state`` 0 to N-1, ``--n-jobs`` at a time) and prints each one's
errors and those of their mean prediction.

Usage::

    python benchmarks/holdout_coulomb_mlp.py --expander theta=10 \\
        --mlp solver="'adam'" base_learning_rate=0.01 max_epochs=300 --reference
    python benchmarks/holdout_coulomb_mlp.py --baseline  # GFN2-xTB Delta-learning
    python benchmarks/holdout_coulomb_mlp.py --expander theta=10 \\
        --mlp solver="'adam'" max_epochs=1500 --reference --ensemble 2 --n-jobs 2
"""

# SPDX-License-Identifier: BSD-3-Clause

import ast

import numpy as np
from _common import (
    Stopwatch,
    error_scores,
    load_labelled,
    load_test_like,
    make_parser,
)
from joblib import Parallel, delayed
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

import skqm7x


def parameters(pairs):
    return {
        key: ast.literal_eval(value) for key, value in (p.split("=", 1) for p in pairs)
    }


def main():
    parser = make_parser(__doc__)
    parser.add_argument("--expander", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--mlp", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--reference", action="store_true", help="wrap in AtomicReferenceRegressor"
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="wrap in AtomicReferenceRegressor with a GFN2-xTB baseline "
        "(Delta-learning)",
    )
    parser.add_argument(
        "--ensemble",
        type=int,
        default=1,
        metavar="N",
        help="fit N networks with seeds 0 to N-1 and also score their mean",
    )
    parser.add_argument(
        "--n-jobs", type=int, default=1, help="networks fitted at a time"
    )
    args = parser.parse_args()
    if args.ensemble < 1:
        parser.error(f"--ensemble counts networks: at least 1, got {args.ensemble}")

    X, y = load_labelled(args.data_dir)
    test_like, _ = load_test_like(X, args.data_dir)
    X_train, X_test, y_train, y_test, _, held_out_like = train_test_split(
        X, y, test_like, test_size=0.2, random_state=0
    )
    expander, mlp = parameters(args.expander), parameters(args.mlp)
    setting = (
        f"reference={args.reference} baseline={args.baseline} "
        f"expander={expander} mlp={mlp}"
    )
    fits = Parallel(n_jobs=args.n_jobs)(
        delayed(fit_and_predict)(args, expander, mlp, seed, X_train, y_train, X_test)
        for seed in range(args.ensemble)
    )
    for seed, (predictions, fitted, seconds) in enumerate(fits):
        member = f" seed={seed}" if args.ensemble > 1 else ""
        training = error_scores(fitted - y_train)
        print(
            f"{setting}{member}: "
            + scores_line(predictions - y_test, held_out_like)
            + f", training RMSE {training.rmse:.3f} eV, MAE {training.mae:.3f} eV"
            + f", fit {seconds:.1f} s (predict-the-mean RMSE {np.std(y_test):.3f} eV)"
        )
    if args.ensemble > 1:
        mean = np.mean([predictions for predictions, _, _ in fits], axis=0)
        print(
            f"{setting}, mean of {args.ensemble} seeds: "
            + scores_line(mean - y_test, held_out_like)
        )


def fit_and_predict(args, expander, mlp, seed, X_train, y_train, X_test):
    model = make_pipeline(
        skqm7x.CoulombMatrixTransformer(),
        skqm7x.SigmoidMLPRegressor(
            expander=skqm7x.RandomCoulombExpander(random_state=seed, **expander),
            random_state=seed,
            device="cpu",
            **mlp,
        ),
    )
    if args.reference or args.baseline:
        model = skqm7x.AtomicReferenceRegressor(
            model,
            baseline=skqm7x.TightBindingEnergyTransformer() if args.baseline else None,
            handle_unknown="ignore",
        )
    watch = Stopwatch()
    model.fit(X_train, y_train)
    seconds = watch.seconds
    return model.predict(X_test), model.predict(X_train), seconds


def scores_line(errors, held_out_like):
    scores, like = error_scores(errors), error_scores(errors[held_out_like])
    return (
        f"held-out RMSE {scores.rmse:.3f} eV, MAE {scores.mae:.3f} eV "
        f"(test-like: {like.rmse:.3f}, {like.mae:.3f} eV)"
    )


if __name__ == "__main__":
    main()
