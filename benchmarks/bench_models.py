"""One table for the ready-made pipelines: 5-fold CV error, fit and predict time.

The figures of docs/performance.md: ``skqm7x cv`` with the benchmark's
protocol fixed, KFold(5, shuffle=True, random_state=0) on the labelled
challenge molecules, one row per model: RMSE, MAE, the RMSE and MAE over the
test-like molecules alone (those whose element set and atom count occur among
the test molecules: ``skqm7x.molecules_like``), largest error (eV), seconds to
fit and to predict one fold, and, for the models that predict a
standard deviation, the fraction of held-out errors within 1 and 1.96
predicted standard deviations (68 % and 95 % Gaussian intervals); then the
hyper-parameters each fold chose and the worst molecules (``--worst N``).
Folds run one after the other in one process; set ``OMP_NUM_THREADS=1`` for
one-core timings.
``--n-jobs`` is passed to the models (the threads of the scattering features,
the processes of the tight binding, the searches of the kernel rows).

By default only the kernel rows run (``reference``, ``coulomb-krr``,
``bob-krr``, ``mbtr-krr``, ``fchl-krr``, ``xtb-fchl-krr``: up to about ten
minutes each on one core). ``coulomb-mlp`` (about 10 minutes per fold on one
core) and the scattering rows (features for every molecule) run only when
named in ``--only``.

Usage::

    python benchmarks/bench_models.py
    python benchmarks/bench_models.py --only bob-krr --n-molecules 500
    python benchmarks/bench_models.py --only scattering-krr --n-jobs 2
    python benchmarks/bench_models.py --only xtb-scattering-ridge --n-jobs 2 \\
        --memory /tmp/skqm7x-features
"""

# SPDX-License-Identifier: BSD-3-Clause

import subprocess
import sys

from _common import make_parser

import skqm7x

QUICK = ["reference", "coulomb-krr", "bob-krr", "mbtr-krr", "fchl-krr", "xtb-fchl-krr"]
ROWS = [name for name in skqm7x.available_models() if name != "best"]


def main(argv=None):
    parser = make_parser(__doc__, n_molecules=True, folds=True)
    parser.add_argument(
        "--only",
        nargs="+",
        choices=ROWS,
        default=QUICK,
        metavar="NAME",
        help=f"rows to run, from {', '.join(ROWS)} (default: {', '.join(QUICK)})",
    )
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
        help="a persistent cache of the features; the scattering rows share "
        "theirs, so the second of them is cheap (default: a temporary cache "
        "per fold)",
    )
    parser.add_argument(
        "--worst",
        type=int,
        default=1,
        metavar="N",
        help="list the N molecules with the largest errors (default: 1)",
    )
    args = parser.parse_args(argv)
    command = ["cv", *args.only, "--folds", str(args.folds), "--random-state", "0"]
    command.append("--quiet")
    for option, value in (
        ("--data-dir", args.data_dir),
        ("--n-molecules", args.n_molecules),
        ("--n-jobs", args.n_jobs),
        ("--cache-dir", args.memory),
        ("--worst", args.worst),
    ):
        if value is not None:
            command += [option, str(value)]
    # The command line as a user runs it, all folds in one process.
    run = [sys.executable, "-m", "skqm7x", *command]
    return subprocess.run(run, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
