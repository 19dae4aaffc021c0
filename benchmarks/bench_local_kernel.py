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

``--float32`` screens a route instead: the kernel at one width (best's
chosen, ``BEST_GAMMAS[1]``) with every product, exponential and sum in
float32, written out here with numpy, against ``local_kernels`` in float64:
the largest relative difference, and for each of best's penalties whether
the kernel plus the penalty on its diagonal still has a Cholesky factor (the
model needs one).

Usage::

    python benchmarks/bench_local_kernel.py
    python benchmarks/bench_local_kernel.py --n-molecules 1000 --n-jobs 2
    python benchmarks/bench_local_kernel.py --float32 --n-jobs 2
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from _common import Stopwatch, Table, describe_machine, load_labelled, make_parser

import skqm7x
from skqm7x.models import local_kernels
from skqm7x.recipes import BEST_ALPHAS, BEST_GAMMAS, DELTA_GAMMAS
from skqm7x.representations import fchl19_environments


def float32_kernel(atoms, gamma):
    """The local kernel of ``atoms`` with themselves, computed in float32."""
    K = np.zeros((atoms.n_molecules, atoms.n_molecules), dtype=np.float32)
    for element in np.unique(atoms.charges):
        of_element = atoms.charges == element
        vectors = atoms.vectors[of_element].astype(np.float32)
        owners = atoms.owners[of_element]
        norms = np.einsum("ij,ij->i", vectors, vectors)
        firsts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        molecules = owners[firsts]
        for start in range(0, len(vectors), 1024):
            rows = slice(start, start + 1024)
            squared = norms[rows, None] + norms[None, :] - 2 * vectors[rows] @ vectors.T
            pairs = np.exp(np.float32(-gamma) * squared)
            by_column = np.add.reduceat(pairs, firsts, axis=1)
            for row, owner in zip(by_column, owners[rows], strict=True):
                K[owner, molecules] += row
    return K


def float32_route(atoms, n_jobs):
    """Print how far the float32 kernel is from the float64 one, and its factors."""
    gamma = BEST_GAMMAS[1]
    (exact,) = local_kernels(atoms, None, [gamma], n_jobs=n_jobs)
    rounded = float32_kernel(atoms, gamma).astype(np.float64)
    difference = np.max(np.abs(rounded - exact) / np.abs(exact).max())
    print(
        f"gamma {gamma:g}: largest difference of the float32 kernel, relative to "
        f"its largest entry: {difference:.2g}"
    )
    for alpha in BEST_ALPHAS:
        factored = []
        for name, K in (("float64", exact), ("float32", rounded)):
            try:
                np.linalg.cholesky(K + alpha * np.eye(len(K)))
                factored.append(f"{name} yes")
            except np.linalg.LinAlgError:
                factored.append(f"{name} NO")
        print(f"alpha {alpha:g}: Cholesky factor: {', '.join(factored)}")


def main():
    parser = make_parser(__doc__, n_molecules=True)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--float32", action="store_true")
    args = parser.parse_args()
    X, _ = load_labelled(args.data_dir, args.n_molecules)
    Z, _ = skqm7x.unpack_molecules(X)
    atoms = fchl19_environments(X, np.unique(Z[Z > 0]))
    print(
        f"{len(X)} labelled molecules, {len(atoms.charges)} atoms; "
        f"{describe_machine(f'n_jobs={args.n_jobs}')}\n"
    )
    if args.float32:
        float32_route(atoms, args.n_jobs)
        return
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
