"""What ``--cache-dir`` saves: the same command twice, the second from the cache.

Runs ``skqm7x submit`` (fit on every labelled molecule, predict the test
molecules) three times, each run a separate process as a user would start
it: without ``--cache-dir`` (the README's main job), then twice with one
fresh cache folder. It prints the wall time, CPU time (user and system, the
process and its children) and peak memory (the largest resident set of the
process) of each, the size of the cache after it, and whether the three
submissions are identical. On Linux it also prints the share of the
machine's CPU time that its hypervisor gave to other guests during the run
(``steal`` in ``/proc/stat``): on a shared virtual machine a large share
makes the same work take longer, and the wall time alone would not say so. With
``--cv K`` the command is ``skqm7x cv MODEL --folds K`` instead (every fold's
fit and prediction; ``--n-molecules`` keeps the first N labelled molecules).

Usage::

    python benchmarks/bench_cache.py                       # best, submit
    python benchmarks/bench_cache.py --model xtb-scattering-ridge
    python benchmarks/bench_cache.py --cv 5 --n-molecules 1000
"""

# SPDX-License-Identifier: BSD-3-Clause

import sys
import tempfile
from pathlib import Path

import numpy as np
from _common import Table, describe_machine, make_parser, run_command

import skqm7x


def _size(folder):
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def main():
    parser = make_parser(__doc__, n_molecules=True)
    parser.add_argument("--model", default="best", choices=skqm7x.available_models())
    parser.add_argument("--cv", type=int, default=None, metavar="K")
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="skqm7x-bench-cache-") as folder:
        folder = Path(folder)
        command = [sys.executable, "-m", "skqm7x"]
        if args.cv is None:
            command += ["submit", "--model", args.model]
        else:
            command += ["cv", args.model, "--folds", str(args.cv)]
        for option, value in (
            ("--data-dir", args.data_dir),
            ("--n-molecules", args.n_molecules if args.cv else None),
            ("--n-jobs", args.n_jobs),
        ):
            if value is not None:
                command += [option, str(value)]
        command += ["--quiet"]
        cached = ["--cache-dir", str(folder / "cache")]
        print("command: skqm7x " + " ".join(command[3:]) + " [--cache-dir CACHE_DIR]")
        print(describe_machine(f"skqm7x {skqm7x.__version__}"))
        table = Table(
            [
                ("run", "<16"),
                ("wall s", ">9.1f"),
                ("CPU s", ">9.1f"),
                ("peak MiB", ">10.0f"),
                ("cache MiB", ">11.1f"),
                ("steal %", ">9.1f"),
            ]
        )
        outputs = []
        for run, cache in (
            ("no cache", []),
            ("first (empty)", cached),
            ("second (cached)", cached),
        ):
            out = folder / f"submission-{len(outputs)}.csv"
            extra = ["--out", str(out)] if args.cv is None else []
            seconds, cpu, peak, steal = run_command(command + cache + extra)
            size = _size(folder / "cache") / 2**20 if cache else 0.0
            table.row(run, seconds, cpu, peak, size, steal)
            outputs.append(out)
        if args.cv is None:
            same = len({out.read_bytes() for out in outputs}) == 1
            energies = [
                np.loadtxt(out, delimiter=",", skiprows=1)[:, 1] for out in outputs
            ]
            largest = max(np.max(np.abs(e - energies[0])) for e in energies[1:])
            print(
                f"identical submissions: {'yes' if same else 'NO'} "
                f"(largest difference {largest:.3g} eV)"
            )


if __name__ == "__main__":
    main()
