"""Time to load the challenge set: shipped in the package, or read from a folder.

Prints the median and the slowest of ``--repeats`` loads of both subsets (3792
labelled and 947 test molecules) from the archive shipped in the package, and,
with ``--data-dir`` (or ``SKQM7X_DATA``), of the same molecules read from the
xyz files of a folder in the challenge layout, with the ratio. Each load is a
fresh call of ``load_qm7x``; the first one also pays for opening the archive.

Usage::

    python benchmarks/bench_load.py
    python benchmarks/bench_load.py --data-dir path/to/qm7x
"""

# SPDX-License-Identifier: BSD-3-Clause

import os
import platform

import numpy as np
from _common import Stopwatch, Table, describe_machine, make_parser

import skqm7x


def load_both(data_dir):
    watch = Stopwatch()
    train = skqm7x.load_qm7x(data_dir, "train")
    test = skqm7x.load_qm7x(data_dir, subset="test")
    seconds = watch.seconds
    if len(train.ids) + len(test.ids) == 0:
        raise SystemExit(f"{data_dir}: no molecules")
    return seconds


def main(argv=None):
    parser = make_parser(
        __doc__,
        data_dir_help="also time reading this folder in the challenge layout "
        "(default: $SKQM7X_DATA)",
    )
    parser.set_defaults(data_dir=os.environ.get("SKQM7X_DATA") or None)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    # The shipped set, whatever SKQM7X_DATA says.
    os.environ.pop("SKQM7X_DATA", None)

    print(
        describe_machine(
            f"Python {platform.python_version()}", f"numpy {np.__version__}"
        )
        + f"; {args.repeats} loads of both subsets each\n"
    )
    table = Table(
        [
            ("source", "<10"),
            ("first (s)", ">11.4f"),
            ("median (s)", ">12.4f"),
            ("slowest (s)", ">13.4f"),
        ]
    )
    rows = {"shipped": None}
    if args.data_dir:
        rows["folder"] = args.data_dir
    medians = {}
    for name, data_dir in rows.items():
        seconds = [load_both(data_dir) for _ in range(args.repeats)]
        medians[name] = np.median(seconds)
        table.row(name, seconds[0], medians[name], max(seconds))
    if "folder" in medians:
        ratio = medians["folder"] / medians["shipped"]
        print(f"\nthe shipped set loads {ratio:.0f} times faster than the folder")


if __name__ == "__main__":
    main()
