"""What the benchmark scripts share: options, data, folds, timing and tables.

Not a benchmark itself. Each script of this folder imports it as ``_common``:
Python puts the folder of the script it runs first on ``sys.path``, so
``python benchmarks/bench_coulomb_mlp.py`` finds it from any working
directory.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
import multiprocessing
import os
import platform
import re
import resource
import subprocess
import time
import traceback
import warnings
from pathlib import Path
from typing import NamedTuple

import joblib
import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import KFold

import skqm7x

DATA_DIR_HELP = (
    "a folder in the challenge layout (default: $SKQM7X_DATA, else the "
    "challenge set shipped in the package)"
)


def make_parser(doc, *, n_molecules=False, folds=False, data_dir_help=DATA_DIR_HELP):
    """The command line of a script, with the options the scripts share.

    The first paragraph of ``doc`` (the script's docstring) describes the
    script; ``--help`` prints the rest after the options. Every parser takes
    ``--data-dir``; ``n_molecules`` adds ``--n-molecules`` (the first N
    labelled molecules, see :func:`load_labelled`) and ``folds`` adds
    ``--folds`` (default 5, see :func:`kfold`).
    """
    summary, _, details = doc.strip().partition("\n\n")
    parser = argparse.ArgumentParser(
        description=summary,
        epilog=details,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data-dir", default=None, help=data_dir_help)
    if n_molecules:
        parser.add_argument(
            "--n-molecules",
            type=int,
            default=None,
            help="use the first N labelled molecules (default: all)",
        )
    if folds:
        parser.add_argument(
            "--folds", type=int, default=5, help="cross-validation folds (default: 5)"
        )
    return parser


def load_labelled(data_dir=None, n_molecules=None):
    """``X, y`` of the first ``n_molecules`` labelled molecules (None: all).

    ``data_dir=None`` reads what ``skqm7x.load_qm7x()`` reads: the folder
    ``SKQM7X_DATA`` names, else the challenge set shipped in the package.
    """
    X, y = skqm7x.load_qm7x(data_dir, return_X_y=True)
    return X[:n_molecules], y[:n_molecules]


def load_test_like(X, data_dir=None):
    """Which molecules of ``X`` are test-like, and a line that says so.

    Test-like: the molecule's element set and atom count occur among the test
    molecules of the same folder (:func:`skqm7x.molecules_like`); their CV
    error predicts the leaderboard score better than the error over all.
    """
    test = skqm7x.load_qm7x(data_dir, "test")
    test_like = skqm7x.molecules_like(X, test.data)
    return test_like, (
        f"test-like: {test_like.sum()} of the {len(X)} molecules (element set "
        f"and atom count occur among the {len(test.data)} test molecules)"
    )


def kfold(n_folds=5):
    """The folds of the benchmarks: KFold(n_folds, shuffle=True, random_state=0)."""
    return KFold(n_folds, shuffle=True, random_state=0)


def describe_cv(n_molecules, n_folds=5):
    """One line that says on what and how a script cross-validates."""
    return (
        f"{n_molecules} labelled molecules, {n_folds}-fold CV "
        "(KFold, shuffle=True, random_state=0)"
    )


def describe_machine(*details):
    """``machine: x86_64, 2 cores, OMP_NUM_THREADS=...`` and ``details``."""
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    return "machine: " + ", ".join(
        [
            platform.machine(),
            f"{os.cpu_count()} cores",
            f"OMP_NUM_THREADS={threads}",
            *details,
        ]
    )


class Stopwatch:
    """Wall-clock seconds since it was made: ``Stopwatch().seconds``."""

    def __init__(self):
        self._start = time.perf_counter()

    @property
    def seconds(self):
        return time.perf_counter() - self._start


# The columns of the test-like RMSE and MAE, beside those over all molecules.
TEST_LIKE_COLUMNS = [("test-like RMSE", ">16.4f"), ("test-like MAE", ">15.4f")]


class Errors(NamedTuple):
    """RMSE, MAE and largest absolute error, in the unit of the errors."""

    rmse: float
    mae: float
    largest: float


def error_scores(errors):
    """:class:`Errors` of predicted minus true values (``nan`` if there are none)."""
    if not len(errors):
        return Errors(np.nan, np.nan, np.nan)
    absolute = np.abs(errors)
    return Errors(
        float(np.sqrt(np.mean(absolute**2))),
        float(np.mean(absolute)),
        float(np.max(absolute)),
    )


def _fit_fold(model, X, y, train, test):
    watch = Stopwatch()
    model.fit(X[train], y[train])
    seconds = watch.seconds
    return model.predict(X[test]) - y[test], seconds


class FoldStore:
    """Each fitted fold's errors and fit seconds, kept as JSON in a folder.

    A configuration too slow for one sitting (``montavon-mlp``: an hour a
    fold on one core) is measured over several: each run fits some folds and
    reads back those an earlier run fitted. A fold's file is named by a digest
    of the model's parameters, the molecules, the energies, the number of
    folds and the skqm7x version, so a changed configuration never reads
    another's folds; the digest does not cover the code itself: clear the
    folder after changing it. What is read back is data, never code, and is
    checked: a file that is not one this class wrote for that fold, or a
    folder others may write to, is refused with the file's name.
    """

    def __init__(self, folder):
        self.folder = Path(folder).expanduser()

    def _path(self, model, X, y, n_folds, fold):
        # coerce_mmap: a worker sees the molecules as joblib's memory map,
        # which must name the same folder as the parent's array.
        digest = joblib.hash(
            (model, X, y, n_folds, skqm7x.__version__), coerce_mmap=True
        )
        return self.folder / digest / f"fold-{fold}-of-{n_folds}.json"

    def _check_folder(self, path):
        for folder in (self.folder, path.parent):
            if not folder.is_dir():
                continue
            status = folder.stat()
            if status.st_uid != os.getuid() or status.st_mode & 0o022:
                raise PermissionError(
                    f"{folder}: another user owns it or may write to it; fold "
                    "results are read only from a folder of the user's own "
                    "(chmod go-w)"
                )

    def read(self, model, X, y, n_folds, fold, held_out):
        """``(errors, fit_seconds)`` of a stored fold, or None if not stored."""
        path = self._path(model, X, y, n_folds, fold)
        self._check_folder(path)
        if not path.is_file():
            return None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            errors = np.array(record["errors"], dtype=float)
            seconds = float(record["fit_seconds"])
            stored_fold = (record["fold"], record["n_folds"], record["held_out"])
        except (ValueError, TypeError, KeyError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: not a fold result ({error})") from None
        if (
            stored_fold != (fold, n_folds, held_out.tolist())
            or errors.shape != held_out.shape
            or not np.all(np.isfinite(errors))
            or not np.isfinite(seconds)
            or seconds < 0
        ):
            raise ValueError(
                f"{path}: not the errors of fold {fold} of {n_folds} on these "
                "molecules; remove it to fit the fold again"
            )
        return errors, seconds

    def write(self, model, X, y, n_folds, fold, held_out, errors, seconds):
        """Keep a fitted fold (written whole or not at all)."""
        path = self._path(model, X, y, n_folds, fold)
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        self._check_folder(path)
        record = {
            "fold": fold,
            "n_folds": n_folds,
            "held_out": held_out.tolist(),
            "errors": errors.tolist(),
            "fit_seconds": seconds,
            "skqm7x": skqm7x.__version__,
            "machine": describe_machine(),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        temporary = path.with_suffix(".partial")
        temporary.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        os.replace(temporary, path)


def cross_validate(model, X, y, n_folds=5, n_jobs=1, fit_folds=None, memory=None):
    """Out-of-fold errors over :func:`kfold` and the seconds of each fit.

    Returns ``errors`` (predicted minus true, one per molecule, each from the
    fold that held it out), ``fit_seconds`` (one per fold scored) and the
    number of folds read from ``memory``. ``n_jobs`` folds train at once, in
    separate processes. ``fit_folds`` (fold numbers from 1; default all)
    says which folds may be fitted, for a model too slow for all of them in
    one sitting; the molecules of a fold neither fitted nor read back get NaN
    errors. ``memory`` (a folder, see :class:`FoldStore`) keeps each fold once
    it is fitted and gives back the folds that earlier runs kept.
    """
    store = None if memory is None else FoldStore(memory)
    folds = list(enumerate(kfold(n_folds).split(X), start=1))
    wanted = set(range(1, n_folds + 1) if fit_folds is None else fit_folds)
    stored = {}
    if store is not None:
        for fold, (_, test) in folds:
            result = store.read(model, X, y, n_folds, fold, test)
            if result is not None:
                stored[fold] = result
    to_fit = [
        (f, train, test) for f, (train, test) in folds if f in wanted - set(stored)
    ]

    def fitted_and_kept(fold, train, test):
        errors, seconds = _fit_fold(clone(model), X, y, train, test)
        if store is not None:
            store.write(model, X, y, n_folds, fold, test, errors, seconds)
        return fold, (errors, seconds)

    results = dict(stored)
    results.update(
        Parallel(n_jobs=n_jobs)(delayed(fitted_and_kept)(*fold) for fold in to_fit)
    )
    errors = np.full_like(y, np.nan, dtype=float)
    for fold, (_, test) in folds:
        if fold in results:
            errors[test] = results[fold][0]
    fit_seconds = [results[fold][1] for fold in sorted(results)]
    return errors, fit_seconds, len(stored)


def _measure(job, queue, threads, args):
    if threads:
        import torch

        torch.set_num_threads(threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        watch = Stopwatch()
        try:
            result = job(*args)
        except BaseException:
            # The parent waits on the queue: tell it, rather than let it hang.
            queue.put(_Failed(traceback.format_exc()))
            raise
        seconds = watch.seconds
    from joblib.externals.loky import get_reusable_executor

    # Workers (n_jobs > 1) count once they have exited.
    get_reusable_executor().shutdown(wait=True)
    peak = max(
        resource.getrusage(who).ru_maxrss / 1024
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    queue.put((result, seconds, peak))


class _Failed(str):
    """The traceback of a job that raised in its fresh process."""


def run_isolated(job, threads, *args):
    """Run ``job(*args)`` in a fresh process: (result, seconds, peak MiB).

    ``threads``, when set, is the process's number of torch threads. The peak
    is the largest resident size of the process or of any process it waited
    for (joblib's workers), so each measurement starts from a clean slate.
    ``job`` must be importable (a module-level function of the script).
    """
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(job, queue, threads, args))
    process.start()
    result = queue.get()
    process.join()
    if isinstance(result, _Failed):
        raise RuntimeError(f"{job.__name__}{args} failed in its process:\n{result}")
    return result


# A column's format spec: alignment, width, then how a value is written.
_SPEC = re.compile(r"(?P<align>[<>^]?)(?P<width>\d*)(?P<value>.*)")


class Table:
    """A table printed as its rows come, each row flushed at once.

    Making one prints the titles. ``columns`` are ``(title, spec)`` pairs,
    ``spec`` a format spec that starts with the alignment and width
    (``"<28"``, ``">10.3f"``): the title is aligned and padded like the
    values. ``markdown=True`` prints a GitHub table instead (widths dropped;
    ``"<"`` columns left-aligned, the others right-aligned); ``rule=False``
    leaves out the line of dashes under the titles of a plain table.
    """

    def __init__(self, columns, *, markdown=False, rule=True):
        self.specs = [_SPEC.fullmatch(spec) for _, spec in columns]
        self.markdown = markdown
        titles = [title for title, _ in columns]
        if markdown:
            print(self._markdown_line(titles))
            # An empty alignment is left, as format() aligns text.
            alignments = (
                "---" if spec["align"] in "<" else "---:" for spec in self.specs
            )
            print("|" + "|".join(alignments) + "|")
            return
        header = "".join(
            f"{title:{spec['align']}{spec['width']}}"
            for title, spec in zip(titles, self.specs, strict=True)
        )
        print(header)
        if rule:
            print("-" * len(header))

    @staticmethod
    def _markdown_line(cells):
        return "| " + " | ".join(cells) + " |"

    def row(self, *values):
        """Print one row, a value per column."""
        if self.markdown:
            cells = (
                format(value, spec["value"])
                for value, spec in zip(values, self.specs, strict=True)
            )
            print(self._markdown_line(cells), flush=True)
        else:
            cells = (
                format(value, spec.string)
                for value, spec in zip(values, self.specs, strict=True)
            )
            print("".join(cells), flush=True)


def _cpu_times():
    """The machine's CPU time counters (``/proc/stat``), or None off Linux."""
    try:
        with open("/proc/stat") as stat:
            return np.array(stat.readline().split()[1:9], dtype=float)
    except OSError:
        return None


def run_command(command):
    """Wall seconds, CPU seconds, peak resident MiB and steal % of one command.

    The CPU seconds are the child's and its own children's (the tight-binding
    workers, say); the steal is the share of all the machine's CPU time
    taken by the hypervisor while the command ran, NaN off Linux.
    """
    before = _cpu_times()
    watch = Stopwatch()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    # wait4 gives this child's own resource use (ru_maxrss in KiB on Linux);
    # its children's CPU time is added to it only once they are waited for.
    _, status, usage = os.wait4(child.pid, 0)
    seconds = watch.seconds
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, command)
    after = _cpu_times()
    steal = np.nan
    if before is not None and after is not None:
        # user nice system idle iowait irq softirq steal
        spent = after - before
        steal = 100.0 * spent[7] / max(spent.sum(), 1.0)
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, steal
