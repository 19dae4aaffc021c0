"""Learning curves: 5-fold CV RMSE against the number of training molecules.

For each pipeline of ``skqm7x.make_model`` named in ``--models`` (and the
per-element reference energies alone, ``reference``), scikit-learn's
``learning_curve`` trains on the first N molecules of a seeded shuffle of each
training fold of KFold(5, shuffle=True, random_state=0) and scores the whole
held-out fold; the curve shows the mean and standard deviation of the five
folds' RMSE. A kernel model reruns its own hyper-parameter search at every
size. Rows are merged into ``--results`` (a CSV keyed by pipeline and size),
so a long curve can be computed a few sizes at a time; the plot (log-log,
saved as ``--output``) shows every row of that file. ``--label`` files one
model's rows under another name, so that a changed model's curve can stand
beside the rows its earlier version left in the file.

Usage::

    python benchmarks/bench_learning_curve.py \\
        --models reference coulomb-krr bob-krr --sizes 100 200 400 800
    python benchmarks/bench_learning_curve.py --models bob-krr --sizes 1600 3033
"""

# SPDX-License-Identifier: BSD-3-Clause

import csv
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import Stopwatch, Table, kfold, load_labelled, make_parser
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter
from sklearn.model_selection import learning_curve

import skqm7x

FIELDS = ["pipeline", "n_train", "rmse_mean", "rmse_std", "fit_s", "folds"]


def build(name):
    if name == "reference":
        return skqm7x.AtomicReferenceRegressor(handle_unknown="ignore")
    # Small training sets can miss the rarer elements (S, Cl).
    return skqm7x.make_model(name, random_state=0).set_params(handle_unknown="ignore")


def read_rows(path):
    if not path.exists():
        return {}
    with open(path, newline="") as file:
        return {
            (row["pipeline"], int(row["n_train"])): row for row in csv.DictReader(file)
        }


def write_rows(path, rows):
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows[key] for key in sorted(rows))


def plot(rows, output):
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    for name in sorted({name for name, _ in rows}):
        points = sorted(
            (n, row) for (pipeline, n), row in rows.items() if pipeline == name
        )
        sizes = np.array([n for n, _ in points])
        rmse = np.array([float(row["rmse_mean"]) for _, row in points])
        spread = np.array([float(row["rmse_std"]) for _, row in points])
        ax.errorbar(sizes, rmse, yerr=spread, marker="o", capsize=3, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training molecules")
    ax.set_ylabel("RMSE on the held-out fold (eV)")
    ax.set_title("Learning curves, KFold(5, shuffle=True, random_state=0)")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        axis.set_major_formatter(FormatStrFormatter("%g"))
        axis.set_minor_formatter(NullFormatter())
    ax.grid(True, which="both", alpha=0.3)
    # Beside the axes: inside, it would hide the curves of the best models.
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small")
    fig.tight_layout()
    fig.savefig(output, dpi=120)


def main():
    parser = make_parser(__doc__)
    parser.add_argument(
        "--models",
        nargs="+",
        default=[],
        choices=["reference", *skqm7x.available_models()],
        metavar="NAME",
        help="pipelines to compute (default: none, only plot --results)",
    )
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=int,
        default=[100, 200, 400, 800, 1600, 3033],
        help="training set sizes (at most 4/5 of the labelled molecules)",
    )
    parser.add_argument(
        "--label",
        default=None,
        help="name of the rows of the one model of --models (default: its name)",
    )
    parser.add_argument("--results", type=Path, default=Path("learning_curve.csv"))
    parser.add_argument("--output", type=Path, default=Path("learning_curve.png"))
    args = parser.parse_args()
    if args.label is not None and len(args.models) != 1:
        parser.error("--label names the rows of one model: give one in --models")

    rows = read_rows(args.results)
    if args.models:
        X, y = load_labelled(args.data_dir)
        table = Table(
            [
                ("pipeline", "<30"),
                ("n_train", ">8"),
                ("RMSE (eV)", ">11.4f"),
                ("+-", ">8.4f"),
                ("fit s", ">9.1f"),
            ],
            rule=False,
        )
        for name in args.models:
            watch = Stopwatch()
            sizes, _, test_scores, fit_times, _ = learning_curve(
                build(name),
                X,
                y,
                train_sizes=args.sizes,
                cv=kfold(),
                scoring="neg_root_mean_squared_error",
                shuffle=True,
                random_state=0,
                return_times=True,
            )
            label = args.label or name
            for n, scores, seconds in zip(sizes, -test_scores, fit_times, strict=True):
                rows[(label, int(n))] = {
                    "pipeline": label,
                    "n_train": int(n),
                    "rmse_mean": f"{scores.mean():.4f}",
                    "rmse_std": f"{scores.std():.4f}",
                    "fit_s": f"{seconds.mean():.1f}",
                    "folds": len(scores),
                }
                table.row(label, n, scores.mean(), scores.std(), seconds.mean())
            print(f"  ({watch.seconds:.0f} s)", flush=True)
        write_rows(args.results, rows)
    if not rows:
        parser.error(f"no results in {args.results}; name --models to compute some")
    plot(rows, args.output)
    print(f"plotted {len(rows)} points from {args.results} to {args.output}")


if __name__ == "__main__":
    main()
