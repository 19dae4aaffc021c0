"""One held-out fit of the Coulomb MLP pipeline, for tuning by hand.

Fits on 80 % of the labelled molecules (``train_test_split(test_size=0.2,
random_state=0)``) and prints the held-out RMSE and MAE and the fit time.

Usage::

    python benchmarks/holdout_coulomb_mlp.py --expander theta=10 \\
        --mlp solver="'adam'" base_learning_rate=0.01 max_epochs=300 --reference
    python benchmarks/holdout_coulomb_mlp.py --baseline  # GFN2-xTB Delta-learning
"""

import argparse
import ast
import time

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

import skqm7x


def parameters(pairs):
    return {
        key: ast.literal_eval(value) for key, value in (p.split("=", 1) for p in pairs)
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir",
        default=None,
        help="a folder in the challenge layout (default: $SKQM7X_DATA, else the "
        "challenge set shipped in the package)",
    )
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

    X, y = skqm7x.load_qm7x(args.data_dir, return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=0
    )
    expander, mlp = parameters(args.expander), parameters(args.mlp)
    model = make_pipeline(
        skqm7x.CoulombMatrixTransformer(),
        skqm7x.RandomCoulombExpander(random_state=0, **expander),
        skqm7x.SigmoidMLPRegressor(random_state=0, device="cpu", **mlp),
    )
    if args.reference or args.baseline:
        model = skqm7x.AtomicReferenceRegressor(
            model,
            baseline=skqm7x.TightBindingEnergyTransformer() if args.baseline else None,
            handle_unknown="ignore",
        )
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    errors = model.predict(X_test) - y_test
    print(
        f"reference={args.reference} baseline={args.baseline} "
        f"expander={expander} mlp={mlp}: "
        f"held-out RMSE {np.sqrt(np.mean(errors**2)):.3f} eV, "
        f"MAE {np.mean(np.abs(errors)):.3f} eV, fit {seconds:.1f} s "
        f"(predict-the-mean RMSE {np.std(y_test):.3f} eV)"
    )


if __name__ == "__main__":
    main()
