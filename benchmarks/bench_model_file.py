"""Train once, predict later: a model file against fitting again.

Runs, each as a separate process as a user would start it: ``skqm7x submit``
(fit on every labelled molecule and predict the test molecules, the
reference), ``skqm7x fit`` (the same fit, written to a model file), then
``skqm7x predict`` of the 947 test molecules from that file, read as xyz
files, without and (for a model with a standard deviation) with
``--uncertainty``, each with the same ``--n-jobs`` (a model file carries
none of the fitting machine's settings). It prints each run's wall time, CPU
time, peak memory and the hypervisor's steal share (as ``bench_cache.py``),
the model file's size, and whether ``predict`` wrote exactly ``submit``'s
energies.

Usage::

    python benchmarks/bench_model_file.py --n-jobs 2           # best
    python benchmarks/bench_model_file.py --model fchl-krr --n-jobs 2
"""

# SPDX-License-Identifier: BSD-3-Clause

import csv
import sys
import tempfile
from pathlib import Path

from _common import Table, describe_machine, make_parser, run_command

import skqm7x


def write_test_molecules(folder, data_dir):
    """The test molecules as ``id_N.xyz`` files, coordinates exact."""
    test = skqm7x.load_qm7x(data_dir, subset="test")
    Z, R = skqm7x.unpack_molecules(test.data)
    folder.mkdir()
    for molecule_id, numbers, positions in zip(test.ids, Z, R, strict=True):
        atoms = [(int(z), r) for z, r in zip(numbers, positions, strict=True) if z]
        lines = [str(len(atoms)), ""]
        lines += [
            f"{z} {float(x)!r} {float(y)!r} {float(w)!r}" for z, (x, y, w) in atoms
        ]
        (folder / f"id_{molecule_id}.xyz").write_text("\n".join(lines) + "\n")


def energies(path):
    with open(path) as file:
        return [(row["id"], row["energy"]) for row in csv.DictReader(file)]


def main():
    parser = make_parser(__doc__)
    parser.add_argument("--model", default="best", choices=skqm7x.available_models())
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args()
    skqm7x_command = [sys.executable, "-m", "skqm7x"]
    fitting = ["--model", args.model, "--quiet"]
    predicting = ["--quiet"]
    if args.n_jobs is not None:
        fitting += ["--n-jobs", str(args.n_jobs)]
        predicting += ["--n-jobs", str(args.n_jobs)]
    if args.data_dir is not None:
        fitting += ["--data-dir", args.data_dir]
    with_std = args.model in skqm7x.available_models(with_std=True)

    with tempfile.TemporaryDirectory(prefix="skqm7x-bench-model-file-") as folder:
        folder = Path(folder)
        model_file = folder / f"{args.model}.skqm7x"
        write_test_molecules(folder / "test", args.data_dir)
        runs = [
            ("submit (refit)", ["submit", *fitting, "--out", folder / "submit.csv"]),
            ("fit, write file", ["fit", *fitting, "--out", model_file]),
            (
                "predict",
                ["predict", model_file, folder / "test", *predicting]
                + ["--out", folder / "predict.csv"],
            ),
        ]
        if with_std:
            runs.append(
                (
                    "predict, std",
                    ["predict", model_file, folder / "test", *predicting]
                    + ["--uncertainty", "--out", folder / "predict-std.csv"],
                )
            )
        print(f"model: {args.model}")
        for name, command in runs:
            print(f"{name}: skqm7x " + " ".join(map(str, command)))
        print(describe_machine(f"skqm7x {skqm7x.__version__}"))
        table = Table(
            [
                ("run", "<17"),
                ("wall s", ">9.1f"),
                ("CPU s", ">9.1f"),
                ("peak MiB", ">10.0f"),
                ("steal %", ">9.1f"),
            ]
        )
        for name, command in runs:
            table.row(name, *run_command(skqm7x_command + list(map(str, command))))
        print(f"model file: {model_file.stat().st_size / 2**20:.1f} MiB")
        same = energies(folder / "predict.csv") == energies(folder / "submit.csv")
        print(f"predict wrote submit's energies exactly: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
