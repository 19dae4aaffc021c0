"""Routes to a better best model, screened by leave-one-out on the challenge.

Each route changes one thing of the best model, ``xtb-fchl-krr`` (element
energies and GFN2-xTB energy as a baseline, the local FCHL19 kernel on the
remainder), and prints the closed-form leave-one-out RMSE of the local kernel
model on all labelled molecules, its width and penalty chosen by that same
leave-one-out over the ready-made grid (``DELTA_GAMMAS``, ``DELTA_ALPHAS``).
It is a screen, one fit per route, not the nested CV of ``bench_models.py``:
a route worth a model is then measured there.

Routes:

``gfn2``: the best model as it is (baseline coefficient 1).

``gfn1+gfn2``: the GFN1-xTB and GFN2-xTB energies together, their
coefficients fitted by least squares with the element energies (once, on
all labelled molecules).

``--fchl19 NAME=VALUE ...``: the best model with one real-valued FCHL19
parameter of qmllib's ``generate_fchl19`` changed (``rcut``,
``two_body_decay``, ...; each a route of its own).

``--charges W ...``: the GFN2-xTB partial charge of each atom (tblite's
Mulliken charges of the same calculation), times ``W``, appended to the
atom's FCHL19 vector, so that the kernel also compares the atoms' charges;
``W`` 0 is the best model itself, by this route's own code (a check). The
charges and vectors are computed once, before these rows; a row's seconds
are its kernels and leave-one-out. With
``--charges-on gfn1+gfn2`` the kernel learns the remainder of the GFN1+GFN2
route instead: whether the two routes add up.

Usage::

    python benchmarks/bench_routes.py
    python benchmarks/bench_routes.py --fchl19 rcut=6 two_body_decay=3.6
    python benchmarks/bench_routes.py --fchl19 --charges 0 10 30
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from _common import (
    Stopwatch,
    Table,
    describe_machine,
    load_labelled,
    make_parser,
)
from joblib import Parallel, delayed

import skqm7x
from skqm7x._molecules import ANGSTROM_IN_BOHR
from skqm7x.models import local_kernels
from skqm7x.models._local_kernel_ridge import _leave_one_out_rmse
from skqm7x.recipes import DELTA_ALPHAS, DELTA_GAMMAS
from skqm7x.representations import AtomicEnvironments, fchl19_environments

DEFAULT_FCHL19 = ["rcut=4", "rcut=6", "two_body_decay=3.6", "three_body_weight=26.8"]


def remainder(y, counts, baselines):
    """``y`` less the least-squares fit of element counts and baselines."""
    design = np.column_stack([counts, *baselines])
    coefficients = np.linalg.lstsq(design, y, rcond=None)[0]
    return y - design @ coefficients, coefficients[counts.shape[1] :]


def screen(X, y, representation_params=None, n_jobs=None):
    model = skqm7x.LocalKernelRidge(
        gammas=DELTA_GAMMAS,
        alphas=DELTA_ALPHAS,
        representation_params=representation_params,
        n_jobs=n_jobs,
    )
    watch = Stopwatch()
    model.fit(X, y)
    return float(np.min(model.loo_rmse_)), model.gamma_, model.alpha_, watch.seconds


def partial_charges(Z, R):
    """GFN2-xTB (Mulliken) charge of each atom of one molecule."""
    from tblite.interface import Calculator

    present = Z > 0
    numbers = Z[present].astype(int)
    calculator = Calculator(
        "GFN2-xTB",
        numbers,
        R[present] * ANGSTROM_IN_BOHR,
        charge=0.0,
        uhf=int(numbers.sum() % 2),
    )
    calculator.set("verbosity", 0)
    return calculator.singlepoint().get("charges")


def charged_environments(X, elements, n_jobs=None):
    """Each atom's FCHL19 vector and GFN2-xTB charge, computed once."""
    Z, R = skqm7x.unpack_molecules(X)
    charges = np.concatenate(
        Parallel(n_jobs=n_jobs)(
            delayed(partial_charges)(z, r) for z, r in zip(Z, R, strict=True)
        )
    )
    return fchl19_environments(X, elements), charges


def screen_with_charges(y, environments, charges, weight, n_jobs=None):
    """The route's leave-one-out RMSE, its width and penalty, and seconds."""
    watch = Stopwatch()
    augmented = AtomicEnvironments(
        np.hstack([environments.vectors, weight * charges[:, None]]),
        environments.charges,
        environments.owners,
        environments.n_molecules,
    )
    kernels = local_kernels(augmented, augmented, DELTA_GAMMAS, n_jobs=n_jobs)
    rmse = np.array([_leave_one_out_rmse(K, y, DELTA_ALPHAS) for K in kernels])
    best = np.unravel_index(np.argmin(rmse), rmse.shape)
    return (
        float(rmse[best]),
        DELTA_GAMMAS[best[0]],
        DELTA_ALPHAS[best[1]],
        watch.seconds,
    )


def main():
    parser = make_parser(__doc__, n_molecules=True)
    parser.add_argument(
        "--fchl19", nargs="*", default=DEFAULT_FCHL19, metavar="NAME=VALUE"
    )
    parser.add_argument("--charges", type=float, nargs="*", default=[], metavar="W")
    parser.add_argument("--charges-on", choices=["gfn2", "gfn1+gfn2"], default="gfn2")
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args()
    fchl19_changes = []
    for change in args.fchl19:
        name, _, value = change.partition("=")
        try:
            fchl19_changes.append((change, {name: float(value)}))
        except ValueError:
            parser.error(f"--fchl19 takes NAME=NUMBER, got {change!r}")

    X, y = load_labelled(args.data_dir, args.n_molecules)
    Z, _ = skqm7x.unpack_molecules(X)
    elements = np.unique(Z[Z > 0])
    counts = (Z[:, :, None] == elements).sum(axis=1).astype(float)
    print(
        f"{len(y)} labelled molecules, leave-one-out RMSE of LocalKernelRidge "
        f"on the remainder; {describe_machine(f'n_jobs={args.n_jobs}')}\n"
    )
    energies = {
        method: skqm7x.TightBindingEnergyTransformer(method=method, n_jobs=args.n_jobs)
        .fit_transform(X)
        .ravel()
        for method in ("GFN2-xTB", "GFN1-xTB")
    }
    gfn2, _ = remainder(y - energies["GFN2-xTB"], counts, [])
    both, coefficients = remainder(
        y, counts, [energies["GFN2-xTB"], energies["GFN1-xTB"]]
    )
    routes = [
        ("gfn2", gfn2, None, f"baseline RMSE {np.sqrt(np.mean(gfn2**2)):.4f}"),
        (
            "gfn1+gfn2",
            both,
            None,
            f"baseline RMSE {np.sqrt(np.mean(both**2)):.4f}; coefficients "
            f"GFN2 {coefficients[0]:.4f}, GFN1 {coefficients[1]:.4f}",
        ),
    ]
    for change, params in fchl19_changes:
        routes.append((f"fchl19 {change}", gfn2, params, ""))

    table = Table(
        [
            ("route", "<34"),
            ("LOO RMSE (eV)", ">14.5f"),
            ("gamma", ">11.5g"),
            ("alpha", ">8.0e"),
            ("fit s", ">8.1f"),
            ("  note", "<"),
        ]
    )
    for name, target, params, note in routes:
        rmse, gamma, alpha, seconds = screen(X, target, params, args.n_jobs)
        table.row(name, rmse, gamma, alpha, seconds, f"  {note}")
    if not args.charges:
        return
    watch = Stopwatch()
    environments, charges = charged_environments(X, elements, args.n_jobs)
    print(f"(GFN2-xTB charges and FCHL19 vectors: {watch.seconds:.1f} s, once)")
    target = {"gfn2": gfn2, "gfn1+gfn2": both}[args.charges_on]
    for weight in args.charges:
        rmse, gamma, alpha, seconds = screen_with_charges(
            target, environments, charges, weight, args.n_jobs
        )
        table.row(
            f"{args.charges_on} charges x {weight:g}", rmse, gamma, alpha, seconds, ""
        )


if __name__ == "__main__":
    main()
