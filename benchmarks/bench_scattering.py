"""Time the scattering transformer against kymatio's own QM7 configuration.

Three parts, all in one run:

1. ``SolidHarmonicScatteringTransformer`` and kymatio's example configuration
   (``examples/3d/scattering3d_qm7_torch.py``: grid 192 x 128 x 96, sigma 2,
   J 2, L 3, powers 0.5 1 2 3, positions scaled so that the closest atoms'
   Gaussians overlap by at most 0.1, kymatio's own density generator) on the
   same molecules: seconds per molecule, their ratio, peak memory (each run in
   a fresh process) and the largest relative difference of the features.
2. The transformer at its default settings on the same molecules (time and
   memory only: its scale and grid differ, so its features do too).
3. The accuracy/time trade-off across grid sizes: 5-fold CV RMSE and MAE
   (KFold, shuffle, random_state=0; StandardScaler + Ridge, best alpha in
   ``np.logspace(-9, 1, 11)``) on labelled molecules, and seconds per molecule.
   The scale is learned once on those molecules, not per fold.

Run ``python benchmarks/bench_scattering.py --help`` for the options; kymatio's
configuration takes 10-30 s per molecule on two CPU cores, so ``--n-molecules``
chooses fewer than the default 16.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import multiprocessing
import os
import resource
import time
import warnings

import numpy as np

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


def _kymatio_reference(X, scale, batch_size):
    """kymatio's example pipeline, with our orientation and valence table."""
    import torch

    from skqm7x._molecules import VALENCE_ELECTRONS
    from skqm7x._scattering import _geometry, _kymatio_backend

    _kymatio_backend._harmonic_scattering_class()  # kymatio under the shim
    from kymatio.scattering3d.backend.torch_backend import TorchBackend3D
    from kymatio.scattering3d.utils import generate_weighted_sum_of_gaussians
    from kymatio.torch import HarmonicScattering3D

    grid = np.fft.ifftshift(
        np.mgrid[tuple(slice(-(n // 2), n - n // 2) for n in KYMATIO_SHAPE)].astype(
            "float32"
        ),
        axes=(1, 2, 3),
    )
    atoms = X.reshape(len(X), -1, 4)
    # kymatio's generator stops at the first zero weight: real atoms first.
    order = np.argsort(atoms[..., 0] == 0, axis=1, kind="stable")
    atoms = np.take_along_axis(atoms, order[..., None], 1)
    positions, _ = _geometry.orient_molecules(atoms[..., 0], atoms[..., 1:])
    positions = positions * scale
    full = atoms[..., 0]
    valence = VALENCE_ELECTRONS[full.astype(int)].astype(float)
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


def _measure(job, queue, threads, args):
    import torch

    if threads:
        torch.set_num_threads(threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        features = job(*args)
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((features, seconds, peak))


def _ours(X_fit, X, params):
    from skqm7x import SolidHarmonicScatteringTransformer

    scattering = SolidHarmonicScatteringTransformer(device="cpu", **params).fit(X_fit)
    return scattering.transform(X), scattering.grid_shape_, scattering.scale_


def _ours_features(X_fit, X, params):
    return _ours(X_fit, X, params)[0]


def run_isolated(job, threads, *args):
    """Run ``job(*args)`` in a fresh process: (result, seconds, peak MiB)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(job, queue, threads, args))
    process.start()
    result = queue.get()
    process.join()
    return result


def _relative_difference(ours, reference):
    scale = np.abs(reference).max(axis=0)
    return float(np.nanmax(np.abs(ours - reference) / np.where(scale > 0, scale, 1)))


def compare(X_fit, X, threads, batch_size):
    scale = _kymatio_scale(X_fit, 2.0)
    params = dict(grid_shape=KYMATIO_SHAPE, scale=scale, batch_size=batch_size)
    print(
        f"\n## kymatio's configuration on {len(X)} molecules "
        f"(grid {KYMATIO_SHAPE}, scale {scale:.3f} grid units per Angstrom)"
    )
    ours, t_ours, m_ours = run_isolated(_ours_features, threads, X_fit, X, params)
    reference, t_ref, m_ref = run_isolated(
        _kymatio_reference, threads, X, scale, batch_size
    )
    default, t_default, m_default = run_isolated(
        _ours, threads, X_fit, X, dict(batch_size=batch_size)
    )
    n = len(X)
    print("| pipeline | grid | s / molecule | peak memory (MiB) |")
    print("|---|---|---|---|")
    print(f"| kymatio example | {KYMATIO_SHAPE} | {t_ref / n:.2f} | {m_ref:.0f} |")
    print(
        f"| transformer, kymatio's settings | {KYMATIO_SHAPE} | {t_ours / n:.2f} | "
        f"{m_ours:.0f} |"
    )
    print(
        f"| transformer, defaults | {default[1]} | {t_default / n:.2f} | "
        f"{m_default:.0f} |"
    )
    print(f"time ratio kymatio / transformer (same settings): {t_ref / t_ours:.2f}")
    print(f"time ratio kymatio / transformer (defaults): {t_ref / t_default:.1f}")
    print(f"NaN features in kymatio's output: {int(np.isnan(reference).sum())}")
    print(
        "largest difference, relative to each feature's largest value: "
        f"{_relative_difference(ours, reference):.2e}"
    )
    return ours


def tradeoff(X, y, grids, threads, batch_size, save_dir=None):
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    print(f"\n## Accuracy / time trade-off on {len(X)} labelled molecules")
    print(
        "| grid | scale (1/A) | s / molecule | peak MiB | CV RMSE (eV) | "
        "CV MAE (eV) | best alpha |"
    )
    print("|---|---|---|---|---|---|---|")
    cv = KFold(5, shuffle=True, random_state=0)
    for longest in grids:
        params = dict(grid_shape=longest, batch_size=batch_size)
        (features, shape, scale), seconds, peak = run_isolated(
            _ours, threads, X, X, params
        )
        if save_dir:
            os.makedirs(save_dir, exist_ok=True)
            np.savez(
                os.path.join(save_dir, f"features_grid{longest}_n{len(X)}.npz"),
                features=features,
                target=y,
            )
        best = None
        for alpha in np.logspace(-9, 1, 11):
            model = make_pipeline(StandardScaler(), Ridge(alpha=alpha))
            predicted = cross_val_predict(model, features, y, cv=cv)
            rmse = float(np.sqrt(np.mean((predicted - y) ** 2)))
            mae = float(np.mean(np.abs(predicted - y)))
            if best is None or rmse < best[0]:
                best = (rmse, mae, alpha)
        print(
            f"| {shape} | {scale:.2f} | {seconds / len(X):.3f} | {peak:.0f} | "
            f"{best[0]:.4f} | {best[1]:.4f} | {best[2]:.0e} |",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        default=os.environ.get(
            "SKQM7X_DATA",
            os.path.join(
                os.path.dirname(__file__), "..", "..", "shared", "data", "qm7x"
            ),
        ),
    )
    parser.add_argument(
        "--n-molecules",
        type=int,
        default=16,
        help="molecules for the comparison with kymatio (default 16)",
    )
    parser.add_argument(
        "--tradeoff-molecules",
        type=int,
        default=500,
        help="labelled molecules for the trade-off table",
    )
    parser.add_argument(
        "--grids",
        type=int,
        nargs="*",
        default=[32, 48, 64],
        help="first-axis grid sizes for the trade-off table",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: torch's choice)",
    )
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--skip-kymatio", action="store_true")
    parser.add_argument(
        "--save-features", metavar="DIR", help="save the trade-off features here"
    )
    args = parser.parse_args()

    import torch

    from skqm7x import load_qm7x

    train = load_qm7x(args.data_dir, "train")
    print(
        f"torch {torch.__version__}, {os.cpu_count()} CPUs, "
        f"torch threads {args.threads or torch.get_num_threads()}"
    )
    rng = np.random.default_rng(0)
    order = rng.permutation(len(train.data))
    if not args.skip_kymatio and args.n_molecules:
        compare(
            train.data,
            train.data[order[: args.n_molecules]],
            args.threads,
            args.batch_size,
        )
    if args.grids and args.tradeoff_molecules:
        # In id order, so that the full set gives the same folds as
        # make_scattering_ridge on the challenge data.
        subset = np.sort(order[: args.tradeoff_molecules])
        tradeoff(
            train.data[subset],
            train.target[subset],
            args.grids,
            args.threads,
            args.batch_size,
            args.save_features,
        )


if __name__ == "__main__":
    main()
