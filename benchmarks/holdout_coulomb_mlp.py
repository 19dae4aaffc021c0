"""One held-out fit of the Coulomb MLP pipeline, for tuning by hand.

Fits on 80 % of the labelled molecules (``train_test_split(test_size=0.2,
random_state=0)``) and prints the held-out RMSE and MAE and the fit time.

Usage::

    python benchmarks/holdout_coulomb_mlp.py --expander theta=10 \\
        --mlp solver="'adam'" base_learning_rate=0.01 max_epochs=300 --reference
    python benchmarks/holdout_coulomb_mlp.py --baseline  # GFN2-xTB Delta-learning
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
    args = parser.parse_args()

    X, y = load_labelled(args.data_dir)
    test_like, _ = load_test_like(X, args.data_dir)
    X_train, X_test, y_train, y_test, _, held_out_like = train_test_split(
        X, y, test_like, test_size=0.2, random_state=0
    )
    expander, mlp = parameters(args.expander), parameters(args.mlp)
    model = make_pipeline(
        skqm7x.CoulombMatrixTransformer(),
        skqm7x.SigmoidMLPRegressor(
            expander=skqm7x.RandomCoulombExpander(random_state=0, **expander),
            random_state=0,
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
    errors = model.predict(X_test) - y_test
    scores, like = error_scores(errors), error_scores(errors[held_out_like])
    print(
        f"reference={args.reference} baseline={args.baseline} "
        f"expander={expander} mlp={mlp}: "
        f"held-out RMSE {scores.rmse:.3f} eV, "
        f"MAE {scores.mae:.3f} eV (test-like: {like.rmse:.3f}, {like.mae:.3f} "
        f"eV), fit {seconds:.1f} s "
        f"(predict-the-mean RMSE {np.std(y_test):.3f} eV)"
    )


if __name__ == "__main__":
    main()
