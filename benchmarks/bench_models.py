"""One table for the ready-made pipelines: 5-fold CV error, fit and predict time.

One row per pipeline of ``skqm7x.make_model`` (the alias ``best`` excepted),
plus the per-element reference energies alone as a baseline, by
KFold(5, shuffle=True, random_state=0) on the labelled challenge molecules:
RMSE, MAE and largest error (eV), seconds to fit and to predict one fold, and,
for the models that predict a standard deviation, the fraction of held-out
errors within 1 and 1.96 predicted standard deviations (68 % and 95 %
Gaussian intervals). Folds run one after the other on one process; set
``OMP_NUM_THREADS=1`` for one-core timings. ``--n-jobs`` is passed to the
models (the threads of the scattering features, the processes of the tight
binding, the searches of the kernel rows).

By default only the kernel rows run (``reference``, ``coulomb-krr``,
``bob-krr``, ``mbtr-krr``, ``fchl-krr``, ``xtb-fchl-krr``: up to about ten minutes
each on one core).
``coulomb-mlp`` (about 10 minutes per fold on one core) and the scattering
rows (features for every molecule) run only when named in ``--only``.

Usage::

    python benchmarks/bench_models.py --data-dir ../shared/data/qm7x
    python benchmarks/bench_models.py --only bob-krr --n-molecules 500
    python benchmarks/bench_models.py --only scattering-krr --n-jobs 2
    python benchmarks/bench_models.py --only xtb-scattering-ridge --n-jobs 2 \
        --memory /tmp/skqm7x-features
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import os
import platform
import time

import numpy as np
import sklearn
from sklearn.model_selection import KFold

import skqm7x

REFERENCE = "reference"
QUICK = [REFERENCE, "coulomb-krr", "bob-krr", "mbtr-krr", "fchl-krr", "xtb-fchl-krr"]
ROWS = [
    REFERENCE,
    "coulomb-mlp",
    "scattering-ridge",
    "coulomb-krr",
    "bob-krr",
    "mbtr-krr",
    "fchl-krr",
    "xtb-fchl-krr",
    "scattering-krr",
    "xtb-scattering-ridge",
]


def build(name, n_jobs=None, memory=None):
    if name == REFERENCE:
        return skqm7x.AtomicReferenceRegressor(handle_unknown="ignore")
    model = skqm7x.make_model(name, random_state=0, n_jobs=n_jobs, memory=memory)
    if isinstance(model, skqm7x.AtomicReferenceRegressor):
        # A subset can leave an element out of a training fold; on all
        # labelled molecules every training fold has every element.
        model.set_params(handle_unknown="ignore")
    return model


def best_params(model):
    """The hyper-parameters a fitted search chose, as a short string."""
    search = getattr(model, "regressor_", model)
    if hasattr(search, "sigma_"):  # LocalKernelRidge's own leave-one-out choice
        return f"sigma={search.sigma_:.3g}, alpha={search.alpha_:.3g}"
    params = getattr(search, "best_params_", None)
    if not params:
        return None
    return ", ".join(
        f"{key.rsplit('__', 1)[-1]}={value:.3g}"
        if isinstance(value, float)
        else f"{key.rsplit('__', 1)[-1]}={value}"
        for key, value in sorted(params.items())
    )


def cross_validate(name, X, y, n_folds, n_jobs=None, memory=None):
    with_std = name in skqm7x.available_models(with_std=True)
    errors, stds = np.empty_like(y), np.empty_like(y)
    fit_seconds, predict_seconds, chosen = [], [], []
    for train, test in KFold(n_folds, shuffle=True, random_state=0).split(X):
        # A fresh model per fold (not a clone): the models with a temporary
        # cache remove it when the object that made it is collected.
        model = build(name, n_jobs, memory)
        start = time.perf_counter()
        model.fit(X[train], y[train])
        fit_seconds.append(time.perf_counter() - start)
        start = time.perf_counter()
        predicted = model.predict(X[test])
        predict_seconds.append(time.perf_counter() - start)
        errors[test] = predicted - y[test]
        if with_std:
            _, stds[test] = model.predict(X[test], return_std=True)
        chosen.append(best_params(model))
    z = np.abs(errors) / stds if with_std else None
    return errors, z, fit_seconds, predict_seconds, chosen


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("SKQM7X_DATA"))
    parser.add_argument(
        "--only",
        nargs="+",
        choices=ROWS,
        default=None,
        metavar="NAME",
        help=f"rows to run, from {', '.join(ROWS)} (default: {', '.join(QUICK)})",
    )
    parser.add_argument(
        "--n-molecules",
        type=int,
        default=None,
        help="use the first N labelled molecules (default: all)",
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="the models' n_jobs (features, tight binding, searches; default: None)",
    )
    parser.add_argument(
        "--memory",
        default=None,
        metavar="DIR",
        help="a persistent cache of the features (joblib.Memory location); the "
        "scattering rows share theirs, so the second of them is cheap "
        "(default: a temporary cache per fold)",
    )
    args = parser.parse_args()

    X, y = skqm7x.load_qm7x(args.data_dir, return_X_y=True)
    X, y = X[: args.n_molecules], y[: args.n_molecules]
    print(
        f"{len(y)} labelled molecules, {args.folds}-fold CV "
        "(KFold, shuffle=True, random_state=0)"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
        f"n_jobs={args.n_jobs}, memory={args.memory}, "
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}"
    )
    print(f"predict-the-mean RMSE: {np.std(y):.3f} eV\n")
    header = (
        f"{'pipeline':<22}{'RMSE (eV)':>10}{'MAE (eV)':>10}{'max |err|':>10}"
        f"{'fit s/fold':>12}{'pred s/fold':>12}{'in 68%':>8}{'in 95%':>8}"
    )
    print(header)
    print("-" * len(header))
    notes = []
    for name in args.only or QUICK:
        errors, z, fit_seconds, predict_seconds, chosen = cross_validate(
            name, X, y, args.folds, args.n_jobs, args.memory
        )
        coverage = (
            f"{np.mean(z <= 1):>8.3f}{np.mean(z <= 1.96):>8.3f}"
            if z is not None
            else f"{'-':>8}{'-':>8}"
        )
        print(
            f"{name:<22}{np.sqrt(np.mean(errors**2)):>10.4f}"
            f"{np.mean(np.abs(errors)):>10.4f}{np.max(np.abs(errors)):>10.2f}"
            f"{np.mean(fit_seconds):>12.1f}{np.mean(predict_seconds):>12.2f}"
            f"{coverage}",
            flush=True,
        )
        worst = int(np.argmax(np.abs(errors)))
        notes.append(
            f"{name}: fit seconds per fold "
            + ", ".join(f"{seconds:.0f}" for seconds in fit_seconds)
            + f"; largest error {errors[worst]:+.3f} eV on row {worst}"
        )
        if any(chosen):
            notes.append(f"{name}: " + "; ".join(map(str, chosen)))
    if notes:
        print("\nper fold (hyper-parameters chosen, fit times), and the worst row:")
        print("\n".join(notes))


if __name__ == "__main__":
    main()
