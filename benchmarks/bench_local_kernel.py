"""Seconds of the local FCHL19 kernel of a training set, mirrored or in full.

``LocalKernelRidge`` fits on the kernel of its training molecules with
themselves, ``local_kernels(atoms, None, gammas)``: each pair of molecules
is computed once and mirrored. This script times that against the full
computation of the same matrix, ``local_kernels(atoms, atoms, gammas)``
(every pair both ways, as before the mirror), at the widths of
``DELTA_GAMMAS`` and at one width alone (what each extra width costs), and
prints the largest relative difference between the two matrices. The FCHL19
vectors are computed once, before the clock starts; ``--n-jobs`` is the
kernel's own.

Usage::

    python benchmarks/bench_local_kernel.py
    python benchmarks/bench_local_kernel.py --n-molecules 1000 --n-jobs 2
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from _common import Stopwatch, Table, describe_machine, load_labelled, make_parser

import skqm7x
from skqm7x.models import local_kernels
from skqm7x.recipes import DELTA_GAMMAS
from skqm7x.representations import fchl19_environments


def main():
    parser = make_parser(__doc__, n_molecules=True)
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args()
    X, _ = load_labelled(args.data_dir, args.n_molecules)
    Z, _ = skqm7x.unpack_molecules(X)
    atoms = fchl19_environments(X, np.unique(Z[Z > 0]))
    print(
        f"{len(X)} labelled molecules, {len(atoms.charges)} atoms; "
        f"{describe_machine(f'n_jobs={args.n_jobs}')}\n"
    )
    table = Table(
        [
            ("kernel", "<34"),
            ("widths", ">7d"),
            ("seconds", ">9.1f"),
            ("ratio", ">7.2f"),
        ]
    )
    kernels, seconds = {}, {}
    for name, right, gammas in [
        ("full (every pair both ways)", atoms, DELTA_GAMMAS),
        ("mirrored (each pair once)", None, DELTA_GAMMAS),
        ("mirrored, one width", None, DELTA_GAMMAS[2:3]),
    ]:
        watch = Stopwatch()
        kernels[name] = local_kernels(atoms, right, gammas, n_jobs=args.n_jobs)
        seconds[name] = watch.seconds
        reference = seconds["full (every pair both ways)"]
        table.row(name, len(gammas), seconds[name], seconds[name] / reference)
    full, mirrored = (
        kernels["full (every pair both ways)"],
        kernels["mirrored (each pair once)"],
    )
    difference = np.max(np.abs(mirrored - full) / np.abs(full))
    print(f"\nlargest relative difference, mirrored against full: {difference:.2g}")


if __name__ == "__main__":
    main()
