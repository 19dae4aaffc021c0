"""Each stage of ``best``'s main job against what the machine can do.

Fits and predicts the stages of ``make_model("best")`` one by one, on the
labelled molecules and the test molecules, through the public classes and
functions it is built from, and prints for each the seconds it took, its
floating-point work where that is a count of products (kernels, distances,
factorizations), the rate achieved, and the seconds a plain float64 matrix
product of the same work takes on the same machine, in the same process
(numpy ``@``, in pieces of 1024 rows so that nothing larger than the stage's
own arrays is made). A ratio above 1 means the stage is slower than that
product; below 1, it does less work than the plain product (the local
kernel's products run in the few hundred directions its vectors span).

The stages, in the job's order:

- GFN2-xTB energies and atom quantities (tblite, one process per job);
- FCHL19 vectors of the training molecules (qmllib);
- the training molecules' local kernel at best's widths: work counted as
  the plain product of each element's vectors with themselves, half of it
  (the kernel is symmetric);
- the many-body tensors of best's molecule kernel;
- the xtbml model's local kernel (its atoms' xtbml columns, from the same
  GFN2-xTB single point, scaled within each element) and its search;
- the local kernel model's search: one factorization (Cholesky and
  triangular inverse, ``2 n^3 / 3``) per candidate, each timed as
  ``GaussianProcessKernelRidgeCV`` takes it on a kernel of one column of
  numbers;
- SLATM vectors;
- the SLATM kernel model's fit: squared distances (``2 n^2`` times the
  features) and one factorization per candidate;
- the test molecules: their FCHL19 vectors and their local kernel with the
  training molecules (work: the plain product of their vectors with the
  training ones), their xtbml local kernel likewise, SLATM vectors, and the
  SLATM model's mean and standard deviation (distances, and a triangular
  product, ``n^2`` per query).

Stages whose work is not a count of products (GFN2-xTB, the vectors) print
``nan`` in its columns. The blend's weights cost nothing to time: they come
from the three models' leave-one-out predictions.

Usage::

    python benchmarks/bench_stages.py --n-jobs 2
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from _common import Stopwatch, Table, describe_machine, make_parser
from threadpoolctl import threadpool_limits

import skqm7x
from skqm7x import (
    GaussianProcessKernelRidgeCV,
    ManyBodyTensorTransformer,
    SlatmTransformer,
)
from skqm7x.models import local_kernels
from skqm7x.recipes import (
    BEST_ALPHAS,
    BEST_GAMMAS,
    BEST_SLATM_ALPHAS,
    BEST_SLATM_GAMMAS,
    BEST_XTBML_ALPHAS,
    BEST_XTBML_GAMMAS,
)
from skqm7x.representations import (
    AtomicEnvironments,
    fchl19_environments,
    tight_binding_atoms,
)

_ROWS = 1024


def product_seconds(pieces):
    """Seconds of ``a @ b.T`` for each ``(a, b)``, in slices of ``_ROWS`` rows of a."""
    watch = Stopwatch()
    for a, b in pieces:
        for start in range(0, len(a), _ROWS):
            a[start : start + _ROWS] @ b.T
    return watch.seconds


def element_pieces(left, right, symmetric):
    """The plain products of a local kernel: each element's vectors, paired.

    For a set with itself, half of the rows of each element, all columns:
    the work of the symmetric half.
    """
    pieces = []
    for element in np.intersect1d(left.charges, right.charges):
        a = left.vectors[left.charges == element]
        b = right.vectors[right.charges == element]
        pieces.append((a[: len(a) // 2] if symmetric else a, b))
    return pieces


def work(pieces):
    """Floating-point operations of ``a @ b.T`` for each piece."""
    return sum(2.0 * len(a) * len(b) * a.shape[1] for a, b in pieces)


def unit_spread_scales(columns, Z, elements):
    """One over each xtbml column's spread within each element's atoms (0 if none).

    The scaling of ``LocalKernelRidge(representation="xtbml")``; ``columns``
    and ``Z`` as ``tight_binding_atoms`` gives them, padding slots included.
    """
    scales = np.zeros((len(elements), columns.shape[-1]))
    for row, element in enumerate(elements):
        spread = columns[Z == element].std(axis=0)
        np.divide(1.0, spread, out=scales[row], where=spread > 0)
    return scales


def xtbml_environments(columns, Z, elements, scales):
    """The atoms' xtbml columns times their element's ``scales``."""
    present = Z > 0
    charges = Z[present].astype(int)
    vectors = columns[present] * scales[np.searchsorted(elements, charges)]
    return AtomicEnvironments(vectors, charges, np.nonzero(present)[0], len(Z))


def random_pieces(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(m, k)), rng.normal(size=(n, k))) for m, n, k in shapes]


def main():
    parser = make_parser(__doc__)
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args()
    n_jobs = args.n_jobs
    train = skqm7x.load_qm7x(args.data_dir)
    test = skqm7x.load_qm7x(args.data_dir, "test")
    X, y, X_test = train.data, train.target, test.data
    n, n_test = len(X), len(X_test)
    print(f"{n} labelled and {n_test} test molecules, n_jobs={n_jobs}")
    print(describe_machine(f"skqm7x {skqm7x.__version__}"))
    # The plain products run on as many threads as the stage's jobs.
    blas_threads = None if n_jobs in (None, 1, -1) else n_jobs
    table = Table(
        [
            ("stage", "<48"),
            ("seconds", ">9.2f"),
            ("GFLOP", ">9.1f"),
            ("GFLOP/s", ">9.1f"),
            ("numpy @ s", ">10.2f"),
            ("ratio", ">7.2f"),
        ]
    )

    def row(name, seconds, flops=np.nan, product=np.nan):
        table.row(
            name,
            seconds,
            flops / 1e9,
            flops / 1e9 / seconds,
            product,
            seconds / product,
        )

    def timed(compute):
        watch = Stopwatch()
        result = compute()
        return result, watch.seconds

    def product_of(pieces):
        with threadpool_limits(blas_threads, user_api="blas"):
            return product_seconds(pieces)

    def kernel_row(name, atoms, gammas, training=None):
        """Time the local kernels of ``atoms`` (with ``training``, else themselves)."""
        if training is None:
            pieces = element_pieces(atoms, atoms, symmetric=True)
        else:
            pieces = element_pieces(atoms, training, symmetric=False)
        _, seconds = timed(
            lambda: local_kernels(atoms, training, gammas, n_jobs=n_jobs)
        )
        row(name, seconds, work(pieces), product_of(pieces))

    # One single point per molecule gives all the columns: best's two, and
    # the xtbml model's.
    quantities = ["charges", "energies", "xtbml"]
    columns, seconds = timed(lambda: tight_binding_atoms(X, quantities, n_jobs=n_jobs))
    atoms, xtbml = columns[..., :2], columns[..., 2:]
    row(f"GFN2-xTB, {n} molecules", seconds)
    Z = X[:, ::4]
    elements = np.unique(Z[Z > 0]).astype(int)
    # best's kernel appends two tight-binding columns to each atom's vector.
    training, seconds = timed(
        lambda: fchl19_environments(X, elements, atom_columns=atoms)
    )
    row(f"FCHL19 vectors, {n} molecules", seconds)
    kernel_row(
        f"local kernel, {n} x {n}, {len(BEST_GAMMAS)} widths", training, BEST_GAMMAS
    )
    mbtr = ManyBodyTensorTransformer(
        distance_power=4.0, angle_power=4.0, handle_unknown="ignore"
    )
    _, seconds = timed(lambda: mbtr.fit_transform(X))
    row(f"many-body tensors, {n} molecules", seconds)

    # One candidate of a search: the Cholesky factor of the n x n training
    # kernel plus the penalty, and its triangular inverse, timed through
    # GaussianProcessKernelRidgeCV on one column of numbers (whose distances
    # and exponentials cost next to nothing).
    column = np.random.default_rng(0).normal(size=(n, 1))
    one = GaussianProcessKernelRidgeCV(kernel="rbf", gammas=[1.0], alphas=BEST_ALPHAS)
    _, seconds = timed(lambda: one.fit(column, y))
    factorization = seconds / len(BEST_ALPHAS)
    gemm = product_of(random_pieces([(n, n, n)]))

    def search_row(model, candidates):
        """A search of ``candidates`` factorizations, at the timed one's rate."""
        row(
            f"{model}'s search: {candidates} factorizations",
            candidates * factorization,
            candidates * 2 * n**3 / 3,
            candidates * gemm / 3,
        )

    search_row("local model", len(BEST_GAMMAS) * len(BEST_ALPHAS))

    scales = unit_spread_scales(xtbml, Z, elements)
    electrons = xtbml_environments(xtbml, Z, elements, scales)
    kernel_row(
        f"xtbml local kernel, {n} x {n}, {len(BEST_XTBML_GAMMAS)} width",
        electrons,
        BEST_XTBML_GAMMAS,
    )
    search_row("xtbml model", len(BEST_XTBML_GAMMAS) * len(BEST_XTBML_ALPHAS))

    slatm = SlatmTransformer(handle_unknown="ignore", n_jobs=n_jobs)
    vectors, seconds = timed(lambda: slatm.fit_transform(X))
    row(f"SLATM vectors, {n} molecules", seconds)
    search = GaussianProcessKernelRidgeCV(
        kernel="rbf", gammas=BEST_SLATM_GAMMAS, alphas=BEST_SLATM_ALPHAS
    )
    slatm_candidates = len(BEST_SLATM_GAMMAS) * len(BEST_SLATM_ALPHAS)
    _, seconds = timed(lambda: search.fit(vectors, y))
    row(
        f"SLATM model: distances, {slatm_candidates} factorizations",
        seconds,
        2.0 * n * n * vectors.shape[1] + slatm_candidates * 2 * n**3 / 3,
        product_of([(vectors, vectors)]) + slatm_candidates * gemm / 3,
    )

    columns_test = tight_binding_atoms(X_test, quantities, n_jobs=n_jobs)
    atoms_test, xtbml_test = columns_test[..., :2], columns_test[..., 2:]
    queries, seconds = timed(
        lambda: fchl19_environments(X_test, elements, atom_columns=atoms_test)
    )
    row(f"FCHL19 vectors, {n_test} test molecules", seconds)
    kernel_row(
        f"local kernel, {n_test} x {n}, 1 width", queries, [BEST_GAMMAS[1]], training
    )
    # The queries' columns take the training atoms' scales, as in predict.
    electron_queries = xtbml_environments(xtbml_test, X_test[:, ::4], elements, scales)
    kernel_row(
        f"xtbml local kernel, {n_test} x {n}, 1 width",
        electron_queries,
        BEST_XTBML_GAMMAS,
        electrons,
    )
    test_vectors, seconds = timed(lambda: slatm.transform(X_test))
    row(f"SLATM vectors, {n_test} test molecules", seconds)
    _, seconds = timed(lambda: search.predict(test_vectors, return_std=True))
    row(
        f"SLATM model: mean and std, {n_test} molecules",
        seconds,
        2.0 * n_test * n * vectors.shape[1] + n_test * n * n,
        product_of([(test_vectors, vectors)])
        + product_of(random_pieces([(n_test, n, n)])) / 2,
    )


if __name__ == "__main__":
    main()
