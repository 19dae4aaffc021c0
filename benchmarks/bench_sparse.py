"""The sparse local kernel model against the exact one: accuracy, time, memory.

Two tables, each configuration run in a fresh process (its peak memory is
that of the process and its workers):

``--accuracy``: on the labelled challenge molecules, KFold(5, shuffle=True,
random_state=0), the exact ``xtb-fchl-krr`` (the best model) and
``xtb-sparse-fchl-krr`` with each ``--inducing`` count of representative
atoms: RMSE, MAE and their test-like values (eV), the ratio of the RMSE to
the exact model's, seconds to fit and predict a fold, peak memory. Width and
penalty are chosen inside each fit (nested).

``--dask``: ``sparse-fchl-krr`` fitted on the first ``--dask-size``
conformers with its chunks on a local Dask cluster of one worker, then of two
(one thread each), through joblib's Dask backend: seconds and speed-up.

``--scaling``: on generated conformers of the challenge molecules labelled
with GFN2-xTB energies (``_conformers.py``; generated on the first run and
cached in ``--data-cache``), ``sparse-fchl-krr`` fitted on each ``--sizes``
number of molecules with each ``--inducing`` count, and the exact
``fchl-krr`` up to ``--exact-up-to`` molecules: seconds to fit, peak memory,
RMSE on 2000 other conformers; then the slopes of log time and log memory
against log n (for each count) and against log M (for each size).

Usage::

    python benchmarks/bench_sparse.py --accuracy --inducing 2000 4000 8000
    python benchmarks/bench_sparse.py --scaling --sizes 1000 3000 10000 \\
        --inducing 1000 2000 4000
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
    run_isolated,
)
from _conformers import DEFAULT_CACHE, conformers, describe

import skqm7x


def model(name, n_inducing, n_jobs):
    estimator = skqm7x.make_model(name, n_jobs=n_jobs)
    # A rare element (chlorine, sulphur) may miss a training set by chance.
    estimator.set_params(handle_unknown="ignore")
    if "sparse" in name:
        estimator.set_params(regressor__n_inducing=n_inducing)
    return estimator


def cross_validate_model(name, n_inducing, n_jobs, data_dir):
    """Out-of-fold errors, fit and predict seconds of each fold."""
    X, y = load_labelled(data_dir)
    errors, fit_seconds, predict_seconds = np.empty_like(y), [], []
    for train, test in kfold().split(X):
        estimator = model(name, n_inducing, n_jobs)
        watch = Stopwatch()
        estimator.fit(X[train], y[train])
        fit_seconds.append(watch.seconds)
        watch = Stopwatch()
        errors[test] = estimator.predict(X[test]) - y[test]
        predict_seconds.append(watch.seconds)
    return errors, fit_seconds, predict_seconds


def accuracy(args):
    X, _ = load_labelled(args.data_dir)
    test_like, test_like_line = load_test_like(X, args.data_dir)
    print(f"\n## Accuracy: {describe_cv(len(X))}\n{test_like_line}\n")
    table = Table(
        [
            ("model", "<28"),
            ("RMSE (eV)", ">10.4f"),
            ("MAE (eV)", ">10.4f"),
            ("test-like RMSE", ">16.4f"),
            ("test-like MAE", ">15.4f"),
            ("RMSE / exact", ">14.3f"),
            ("fit s/fold", ">12.1f"),
            ("pred s/fold", ">12.2f"),
            ("peak MiB", ">10.0f"),
        ]
    )
    exact_rmse = None
    rows = [("xtb-fchl-krr", None)] + [
        ("xtb-sparse-fchl-krr", n_inducing) for n_inducing in args.inducing
    ]
    for name, n_inducing in rows:
        (errors, fit_seconds, predict_seconds), _, peak = run_isolated(
            cross_validate_model, None, name, n_inducing, args.n_jobs, args.data_dir
        )
        scores, like = error_scores(errors), error_scores(errors[test_like])
        exact_rmse = exact_rmse or scores.rmse
        label = name if n_inducing is None else f"{name}, M={n_inducing}"
        table.row(
            label,
            scores.rmse,
            scores.mae,
            like.rmse,
            like.mae,
            scores.rmse / exact_rmse,
            np.mean(fit_seconds),
            np.mean(predict_seconds),
            peak,
        )


def fit_and_score(name, n_inducing, n_molecules, n_total, n_jobs, cache_dir):
    """Seconds to fit on the first ``n_molecules`` of ``n_total`` conformers
    (the generated set is cached whole), and the held-out RMSE."""
    X, y = conformers(n_total, cache_dir=cache_dir, n_jobs=n_jobs)
    X, y = X[:n_molecules], y[:n_molecules]
    X_test, y_test = conformers(2000, seed=1, cache_dir=cache_dir, n_jobs=n_jobs)
    estimator = model(name, n_inducing, n_jobs)
    watch = Stopwatch()
    estimator.fit(X, y)
    seconds = watch.seconds
    return seconds, error_scores(estimator.predict(X_test) - y_test).rmse


def fit_on_dask(n_workers, n_inducing, n_molecules, n_total, cache_dir):
    """Seconds to fit ``sparse-fchl-krr`` with its chunks on a local cluster."""
    import distributed
    from joblib import parallel_config

    X, y = conformers(n_total, cache_dir=cache_dir)
    X, y = X[:n_molecules], y[:n_molecules]
    estimator = model("sparse-fchl-krr", n_inducing, -1)
    with (
        distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster),
        parallel_config(backend="dask"),
    ):
        watch = Stopwatch()
        estimator.fit(X, y)
        return watch.seconds


def dask(args):
    n, m = args.dask_size, args.inducing[0]
    print(
        f"\n## On a local Dask cluster: sparse-fchl-krr, the first {n} of "
        f"{describe(max(args.sizes))}, M={m}, one thread per worker, "
        "joblib's Dask backend\n"
    )
    conformers(max(args.sizes), cache_dir=args.data_cache, n_jobs=args.n_jobs)
    table = Table([("workers", ">8"), ("fit s", ">9.1f"), ("speed-up", ">10.2f")])
    one = None
    for n_workers in (1, 2):
        seconds, _, _ = run_isolated(
            fit_on_dask, None, n_workers, m, n, max(args.sizes), args.data_cache
        )
        one = one or seconds
        table.row(n_workers, seconds, one / seconds)


def _slope(x, y):
    return float(np.polyfit(np.log(x), np.log(y), 1)[0]) if len(x) > 1 else np.nan


def scaling(args):
    print(f"\n## Scaling: {describe(max(args.sizes))} (the first n of them)")
    print(f"held out: {describe(2000, seed=1)}\n")
    # Generate (and cache) the largest set, and the held-out one, once.
    conformers(max(args.sizes), cache_dir=args.data_cache, n_jobs=args.n_jobs)
    conformers(2000, seed=1, cache_dir=args.data_cache, n_jobs=args.n_jobs)
    table = Table(
        [
            ("model", "<24"),
            ("n", ">8"),
            ("M", ">6"),
            ("fit s", ">9.1f"),
            ("peak MiB", ">10.0f"),
            ("held-out RMSE", ">15.4f"),
        ]
    )
    runs = [("fchl-krr", None, n) for n in args.sizes if n <= args.exact_up_to] + [
        ("sparse-fchl-krr", m, n) for m in args.inducing for n in args.sizes
    ]
    results = {}
    for name, m, n in runs:
        (seconds, rmse), _, peak = run_isolated(
            fit_and_score,
            None,
            name,
            m,
            n,
            max(args.sizes),
            args.n_jobs,
            args.data_cache,
        )
        results[name, m, n] = (seconds, peak)
        table.row(name, n, "-" if m is None else m, seconds, peak, rmse)
    print("\nslopes of log(fit s) and log(peak MiB):")
    for name, m in [
        ("fchl-krr", None),
        *(("sparse-fchl-krr", m) for m in args.inducing),
    ]:
        sizes = [n for n in args.sizes if (name, m, n) in results]
        if len(sizes) > 1:
            seconds, peaks = zip(*(results[name, m, n] for n in sizes), strict=True)
            print(
                f"  {name}{'' if m is None else f', M={m}'}, against log n: time "
                f"{_slope(sizes, seconds):.2f}, memory {_slope(sizes, peaks):.2f}"
            )
    for n in args.sizes:
        if len(args.inducing) > 1:
            seconds, peaks = zip(
                *(results["sparse-fchl-krr", m, n] for m in args.inducing), strict=True
            )
            print(
                f"  sparse-fchl-krr, n={n}, against log M: time "
                f"{_slope(args.inducing, seconds):.2f}, memory "
                f"{_slope(args.inducing, peaks):.2f}"
            )


def main():
    parser = make_parser(__doc__)
    parser.add_argument("--accuracy", action="store_true")
    parser.add_argument("--scaling", action="store_true")
    parser.add_argument("--dask", action="store_true")
    parser.add_argument("--dask-size", type=int, default=10000, metavar="N")
    parser.add_argument(
        "--inducing", type=int, nargs="+", default=[2000, 4000, 8000], metavar="M"
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1000, 3000, 10000], metavar="N"
    )
    parser.add_argument("--exact-up-to", type=int, default=3000, metavar="N")
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--data-cache", default=DEFAULT_CACHE, metavar="DIR")
    args = parser.parse_args()
    print(describe_machine(f"n_jobs={args.n_jobs}"))
    if args.accuracy:
        accuracy(args)
    if args.scaling:
        scaling(args)
    if args.dask:
        dask(args)


if __name__ == "__main__":
    main()
