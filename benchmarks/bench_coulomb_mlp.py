"""5-fold CV RMSE and training time of the Coulomb-matrix MLP pipeline.

Prints one row per configuration: per-element reference energies alone (a
baseline), the seed-faithful defaults (Montavon et al., 2012) and the tuned
configuration that ``make_model("coulomb-mlp")`` builds, and the same on top
of a GFN2-xTB baseline (``make_model("xtb-coulomb-mlp")``, Delta-learning), by
KFold(5, shuffle=True, random_state=0) on the labelled challenge molecules.

Usage::

    python benchmarks/bench_coulomb_mlp.py
    python benchmarks/bench_coulomb_mlp.py --n-molecules 500   # a quick look
"""

import argparse
import os
import platform
import time

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline

import skqm7x


def configurations():
    defaults = make_pipeline(
        skqm7x.CoulombMatrixTransformer(),
        skqm7x.RandomCoulombExpander(random_state=0),
        skqm7x.SigmoidMLPRegressor(random_state=0, device="cpu"),
    )
    tuned = skqm7x.make_model("coulomb-mlp", random_state=0)
    tuned.set_params(regressor__sigmoidmlpregressor__device="cpu")
    shorter = clone(tuned).set_params(regressor__sigmoidmlpregressor__max_epochs=600)
    delta = skqm7x.make_model("xtb-coulomb-mlp", random_state=0)
    delta.set_params(regressor__sigmoidmlpregressor__device="cpu")
    return {
        "atomic reference alone": skqm7x.AtomicReferenceRegressor(),
        "defaults (Montavon 2012)": defaults,
        "tuned, 600 epochs": shorter,
        "tuned (make_model)": tuned,
        "tuned + GFN2-xTB baseline": delta,
    }


def fit_fold(model, X, y, train, test):
    start = time.perf_counter()
    model.fit(X[train], y[train])
    return model.predict(X[test]) - y[test], time.perf_counter() - start


def cross_validate(model, X, y, n_folds, n_jobs):
    folds = list(KFold(n_folds, shuffle=True, random_state=0).split(X))
    results = Parallel(n_jobs=n_jobs)(
        delayed(fit_fold)(clone(model), X, y, train, test) for train, test in folds
    )
    errors = np.empty_like(y)
    for (_, test), (fold_errors, _) in zip(folds, results, strict=True):
        errors[test] = fold_errors
    return errors, [seconds for _, seconds in results]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir",
        default=None,
        help="a folder in the challenge layout (default: $SKQM7X_DATA, else the "
        "challenge set shipped in the package)",
    )
    parser.add_argument(
        "--n-molecules",
        type=int,
        default=None,
        help="use the first N labelled molecules (default: all)",
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--n-jobs", type=int, default=1, help="folds trained in parallel processes"
    )
    parser.add_argument(
        "--only", default=None, help="run configurations whose name contains this"
    )
    args = parser.parse_args()

    X, y = skqm7x.load_qm7x(args.data_dir, return_X_y=True)
    X, y = X[: args.n_molecules], y[: args.n_molecules]
    print(
        f"{len(y)} labelled molecules, {args.folds}-fold CV "
        "(KFold, shuffle=True, random_state=0)"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, CPU"
    )
    print(f"predict-the-mean RMSE: {np.std(y):.3f} eV\n")
    header = (
        f"{'configuration':<28}{'RMSE (eV)':>10}{'MAE (eV)':>10}{'max |err|':>10}"
        f"{'fit s/fold':>12}"
    )
    print(header)
    print("-" * len(header))
    for name, model in configurations().items():
        if args.only and args.only not in name:
            continue
        errors, fit_seconds = cross_validate(model, X, y, args.folds, args.n_jobs)
        print(
            f"{name:<28}{np.sqrt(np.mean(errors**2)):>10.3f}"
            f"{np.mean(np.abs(errors)):>10.3f}{np.max(np.abs(errors)):>10.2f}"
            f"{np.mean(fit_seconds):>12.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
