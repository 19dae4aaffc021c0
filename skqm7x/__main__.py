"""The command line: ``skqm7x submit``, ``fit``, ``predict``, ``cv`` and ``models``.

Installed as the ``skqm7x`` command, and run by ``python -m skqm7x``. The
exit status is 0 on success, 2 on a usage error and 1 on a failure, which is
reported in one line (``--debug`` shows the traceback instead).
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import ctypes
import json
import math
import os
import platform
import signal
import sys
import textwrap
import time
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold, KFold
from sklearn.pipeline import Pipeline

import skqm7x
from skqm7x._molecules import ATOMIC_NUMBERS, ELEMENT_SYMBOLS

_DESCRIPTION = """\
Predict the atomization energy of small organic molecules from their 3D
geometry (the QM7-X challenge). Without --data-dir (or SKQM7X_DATA), the
commands use the challenge set shipped in the package: 3792 labelled
molecules and 947 to predict."""

_EPILOG = """\
examples:
  skqm7x submit --out submission.csv          the best model, the shipped set
  skqm7x submit --model bob-krr --cv 5 --out submission.csv
  skqm7x fit --out best.skqm7x                fit the best model once, keep it
  skqm7x predict best.skqm7x my_molecules/ --uncertainty --out energies.csv
  skqm7x cv coulomb-krr bob-krr mbtr-krr      5-fold CV table of three models
  skqm7x models                               the ready-made models"""


def main(argv=None):
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``).

    Returns the exit status: 0 on success, 1 on a failure (a usage error
    exits with status 2, as argparse does).
    """
    parser = _parser()
    args = parser.parse_args(argv)
    _one_malloc_arena()
    terminated = []
    try:
        with _terminate_as_interrupt(terminated):
            args.command(args)
    except _UsageError as error:
        args.parser.error(str(error))  # exits with status 2
    except (KeyboardInterrupt, Exception) as error:
        # An interrupt inside a library's own start-up or clean-up (joblib's
        # workers) can surface as another error: the signal is the cause.
        if terminated:
            print("skqm7x: terminated", file=sys.stderr)
            return 128 + signal.SIGTERM
        if isinstance(error, KeyboardInterrupt):
            print("skqm7x: interrupted", file=sys.stderr)
            return 128 + signal.SIGINT
        if args.debug:
            raise
        message = str(error) or type(error).__name__
        print(f"skqm7x {args.name}: error: {message}", file=sys.stderr)
        return 1
    return 0


def _one_malloc_arena():
    """Let every thread allocate from one glibc arena (elsewhere: nothing).

    glibc gives each thread that allocates an arena of its own, and memory
    freed in one is not returned to the system while others hold theirs:
    the kernel's threads and BLAS's raised the main job's peak by a quarter
    (docs/performance.md). One arena is a setting of the process, so the
    command line makes it, before any thread starts; a library leaves it
    to the program.
    """
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_ARENA_MAX, 1)
    except (AttributeError, OSError):  # no glibc: musl, macOS, Windows
        pass


# mallopt's parameter number for the most arenas (glibc's malloc.h).
_M_ARENA_MAX = -8


def _parser():
    models = skqm7x.available_models()
    with_std = sorted(skqm7x.available_models(with_std=True))

    # Options every command takes, so that they may follow the command name.
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument(
        "--debug", action="store_true", help="show the traceback of a failure"
    )
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument(
        "--data-dir",
        type=_data_folder,
        # A string default goes through type= too, so a bad $SKQM7X_DATA is
        # a usage error like a bad --data-dir.
        default=os.environ.get("SKQM7X_DATA") or None,
        metavar="DIR",
        help="a folder in the challenge layout (atoms/train, atoms/test, "
        "energies/train.csv); default: $SKQM7X_DATA, else the shipped set",
    )
    fitting = argparse.ArgumentParser(add_help=False)
    fitting.add_argument(
        "--random-state",
        type=_seed,
        default=0,
        metavar="N",
        help="seed of every random step, and of the CV folds (default: 0)",
    )
    fitting.add_argument(
        "--cache-dir",
        default=None,
        metavar="DIR",
        help="keep what the models compute (GFN2-xTB energies, features, "
        "kernels) here, for the next run on the same molecules (default: none)",
    )
    # Options of every command that runs a model.
    running = argparse.ArgumentParser(add_help=False)
    running.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=None,
        metavar="N",
        help="parallel jobs where a model has parallel work; -1: all cores "
        "(default: one)",
    )
    running.add_argument("--quiet", action="store_true", help="no progress bars")
    model_choice = argparse.ArgumentParser(add_help=False)
    model_choice.add_argument(
        "--model",
        choices=sorted(models),
        default="best",
        metavar="NAME",
        help="the model (default: best; see below)",
    )
    csv_output = argparse.ArgumentParser(add_help=False)
    csv_output.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="CSV",
        help="the CSV to write; - (or the file standard output goes to) writes "
        "it to standard output, and the messages to standard error",
    )

    parser = argparse.ArgumentParser(
        prog="skqm7x",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[debug],
    )
    parser.add_argument("--version", action="version", version=skqm7x.__version__)
    parser.set_defaults(settings=[])
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    model_list = "\n".join(
        textwrap.fill(
            text, 79, initial_indent=f"  {name:21}", subsequent_indent=" " * 23
        )
        for name, text in models.items()
    )

    submit = _add_command(
        commands,
        _submit,
        "fit a model on the labelled molecules, write id,energy for the rest",
        "Fit a model on every labelled molecule and write the predicted energy "
        "of every test molecule as an id,energy CSV (in id order; written whole "
        "or not at all). --cv first reports the model's K-fold cross-validated "
        "RMSE and MAE.",
        parents=[debug, data, fitting, running, model_choice, csv_output],
        epilog="models:\n" + model_list,
    )
    submit.add_argument(
        "--uncertainty",
        type=Path,
        default=None,
        metavar="CSV",
        help="also write id,std (eV), the predicted standard deviations; "
        "models: " + ", ".join(with_std),
    )
    submit.add_argument(
        "--cv",
        type=_folds_or_none,
        default=0,
        metavar="K",
        help="first report the K-fold cross-validated error (K >= 2)",
    )

    fit = _add_command(
        commands,
        _fit,
        "fit a model on labelled molecules and write it to a model file",
        "Fit a model on labelled molecules and write it to one model file, "
        "whole or not at all, for 'skqm7x predict' (or skqm7x.load_model) to "
        "use later. The labelled molecules are the shipped set, --data-dir in "
        "the challenge layout, or --molecules: xyz files, folders of them or "
        "any file ASE reads, their energies (eV) in a property of each "
        "molecule (--energy-key) or in an id,energy CSV (--energies). The file "
        "records the versions it was written with, the model's name and its "
        "training molecules (how many, their elements, the largest); it "
        "carries no cache and runs no code when loaded.",
        parents=[debug, data, fitting, running, model_choice],
        epilog="models:\n" + model_list,
    )
    fit.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="MODEL_FILE",
        help="the model file to write (by convention .skqm7x)",
    )
    fit.add_argument(
        "--molecules",
        nargs="+",
        type=Path,
        default=None,
        metavar="PATH",
        help="labelled molecules from files and folders instead of a data "
        "folder (see skqm7x.read_molecules for the ids)",
    )
    labels = fit.add_mutually_exclusive_group()
    labels.add_argument(
        "--energy-key",
        default=None,
        metavar="KEY",
        help="with --molecules: the property that holds each energy (default: energy)",
    )
    labels.add_argument(
        "--energies",
        type=Path,
        default=None,
        metavar="CSV",
        help="with --molecules: an id,energy CSV of their energies",
    )

    predict = _add_command(
        commands,
        _predict,
        "predict the energies of any molecules with a model file",
        "Predict the energy of every molecule of the inputs with a model file "
        "written by 'skqm7x fit', and write id,energy (with --uncertainty, "
        "id,energy,std) as a CSV, in the order read, whole or not at all. The "
        "inputs are xyz files of one molecule or many frames, folders of xyz "
        "files, or any file ASE reads; an id is the file's (N for id_N.xyz, "
        "else its name), with the frame number after a colon for a file of "
        "several frames (the frame number alone when one file is given). "
        "Refused before any work: a model file from another skqm7x or "
        "scikit-learn version (major.minor), or that holds types skqm7x does "
        "not load; a molecule with an element the model never saw, or with "
        "more atoms than the model takes (no skqm7x model takes more than the "
        "slots it was fitted with).",
        parents=[debug, running, csv_output],
    )
    predict.add_argument("model_file", type=Path, metavar="MODEL_FILE")
    predict.add_argument(
        "inputs", nargs="+", type=Path, metavar="INPUT", help="molecule files, folders"
    )
    predict.add_argument(
        "--uncertainty",
        action="store_true",
        help="also write each predicted standard deviation (eV), a std column; "
        "models: " + ", ".join(with_std),
    )

    cv = _add_command(
        commands,
        _cv,
        "K-fold cross-validation table of one or more models",
        "K-fold cross-validation of each model on the labelled molecules "
        "(KFold, shuffled by --random-state), one row per model: RMSE, MAE and "
        "largest error (eV), the RMSE and MAE over the test-like molecules "
        "alone (those whose element set and atom count occur among the test "
        "molecules, a better guide to the test score), seconds to fit and to "
        "predict a fold and, for the "
        "models that predict a standard deviation, the fraction of held-out "
        "errors within the 68 % and 95 % intervals. An element missing from a "
        "training fold gets no reference energy rather than failing the fold.",
        parents=[debug, data, fitting, running],
        epilog="models:\n" + model_list,
    )
    cv.add_argument(
        "models", nargs="+", choices=sorted(models), metavar="MODEL", help="models"
    )
    cv.add_argument(
        "--folds", type=_folds, default=5, metavar="K", help="folds (default: 5)"
    )
    cv.add_argument(
        "--n-molecules",
        type=_positive,
        default=None,
        metavar="N",
        help="the first N labelled molecules only (default: all)",
    )
    cv.add_argument(
        "--group-by-graph",
        action="store_true",
        help="keep the conformers of a compound (the molecules of one bonding "
        "graph, skqm7x.bonding_graphs) in one fold: GroupKFold instead of KFold",
    )
    cv.add_argument(
        "--set",
        dest="settings",
        action="append",
        type=_setting,
        default=[],
        metavar="PARAM=VALUE",
        help="cross-validate the models with a parameter changed, as "
        "set_params(PARAM=VALUE) sets it (a nested one by its path, such as "
        "regressor__alphas); VALUE is read as JSON (a number, a list, an "
        "object, true, null) and else kept as text; may be given again",
    )
    cv.add_argument(
        "--worst",
        type=_positive,
        default=1,
        metavar="N",
        help="list the N molecules with the largest errors (default: 1)",
    )

    listing = _add_command(
        commands,
        _models,
        "list the ready-made models",
        "The ready-made models, one line each.",
        parents=[debug],
    )
    listing.add_argument(
        "--with-std",
        action="store_true",
        help="only the models that also predict a standard deviation",
    )
    return parser


def _add_command(commands, run, summary, description, parents, epilog=None):
    """A subcommand named after ``run`` (``_submit`` is ``submit``)."""
    name = run.__name__.lstrip("_")
    command = commands.add_parser(
        name,
        help=summary,
        description=textwrap.fill(description, 79),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=parents,
    )
    command.set_defaults(command=run, name=name, parser=command)
    return command


class _UsageError(Exception):
    """Arguments that parse but cannot work together; exit status 2."""


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C.

    An exception rather than the default of dying at once, so that an output
    being written is removed, temporary caches are deleted and joblib's
    workers are stopped at exit, as after Ctrl-C. A KeyboardInterrupt, so
    that no ``except Exception`` (a search scoring a failed fit) swallows it.
    """


@contextmanager
def _terminate_as_interrupt(received):
    """SIGTERM raises ``_Terminated`` and is noted in ``received``."""

    def terminate(signum, frame):
        received.append(signum)
        raise _Terminated

    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _integer(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def _folds(text):
    value = _integer(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"needs K >= 2 folds, got {value}")
    return value


def _folds_or_none(text):
    return 0 if _integer(text) == 0 else _folds(text)


def _positive(text):
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _setting(text):
    """``PARAM=VALUE`` as ``(PARAM, value)``, the value read as JSON where it is."""
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"expected PARAM=VALUE, got {text!r}")
    try:
        return name.strip(), json.loads(value)
    except json.JSONDecodeError:
        return name.strip(), value


def _seed(text):
    value = _integer(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(
            f"must be between 0 and 2**32 - 1, got {value}"
        )
    return value


def _n_jobs(text):
    value = _integer(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be a positive number or -1 (all cores)")
    return value


def _data_folder(text):
    folder = Path(text)
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: no such folder")
    if not (folder / "atoms").is_dir():
        raise argparse.ArgumentTypeError(
            f"{text} has no atoms/ folder; give the folder that holds atoms/ "
            "and energies/"
        )
    return folder


@contextmanager
def _stage(name):
    start = time.perf_counter()
    yield
    print(f"{name:<24} {time.perf_counter() - start:8.1f} s", flush=True)


def _make(name, args):
    dropped = args.dropped.get(name, ())
    model = skqm7x.make_model(
        name,
        random_state=args.random_state,
        verbose=int(not args.quiet),
        n_jobs=None if "--n-jobs" in dropped else args.n_jobs,
        memory=None if "--cache-dir" in dropped else args.cache_dir,
    )
    for parameter, value in args.settings:
        try:
            model.set_params(**{parameter: value})
        except ValueError as error:
            raise _UsageError(f"--set {parameter}: {name}: {error}") from None
    return model


def _check_models(names, args):
    """Refuse, before any work, an option that a model does not take.

    ``--cache-dir`` and ``--n-jobs`` serve every model of the run: one with
    no use for them runs without them, and says so. A cache inside the data
    folder would put files among the molecules; it is refused.
    """
    if args.cache_dir is not None and args.data_dir is not None:
        cache, data = Path(args.cache_dir).resolve(), args.data_dir.resolve()
        if cache.is_relative_to(data):
            raise _UsageError(
                f"--cache-dir {args.cache_dir} is inside the data folder "
                f"{args.data_dir}: give a folder outside it"
            )
    args.dropped = {}
    shared = {"--cache-dir": args.cache_dir, "--n-jobs": args.n_jobs}
    given = [option for option, value in shared.items() if value is not None]
    for name in names:
        errors = []
        for dropped in ([], *([option] for option in given), given):
            args.dropped[name] = dropped
            try:
                _make(name, args)
            except ValueError as error:
                errors.append(error)
                continue
            break
        else:
            raise _UsageError(str(errors[0]))
        if dropped:
            print(f"{name}: runs without {' and '.join(dropped)}, of no use to it")


def _check_outputs(outputs, inputs):
    """Refuse, before any work, an output that cannot or must not be written.

    ``outputs`` maps each option to its path; no output may lie in or be
    one of ``inputs``.
    """
    inputs = [Path(path).resolve() for path in inputs]
    seen = {}
    for option, path in outputs.items():
        if str(path) in ("", "."):
            raise _UsageError(f"{option}: give a file name")
        stream = _standard_stream(path)
        if stream == "standard error":
            raise _UsageError(f"{option} {path} is this command's standard error")
        if stream is not None:
            if stream in seen:
                raise _UsageError(f"{option} and {seen[stream]} both name {stream}")
            seen[stream] = option
            continue
        resolved = path.resolve()
        if resolved in seen:
            raise _UsageError(f"{option} and {seen[resolved]} name the same file")
        seen[resolved] = option
        if any(resolved.is_relative_to(given) for given in inputs):
            raise _UsageError(f"{option} {path} would overwrite an input")
        if resolved.is_dir():
            raise _UsageError(f"{option} {path} is a folder")
        if resolved.exists() and not resolved.is_file():
            raise _UsageError(f"{option} {path} is not a regular file")
        if not resolved.parent.is_dir():
            raise _UsageError(f"{option} {path}: no folder {path.parent}")
        if not os.access(resolved.parent, os.W_OK | os.X_OK):
            raise _UsageError(f"{option} {path}: cannot write in {path.parent}")


# Every model searches its hyperparameters by cross-validation inside its fit
# (up to 5 folds), which needs a few molecules in each inner fold.
_MIN_TRAINING_MOLECULES = 10


def _check_enough_molecules(n_labelled, n_folds):
    if n_labelled < _MIN_TRAINING_MOLECULES:
        raise ValueError(
            f"{n_labelled} labelled molecules; the models need at least "
            f"{_MIN_TRAINING_MOLECULES} (they tune themselves by cross-validation)."
        )
    # KFold's largest held-out fold has ceil(n / k) molecules.
    per_fold = n_labelled - math.ceil(n_labelled / n_folds) if n_folds else n_labelled
    if per_fold < _MIN_TRAINING_MOLECULES:
        raise ValueError(
            f"--cv {n_folds}: {n_labelled} labelled molecules leave {per_fold} to "
            f"fit each fold, and the models need at least "
            f"{_MIN_TRAINING_MOLECULES}; use fewer folds."
        )


def _check_elements_seen(train, test):
    """Refuse, before the fit, a test molecule with an element never labelled."""
    _refuse_unseen_elements(
        test,
        np.unique(train.data[:, ::4]),
        "no labelled molecule has: the models learn each element's energy from "
        "the labelled molecules",
    )


def _refuse_unseen_elements(molecules, known, why):
    """Name the first of ``molecules`` with an element outside ``known``."""
    Z = molecules.data[:, ::4]
    unseen = (Z > 0) & ~np.isin(Z, known)
    if unseen.any():
        row, slot = np.argwhere(unseen)[0]
        symbol = ELEMENT_SYMBOLS[int(Z[row, slot]) - 1]
        n_molecules = int(np.any(unseen, axis=1).sum())
        raise ValueError(
            f"{molecules.filenames[row]} (molecule {molecules.ids[row]}) has "
            f"{symbol}, which {why} ({n_molecules} of the {len(Z)} molecules "
            "have such elements)."
        )


def _data_inputs(args):
    """The files of the data folder that no output may replace."""
    if args.data_dir is None:
        return []
    return [args.data_dir / "atoms", args.data_dir / "energies" / "train.csv"]


def _standard_stream(path):
    """``"standard output"`` or ``"standard error"`` if ``path`` names it, or None.

    ``-`` is standard output; so is a path to the file standard output goes
    to (``/dev/stdout``, or a file the shell redirects it to): a rename into
    its place would replace that file instead of writing to the stream.
    """
    if str(path) == "-":
        return "standard output"
    try:
        given = os.stat(path)
    except OSError:
        return None
    streams = {"standard output": sys.stdout, "standard error": sys.stderr}
    for name, stream in streams.items():
        try:
            opened = os.fstat(stream.fileno())
        except (AttributeError, OSError, ValueError):
            continue  # replaced by an object without a file (a test's capture)
        if (given.st_dev, given.st_ino) == (opened.st_dev, opened.st_ino):
            return name
    return None


def _submit(args):
    if args.uncertainty and args.model not in skqm7x.available_models(with_std=True):
        raise _UsageError(f"--uncertainty: model {args.model!r} predicts no std")
    outputs = {"--out": args.out}
    if args.uncertainty is not None:
        outputs["--uncertainty"] = args.uncertainty
    _check_outputs(outputs, _data_inputs(args))
    # Where each CSV goes: a file, or standard output itself, not renamed over.
    targets = {
        path: sys.stdout if _standard_stream(path) else path
        for path in (args.out, args.uncertainty)
        if path is not None
    }
    if any(target is sys.stdout for target in targets.values()):
        # The CSV alone on standard output; the messages go to standard error.
        with redirect_stdout(sys.stderr):
            _run_submit(args, targets)
    else:
        _run_submit(args, targets)


def _run_submit(args, targets):
    _check_models([args.model], args)
    start = time.perf_counter()
    with _stage("load data"):
        train = skqm7x.load_qm7x(args.data_dir, "train", verbose=not args.quiet)
        test = skqm7x.load_qm7x(args.data_dir, "test", verbose=not args.quiet)
    print(f"{len(train.ids)} labelled molecules, {len(test.ids)} to predict")
    _check_enough_molecules(len(train.ids), args.cv)
    _check_elements_seen(train, test)
    if args.cv:
        with _stage(f"{args.cv}-fold CV"):
            result = _cross_validate(
                args.model, args, train.data, train.target, args.cv
            )
        print(f"{args.cv}-fold CV: RMSE {result.rmse:.4f} eV, MAE {result.mae:.4f} eV")
        test_like = skqm7x.molecules_like(train.data, test.data)
        if test_like.any():
            rmse, mae = result.scores_over(test_like)
            print(
                f"{args.cv}-fold CV over the {test_like.sum()} test-like "
                f"molecules: RMSE {rmse:.4f} eV, MAE {mae:.4f} eV"
            )
        else:
            print("no labelled molecule is of a kind the test molecules hold")
    model = _make(args.model, args)
    with _stage("fit on all labelled"):
        model.fit(train.data, train.target)
    with _stage("predict test"):
        if args.uncertainty:
            energies, stds = model.predict(test.data, return_std=True)
        else:
            energies = model.predict(test.data)
    with _stage("write submission"):
        for path, values, column in [
            (args.out, energies, "energy"),
            *([(args.uncertainty, stds, "std")] if args.uncertainty else []),
        ]:
            skqm7x.write_submission(targets[path], test.ids, values, column=column)
    print(f"wrote {len(test.ids)} predictions to {args.out}")
    if args.uncertainty:
        print(f"wrote their standard deviations to {args.uncertainty}")
    print(f"{'total':<24} {time.perf_counter() - start:8.1f} s")


def _fit(args):
    if args.molecules is None and (args.energy_key or args.energies):
        raise _UsageError("--energy-key and --energies go with --molecules")
    if args.molecules is not None and args.data_dir is not None:
        if str(args.data_dir) != os.environ.get("SKQM7X_DATA"):
            raise _UsageError("give --data-dir or --molecules, not both")
        # $SKQM7X_DATA is a default, which --molecules replaces.
        print("--molecules given: the folder of $SKQM7X_DATA is not read")
        args.data_dir = None
    if _standard_stream(args.out) is not None:
        raise _UsageError(f"--out {args.out}: a model file goes to a file")
    inputs = _data_inputs(args) + list(args.molecules or [])
    inputs += [args.energies] if args.energies else []
    _check_outputs({"--out": args.out}, inputs)
    _check_models([args.model], args)
    start = time.perf_counter()
    with _stage("load data"):
        if args.molecules is None:
            train = skqm7x.load_qm7x(args.data_dir, "train", verbose=not args.quiet)
        else:
            train = skqm7x.read_molecules(
                args.molecules,
                energy_key=args.energy_key or (None if args.energies else "energy"),
                energies=args.energies,
                verbose=int(not args.quiet),
            )
    print(f"{len(train.ids)} labelled molecules")
    _check_enough_molecules(len(train.ids), 0)
    model = _make(args.model, args)
    with _stage("fit"):
        model.fit(train.data, train.target)
    with _stage("write model file"):
        info = skqm7x.save_model(
            model, args.out, training_molecules=train.data, name=args.model
        )
    summary = info["training_set"]
    print(
        f"wrote {args.model} to {args.out}: fitted on {summary['molecules']} "
        f"molecules of {', '.join(summary['elements'])}, up to "
        f"{summary['atom_slots']} atoms"
    )
    print(f"{'total':<24} {time.perf_counter() - start:8.1f} s")


def _predict(args):
    _check_outputs({"--out": args.out}, [args.model_file, *args.inputs])
    if _standard_stream(args.out):
        # The CSV alone on standard output; the messages go to standard error.
        standard_output = sys.stdout
        with redirect_stdout(sys.stderr):
            _run_predict(args, standard_output)
    else:
        _run_predict(args, args.out)


def _run_predict(args, target):
    start = time.perf_counter()
    info = skqm7x.read_model_info(args.model_file, check_versions=True)
    name = info["model"]
    with_std = skqm7x.available_models(with_std=True)
    if args.uncertainty and name in skqm7x.available_models() and name not in with_std:
        raise _UsageError(f"--uncertainty: model {name!r} predicts no std")
    # The molecules are checked against the model's summary before the
    # model, the costly part, is read.
    with _stage("read molecules"):
        molecules = skqm7x.read_molecules(args.inputs, verbose=int(not args.quiet))
    X = _within_model(molecules, info["training_set"], args.model_file)
    with _stage("load model"):
        model = skqm7x.load_model(
            args.model_file, n_jobs=args.n_jobs, verbose=int(not args.quiet)
        )
    if args.uncertainty and not _predicts_std(model):
        raise _UsageError(f"--uncertainty: model {name!r} predicts no std")
    print(f"{len(X)} molecules; model {name} from {args.model_file}")
    with _stage("predict"):
        if args.uncertainty:
            energies, stds = model.predict(X, return_std=True)
        else:
            energies, stds = model.predict(X), None
    with _stage("write predictions"):
        skqm7x.write_predictions(target, molecules.ids, energies, std=stds)
    print(f"wrote {len(X)} predictions to {args.out}")
    print(f"{'total':<24} {time.perf_counter() - start:8.1f} s")


def _predicts_std(model):
    import inspect

    try:
        return "return_std" in inspect.signature(model.predict).parameters
    except (TypeError, ValueError):
        return False


def _within_model(molecules, training_set, model_file):
    """The molecules in the model's width; refused if of elements or sizes unseen."""
    elements = training_set["elements"]
    _refuse_unseen_elements(
        molecules,
        [ATOMIC_NUMBERS[symbol] for symbol in elements],
        f"the model in {model_file} never saw: it was fitted on {', '.join(elements)}",
    )
    X = molecules.data
    Z = X[:, ::4]
    slots = int(training_set["atom_slots"])
    sizes = (Z > 0).sum(axis=1)
    if sizes.max() > slots:
        row = int(np.argmax(sizes > slots))
        raise ValueError(
            f"{molecules.filenames[row]} (molecule {molecules.ids[row]}) has "
            f"{sizes[row]} atoms, and the model in {model_file} takes at most "
            f"{slots}, the width it was fitted with: no skqm7x model takes more "
            f"({int((sizes > slots).sum())} molecules are larger). Fit a model "
            "on molecules that include one as large (fit --molecules)."
        )
    return np.pad(X, ((0, 0), (0, 4 * slots - X.shape[1])))


class _Result:
    """Out-of-fold errors of one model, and what each fold cost and chose."""

    def __init__(self, n_molecules):
        self.errors = np.empty(n_molecules)
        self.stds = None
        self.fit_seconds, self.predict_seconds, self.chosen = [], [], []

    @property
    def rmse(self):
        return float(np.sqrt(np.mean(self.errors**2)))

    @property
    def mae(self):
        return float(np.mean(np.abs(self.errors)))

    def scores_over(self, rows):
        """RMSE and MAE over some of the molecules (at least one)."""
        errors = self.errors[rows]
        return float(np.sqrt(np.mean(errors**2))), float(np.mean(np.abs(errors)))


def _cross_validate(name, args, X, y, n_folds, groups=None):
    result = _Result(len(y))
    if name in skqm7x.available_models(with_std=True):
        result.stds = np.empty(len(y))
    if groups is None:
        folds = KFold(n_folds, shuffle=True, random_state=args.random_state)
    else:
        folds = GroupKFold(n_folds, shuffle=True, random_state=args.random_state)
    for fit_rows, held_out in folds.split(X, y, groups):
        # A fresh model per fold rather than a clone: the models with a
        # temporary feature cache remove it when the model is collected.
        model = _make(name, args)
        if isinstance(model, skqm7x.AtomicReferenceRegressor):
            # A rare element (Cl is in 3 of the 3792 labelled molecules) can
            # miss a training fold by chance; every element is in the full set.
            model.set_params(handle_unknown="ignore")
        start = time.perf_counter()
        model.fit(X[fit_rows], y[fit_rows])
        result.fit_seconds.append(time.perf_counter() - start)
        start = time.perf_counter()
        if result.stds is None:
            predicted = model.predict(X[held_out])
        else:
            predicted, result.stds[held_out] = model.predict(
                X[held_out], return_std=True
            )
        result.errors[held_out] = predicted - y[held_out]
        result.predict_seconds.append(time.perf_counter() - start)
        result.chosen.append(_chosen_hyperparameters(model))
    return result


def _chosen_hyperparameters(model):
    """The hyperparameters a model's own search chose, as a short string."""
    search = getattr(model, "regressor_", model)
    if isinstance(search, Pipeline):
        search = search[-1]
    if isinstance(search, skqm7x.BlendingRegressor):  # each part's weight, choice
        parts = []
        for name, weight in zip(search.named_estimators_, search.weights_, strict=True):
            chosen = _chosen_hyperparameters(search.named_estimators_[name])
            parts.append(f"{name} {weight:.2f}" + (f" ({chosen})" if chosen else ""))
        return " + ".join(parts)
    if hasattr(search, "gamma_"):  # a leave-one-out choice
        return f"gamma={search.gamma_:.3g}, alpha={search.alpha_:.3g}"
    params = getattr(search, "best_params_", None)
    if not params:
        return None
    return ", ".join(
        f"{key.rsplit('__', 1)[-1]}={value:.3g}"
        if isinstance(value, float)
        else f"{key.rsplit('__', 1)[-1]}={value}"
        for key, value in sorted(params.items())
    )


def _test_like(X, args):
    """Which of ``X`` are of a kind the test molecules hold, and a line on it."""
    if args.data_dir is not None and not (args.data_dir / "atoms" / "test").is_dir():
        return (
            np.zeros(len(X), dtype=bool),
            f"{args.data_dir} has no atoms/test: no test-like columns",
        )
    test = skqm7x.load_qm7x(args.data_dir, "test", verbose=not args.quiet)
    test_like = skqm7x.molecules_like(X, test.data)
    return test_like, (
        f"test-like: the {test_like.sum()} molecules whose element set and atom "
        f"count occur among the {len(test.ids)} test molecules "
        "(skqm7x.molecules_like)"
    )


def _formula(molecule):
    Z = molecule[::4].astype(int)
    counts = {z: int(np.sum(Z == z)) for z in sorted(set(Z[Z > 0]))}
    # Hill order: carbon, hydrogen, then the other elements by symbol.
    symbols = {ELEMENT_SYMBOLS[z - 1]: n for z, n in counts.items()}
    order = [s for s in ("C", "H") if s in symbols] + sorted(set(symbols) - {"C", "H"})
    return "".join(f"{s}{symbols[s] if symbols[s] > 1 else ''}" for s in order)


def _cv(args):
    _check_models(args.models, args)
    train = skqm7x.load_qm7x(args.data_dir, "train", verbose=not args.quiet)
    X, y, ids = train.data, train.target, train.ids
    if args.n_molecules is not None:
        kept = slice(args.n_molecules)
        X, y, ids = X[kept], y[kept], ids[kept]
    _check_enough_molecules(len(y), args.folds)
    test_like, test_like_line = _test_like(X, args)
    groups, splitter = None, "KFold"
    if args.group_by_graph:
        groups = skqm7x.bonding_graphs(X)
        splitter = (
            f"GroupKFold over the {len(np.unique(groups))} bonding graphs, "
            "each compound's conformers in one fold"
        )
    n_threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(
        f"{len(y)} labelled molecules, {args.folds}-fold CV ({splitter}, "
        f"shuffle=True, random_state={args.random_state})\n"
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"OMP_NUM_THREADS={n_threads}, n_jobs={args.n_jobs}, "
        f"skqm7x {skqm7x.__version__}, Python {platform.python_version()}\n"
        f"predict-the-mean RMSE: {np.std(y):.3f} eV\n"
        f"{test_like_line}\n"
        + "".join(
            f"set: {parameter}={json.dumps(value)}\n"
            for parameter, value in args.settings
        )
    )
    header = (
        f"{'model':<22}{'RMSE (eV)':>10}{'MAE (eV)':>10}"
        f"{'test-like RMSE':>16}{'test-like MAE':>15}{'max |err|':>10}"
        f"{'fit s/fold':>12}{'pred s/fold':>12}{'in 68%':>8}{'in 95%':>8}"
    )
    print(header)
    print("-" * len(header), flush=True)
    notes = []
    for name in args.models:
        result = _cross_validate(name, args, X, y, args.folds, groups)
        if result.stds is None:
            coverage = f"{'-':>8}{'-':>8}"
        else:
            z = np.abs(result.errors) / result.stds
            coverage = f"{np.mean(z <= 1):>8.3f}{np.mean(z <= 1.96):>8.3f}"
        if test_like.any():
            like_rmse, like_mae = result.scores_over(test_like)
            like = f"{like_rmse:>16.5f}{like_mae:>15.5f}"
        else:
            like = f"{'-':>16}{'-':>15}"
        print(
            f"{name:<22}{result.rmse:>10.5f}{result.mae:>10.5f}{like}"
            f"{np.max(np.abs(result.errors)):>10.2f}"
            f"{np.mean(result.fit_seconds):>12.1f}"
            f"{np.mean(result.predict_seconds):>12.2f}{coverage}",
            flush=True,
        )
        notes.append(
            f"{name}: fit seconds per fold "
            + ", ".join(f"{seconds:.0f}" for seconds in result.fit_seconds)
        )
        if any(result.chosen):
            notes.append(f"{name}: " + "; ".join(map(str, result.chosen)))
        worst = np.argsort(-np.abs(result.errors), kind="stable")[: args.worst]
        notes += [
            f"{name}: error {result.errors[i]:+.3f} eV, molecule {ids[i]} "
            f"({_formula(X[i])}"
            f"{', not test-like' if test_like.any() and not test_like[i] else ''})"
            for i in worst
        ]
    print(
        "\nper fold (fit times, hyperparameters chosen), and the worst "
        f"{'molecule' if args.worst == 1 else f'{args.worst} molecules'}:"
    )
    print("\n".join(notes))


def _models(args):
    models = skqm7x.available_models(with_std=args.with_std)
    width = max(map(len, models)) + 2
    for name, text in models.items():
        print(f"{name:{width}}{text}")


if __name__ == "__main__":
    sys.exit(main())
