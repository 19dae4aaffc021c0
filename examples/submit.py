"""Train on the labelled QM7-X molecules and write the challenge submission.

Usage::

    python examples/submit.py --data-dir ../shared/data/qm7x --model best \\
        --out submission.csv --cv 5 --uncertainty submission_std.csv

Reads ``atoms/train``, ``atoms/test`` and ``energies/train.csv`` from the data
folder, optionally reports the K-fold cross-validated RMSE and MAE, fits the
model on every labelled molecule and writes ``id,energy`` for every test
molecule, in id order. ``--uncertainty`` also writes ``id,std``, the predicted
standard deviation of each energy, to a separate file (models that predict
one only); the submission keeps its format. The CSVs are written atomically:
an interrupted run leaves no partial file.
"""

import argparse
import sys
import time
from contextlib import contextmanager

import numpy as np
from sklearn.model_selection import KFold, cross_val_predict

import skqm7x


def parse_args(argv=None):
    models = skqm7x.available_models()
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="models:\n"
        + "\n".join(f"  {name:20} {text}" for name, text in models.items()),
    )
    parser.add_argument(
        "--data-dir",
        help="challenge data folder (default: $SKQM7X_DATA)",
    )
    parser.add_argument(
        "--model",
        choices=sorted(models),
        default="best",
        help="the pipeline (default: best; see 'models' below)",
    )
    parser.add_argument("--out", default="submission.csv", help="the CSV to write")
    parser.add_argument(
        "--uncertainty",
        default=None,
        metavar="CSV",
        help="also write id,std (eV) here; models: "
        + ", ".join(sorted(skqm7x.available_models(with_std=True))),
    )
    parser.add_argument(
        "--cv",
        type=int,
        default=0,
        metavar="K",
        help="report the K-fold cross-validated RMSE first (K >= 2)",
    )
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument(
        "--cache-dir",
        default=None,
        help="cache fitted transformers here (joblib.Memory), for faster reruns",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)
    if args.cv == 1 or args.cv < 0:
        parser.error("--cv needs K >= 2 folds (or 0 to skip)")
    if args.uncertainty and args.model not in skqm7x.available_models(with_std=True):
        parser.error(f"--uncertainty: model {args.model!r} predicts no std")
    return args


@contextmanager
def stage(name, timings):
    start = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - start
    print(f"{name:<24} {timings[name]:8.1f} s", flush=True)


def main(argv=None):
    args = parse_args(argv)
    verbose = not args.quiet
    model = skqm7x.make_model(
        args.model,
        random_state=args.random_state,
        verbose=verbose,
        n_jobs=args.n_jobs,
        memory=args.cache_dir,
    )
    timings = {}
    with stage("load data", timings):
        train = skqm7x.load_qm7x(args.data_dir, "train", verbose=verbose)
        test = skqm7x.load_qm7x(args.data_dir, "test", verbose=verbose)
    print(f"{len(train.ids)} labelled molecules, {len(test.ids)} to predict")
    if args.cv:
        with stage(f"{args.cv}-fold CV", timings):
            folds = KFold(args.cv, shuffle=True, random_state=args.random_state)
            predicted = cross_val_predict(model, train.data, train.target, cv=folds)
        errors = predicted - train.target
        print(
            f"{args.cv}-fold CV: RMSE {np.sqrt(np.mean(errors**2)):.4f} eV, "
            f"MAE {np.mean(np.abs(errors)):.4f} eV"
        )
    with stage("fit on all labelled", timings):
        model.fit(train.data, train.target)
    with stage("predict test", timings):
        if args.uncertainty:
            energies, stds = model.predict(test.data, return_std=True)
        else:
            energies = model.predict(test.data)
    with stage("write submission", timings):
        skqm7x.write_submission(args.out, test.ids, energies)
        if args.uncertainty:
            skqm7x.write_submission(args.uncertainty, test.ids, stds, column="std")
    print(f"wrote {len(test.ids)} predictions to {args.out}")
    if args.uncertainty:
        print(f"wrote their standard deviations to {args.uncertainty}")
    print(f"{'total':<24} {sum(timings.values()):8.1f} s")


if __name__ == "__main__":
    try:
        main()
    except (skqm7x.DataFormatError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
