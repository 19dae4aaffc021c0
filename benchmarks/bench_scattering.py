"""Time and check the scattering backends against kymatio's own configuration.

Parts, each chosen by an option, all in one run:

``--compare`` (the default part): on the same ``--n-molecules`` labelled
molecules, each configuration in a fresh process, seconds per molecule, ratio
to kymatio's example and peak memory for

* kymatio's example configuration (``examples/3d/scattering3d_qm7_torch.py``:
  grid 192 x 128 x 96, sigma 2, J 2, L 3, powers 0.5 1 2 3, positions scaled
  so that the closest atoms' Gaussians overlap by at most 0.1, kymatio's own
  density generator), run by kymatio itself;
* the transformer's kymatio backend at its defaults (grid 64 x 48 x 40);
* the transformer's fast backend at its defaults (same scale);
* the fast backend at kymatio's example scale;

then the largest relative differences of the features where two of them
compute the same quantity. The fast backend's discretisation (samples per
width, room around the molecules) is fixed inside the transformer, not a
parameter, so this script, which uses the public API only, does not vary it.

``--profile``: where one batch of 8 molecules spends its time, per backend.

``--whole``: the fast features of all 4739 challenge molecules (train and
test), with ``--n-jobs`` workers: wall time and peak memory.

``--cv``: 5-fold CV RMSE and MAE (KFold, shuffle, random_state=0), over all
molecules and the test-like ones, of StandardScaler + Ridge on the 3792
labelled molecules for the features of each ``--backends``, computed once
with the scale learned on all of them (from the geometries alone, not the
energies). Two rows per backend: the alpha in ``logspace(-9, 1, 11)`` with
the best CV RMSE (the same slightly optimistic protocol for both), and the
nested figure, alpha chosen by an inner 5-fold search in each outer fold;
``--worst N`` lists the N largest nested errors among the test-like
molecules, with their formulas. Features are cached in ``--cache-dir``:
the kymatio backend needs about 40 minutes on two cores.

``--dask``: the fast features of ``--dask-molecules`` molecules through
joblib's Dask backend on a local ``dask.distributed`` cluster of 1, then 2
workers (one thread and ``--threads`` torch threads each, without dask's
``MALLOC_TRIM_THRESHOLD_``): the scaling. With a single worker thread joblib
runs the batches in the calling process, so the first row is the serial
baseline.
"""

# SPDX-License-Identifier: BSD-3-Clause

import cProfile
import io
import pstats

import numpy as np
from _common import (
    Stopwatch,
    Table,
    cross_validate,
    describe_machine,
    error_scores,
    kfold,
    load_labelled,
    load_test_like,
    make_parser,
    run_isolated,
)

KYMATIO_SHAPE = (192, 128, 96)
POWERS = (0.5, 1.0, 2.0, 3.0)


def _kymatio_scale(X, sigma, overlapping_precision=0.1):
    """kymatio's scale: the closest atoms' Gaussians overlap by at most 0.1."""
    from scipy.spatial.distance import pdist

    from skqm7x import unpack_molecules

    Z, R = unpack_molecules(X)
    closest = min(
        pdist(r[z > 0]).min() for z, r in zip(Z, R, strict=True) if (z > 0).sum() > 1
    )
    return sigma * np.sqrt(-8 * np.log(overlapping_precision)) / closest


def _valence(Z):
    """kymatio's example's valence electrons: Z less the inner shells, to argon."""
    return (
        Z * (Z <= 2)
        + (Z - 2) * ((Z > 2) & (Z <= 10))
        + (Z - 10) * ((Z > 10) & (Z <= 18))
    )


def _kymatio_reference(X, scale, batch_size):
    """kymatio's example pipeline, on molecules in the transformer's pose."""
    import scipy.special
    import torch

    if not hasattr(scipy.special, "sph_harm"):
        # kymatio 0.3.0 imports scipy.special.sph_harm, which SciPy 1.17
        # removed; this process (run_isolated) runs nothing but kymatio.
        scipy.special.sph_harm = lambda m, n, theta, phi: scipy.special.sph_harm_y(
            n, m, phi, theta
        )
    from kymatio.scattering3d.backend.torch_backend import TorchBackend3D
    from kymatio.scattering3d.utils import generate_weighted_sum_of_gaussians
    from kymatio.torch import HarmonicScattering3D

    grid = np.fft.ifftshift(
        np.mgrid[tuple(slice(-(n // 2), n - n // 2) for n in KYMATIO_SHAPE)].astype(
            "float32"
        ),
        axes=(1, 2, 3),
    )
    from skqm7x import orient_molecules

    atoms = orient_molecules(X).reshape(len(X), -1, 4)
    # kymatio's generator stops at the first zero weight: real atoms first.
    order = np.argsort(atoms[..., 0] == 0, axis=1, kind="stable")
    atoms = np.take_along_axis(atoms, order[..., None], 1)
    positions = atoms[..., 1:] * scale
    full = atoms[..., 0]
    valence = _valence(full).astype(float)
    scattering = HarmonicScattering3D(
        J=2, shape=KYMATIO_SHAPE, L=3, sigma_0=2.0, integral_powers=POWERS
    )
    features = []
    for start in range(0, len(X), batch_size):
        part = slice(start, start + batch_size)
        full_density = torch.from_numpy(
            generate_weighted_sum_of_gaussians(grid, positions[part], full[part], 2.0)
        ).float()
        valence_density = torch.from_numpy(
            generate_weighted_sum_of_gaussians(
                grid, positions[part], valence[part], 2.0
            )
        ).float()
        channels = []
        for density in (full_density, valence_density, full_density - valence_density):
            order_0 = TorchBackend3D.compute_integrals(density, POWERS)
            channels.append(
                torch.cat([order_0, scattering(density).reshape(len(density), -1)], 1)
            )
        features.append(torch.stack(channels, 1).reshape(len(full_density), -1))
    return torch.cat(features).numpy().astype(float)


def _transformer_features(X_fit, X, params):
    from skqm7x import SolidHarmonicScatteringTransformer

    scattering = SolidHarmonicScatteringTransformer(device="cpu", **params).fit(X_fit)
    return scattering.transform(X)


def _differences(ours, reference, powers=POWERS):
    """Largest relative difference |a - b| / |b| for powers >= 1 and for 0.5."""
    relative = np.abs(ours - reference) / np.abs(reference)
    half = np.tile([p == 0.5 for p in powers], ours.shape[1] // len(powers))
    return float(relative[:, ~half].max()), float(relative[:, half].max())


def compare(X_fit, X, threads, batch_size):
    n = len(X)
    kymatio_scale = _kymatio_scale(X_fit, 2.0)
    print(
        f"\n## {n} labelled molecules (kymatio's example scale: "
        f"{kymatio_scale:.2f} grid units per Angstrom)\n"
    )
    rows = [
        (
            "kymatio example, grid 192 x 128 x 96",
            _kymatio_reference,
            (X, kymatio_scale, batch_size),
        ),
        (
            "transformer, kymatio backend, defaults",
            _transformer_features,
            (X_fit, X, dict(backend="kymatio", batch_size=batch_size)),
        ),
        (
            "transformer, fast backend, defaults",
            _transformer_features,
            (X_fit, X, dict(batch_size=batch_size)),
        ),
        (
            "fast backend at kymatio's example scale",
            _transformer_features,
            (X_fit, X, dict(scale=kymatio_scale, batch_size=batch_size)),
        ),
    ]
    results = []
    table = Table(
        [
            ("configuration", "<"),
            ("s / molecule", ">.3f"),
            ("time ratio to kymatio example", ">.1f"),
            ("peak MiB", ">.0f"),
        ],
        markdown=True,
    )
    for name, job, args in rows:
        features, seconds, peak = run_isolated(job, threads, *args)
        if not results:
            reference_seconds = seconds
        results.append(features)
        table.row(name, seconds / n, reference_seconds / seconds, peak)
    example, kymatio_default, fast_default, fast_example = results
    print("\nlargest relative difference (powers >= 1; power 0.5):")
    for name, a, b in [
        ("fast vs kymatio example, same scale", fast_example, example),
        (
            "fast vs kymatio backend, defaults (its 64-point grid wraps)",
            fast_default,
            kymatio_default,
        ),
    ]:
        high, half = _differences(a, b)
        print(f"- {name}: {high:.1e}; {half:.1e}")


def profile(X_fit, X, top=12):
    from skqm7x import SolidHarmonicScatteringTransformer

    for backend in ("fast", "kymatio"):
        scattering = SolidHarmonicScatteringTransformer(
            backend=backend, batch_size=len(X), device="cpu"
        ).fit(X_fit)
        scattering.transform(X[:1])  # filters built outside the profile
        profiler = cProfile.Profile()
        profiler.enable()
        scattering.transform(X)
        profiler.disable()
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(top)
        print(f"\n## Profile of one batch of {len(X)} molecules, {backend} backend\n")
        print("```")
        print(
            "\n".join(line for line in stream.getvalue().splitlines() if line.strip())
        )
        print("```")


def whole(X_fit, X, n_jobs, threads, batch_size):
    params = dict(n_jobs=n_jobs, batch_size=batch_size)
    _, seconds, peak = run_isolated(_transformer_features, threads, X_fit, X, params)
    print(
        f"\n## Fast features of all {len(X)} challenge molecules, n_jobs={n_jobs}\n\n"
        f"{seconds:.1f} s ({1000 * seconds / len(X):.1f} ms per molecule), "
        f"peak memory {peak:.0f} MiB in the largest process"
    )


def ridge_cv(X, y, cache_dir, n_jobs, batch_size, data_dir, backends, worst):
    from joblib import Memory
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    print(f"\n## 5-fold CV of StandardScaler + Ridge on {len(X)} labelled molecules\n")
    test_like, test_like_line = load_test_like(X, data_dir)
    print(
        f"{test_like_line}; alpha either the best by the RMSE over all folds, "
        "or chosen by an inner 5-fold search in each outer fold (nested)\n"
    )
    table = Table(
        [
            ("features", "<"),
            ("alpha", "<"),
            ("CV RMSE (eV)", ">.4f"),
            ("CV MAE (eV)", ">.4f"),
            ("test-like RMSE", ">.4f"),
            ("test-like MAE", ">.4f"),
            ("max abs err (eV)", ">.2f"),
        ],
        markdown=True,
    )
    cached = Memory(cache_dir, verbose=0).cache(_transformer_features)
    alphas = np.logspace(-9, 1, 11)
    worst_errors = []
    for backend in backends:
        features = cached(
            X, X, dict(backend=backend, n_jobs=n_jobs, batch_size=batch_size)
        )
        best = None
        for alpha in alphas:
            model = make_pipeline(StandardScaler(), Ridge(alpha=alpha))
            errors = cross_validate(model, features, y)[0]
            if best is None or error_scores(errors).rmse < error_scores(best[0]).rmse:
                best = (errors, f"{alpha:.0e}")
        search = GridSearchCV(
            make_pipeline(StandardScaler(), Ridge()),
            {"ridge__alpha": alphas},
            cv=kfold(),
            scoring="neg_root_mean_squared_error",
        )
        nested = (cross_validate(search, features, y)[0], "nested")
        for errors, alpha in (best, nested):
            scores, like = error_scores(errors), error_scores(errors[test_like])
            table.row(
                backend,
                alpha,
                scores.rmse,
                scores.mae,
                like.rmse,
                like.mae,
                np.max(np.abs(errors)),
            )
        worst_errors.append((backend, nested[0]))
    if worst:
        for backend, errors in worst_errors:
            _print_worst(X, errors, test_like, worst, f"{backend}, nested")


def _formula(molecule):
    """A packed molecule's formula in Hill order, as ``skqm7x cv --worst`` has it."""
    Z = molecule[::4].astype(int)
    symbols = {1: "H", 6: "C", 7: "N", 8: "O", 16: "S", 17: "Cl"}  # QM7-X's
    counts = {
        symbols.get(z, f"Z{z}"): int(np.sum(Z == z)) for z in sorted(set(Z[Z > 0]))
    }
    # Hill order: carbon, hydrogen, then the other elements by symbol.
    order = [s for s in ("C", "H") if s in counts] + sorted(set(counts) - {"C", "H"})
    return "".join(f"{s}{counts[s] if counts[s] > 1 else ''}" for s in order)


def _print_worst(X, errors, test_like, n_worst, label):
    """The largest errors among test-like molecules, and their share."""
    like = np.flatnonzero(test_like)
    order = like[np.argsort(-np.abs(errors[like]), kind="stable")][:n_worst]
    share = np.sum(errors[order] ** 2) / np.sum(errors[like] ** 2)
    print(
        f"\n{label}: the {len(order)} largest test-like errors carry "
        f"{share:.1%} of the test-like squared error"
    )
    for i in order:
        n_atoms = int(np.count_nonzero(X[i, ::4]))
        print(
            f"  labelled molecule {i}: error {errors[i]:+.3f} eV, "
            f"{_formula(X[i])}, {n_atoms} atoms"
        )


def _dask_features(X_fit, X, n_workers, threads):
    import dask
    import distributed
    import torch
    from joblib import parallel_config

    from skqm7x import SolidHarmonicScatteringTransformer

    # With one worker thread in all, joblib's effective n_jobs is 1 and it runs
    # the batches in this process, not on the cluster: give this process the
    # workers' number of torch threads.
    torch.set_num_threads(threads)
    # dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which
    # also pins glibc's mmap threshold at 128 KiB: every temporary array of a
    # batch then comes fresh from the kernel (page faults) and goes back to
    # it. On 400 molecules two workers spent 124 s computing with it and 35 s
    # without it.
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    environ["OMP_NUM_THREADS"] = threads
    scattering = SolidHarmonicScatteringTransformer(n_jobs=-1, device="cpu").fit(X_fit)
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ": environ}),
        distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster),
        parallel_config(backend="dask"),
    ):
        scattering.transform(X[:n_workers])  # workers import torch, build filters
        watch = Stopwatch()
        scattering.transform(X)
        return watch.seconds


def dask_scaling(X_fit, X, threads):
    print(f"\n## joblib's Dask backend, {len(X)} molecules, local cluster\n")
    table = Table(
        [
            ("workers", ">d"),
            ("s", ">.1f"),
            ("s / molecule", ">.3f"),
            ("speed-up", ">.2f"),
        ],
        markdown=True,
    )
    first = None
    for workers in (1, 2):
        seconds = _dask_features(X_fit, X, workers, threads)
        first = first or seconds
        table.row(workers, seconds, seconds / len(X), first / seconds)


def main():
    parser = make_parser(__doc__)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--whole", action="store_true")
    parser.add_argument("--cv", action="store_true")
    parser.add_argument("--dask", action="store_true")
    parser.add_argument("--n-molecules", type=int, default=16)
    parser.add_argument("--dask-molecules", type=int, default=400)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads per process"
    )
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--cache-dir", default="skqm7x-bench-cache")
    parser.add_argument(
        "--backends", nargs="+", default=["fast", "kymatio"], help="for --cv"
    )
    parser.add_argument(
        "--worst",
        type=int,
        default=0,
        metavar="N",
        help="for --cv: the N largest nested errors among test-like molecules",
    )
    args = parser.parse_args()
    if not any((args.compare, args.profile, args.whole, args.cv, args.dask)):
        args.compare = True

    import torch

    from skqm7x import load_qm7x

    X, y = load_labelled(args.data_dir)
    print(
        describe_machine(
            f"torch {torch.__version__}",
            f"{args.threads} torch thread(s) per process",
        )
    )
    rng = np.random.default_rng(0)
    sample = X[rng.permutation(len(X))[: args.n_molecules]]
    if args.compare:
        compare(X, sample, args.threads, args.batch_size)
    if args.profile:
        torch.set_num_threads(args.threads)
        profile(X, sample[:8])
    if args.whole:
        test = load_qm7x(args.data_dir, subset="test")
        whole(X, np.vstack([X, test.data]), args.n_jobs, args.threads, args.batch_size)
    if args.cv:
        torch.set_num_threads(args.threads)
        ridge_cv(
            X,
            y,
            args.cache_dir,
            args.n_jobs,
            args.batch_size,
            args.data_dir,
            args.backends,
            args.worst,
        )
    if args.dask:
        dask_scaling(X, X[rng.permutation(len(X))[: args.dask_molecules]], args.threads)


if __name__ == "__main__":
    main()
