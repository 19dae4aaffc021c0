"""The GPU check: the CUDA tests, then CUDA against the CPU in one run.

For a machine with a CUDA GPU, in a few minutes: runs the tests that are
parametrized on ``device="cuda"`` (``pytest -k cuda``, skipped without a
GPU), then times, on the CPU and on CUDA one after the other in the same
process, the default scattering features of ``--n-molecules`` labelled
molecules (and the largest difference between the two devices' features,
relative to their largest value) and the epochs of the Coulomb MLP of
``coulomb-mlp`` on the same molecules (seconds per epoch, from a fit of
``--epochs`` epochs). Without a GPU it says so and times the CPU alone.

Usage::

    python benchmarks/bench_gpu.py
    python benchmarks/bench_gpu.py --n-molecules 2000 --epochs 20
"""

# SPDX-License-Identifier: BSD-3-Clause

import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from _common import Stopwatch, Table, describe_machine, load_labelled, make_parser

import skqm7x
from skqm7x import SolidHarmonicScatteringTransformer


def main():
    parser = make_parser(__doc__, n_molecules=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--skip-tests", action="store_true")
    args = parser.parse_args()
    n_molecules = args.n_molecules or 1000
    X, y = load_labelled(args.data_dir, n_molecules)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    gpu = torch.cuda.get_device_name(0) if "cuda" in devices else "none"
    print(describe_machine(f"skqm7x {skqm7x.__version__}", f"GPU: {gpu}"))
    if "cuda" not in devices:
        print("no CUDA device: the CPU alone is timed")
    if not args.skip_tests:
        tests = Path(__file__).parents[1] / "tests"
        command = [sys.executable, "-m", "pytest", "-q", "-k", "cuda", str(tests)]
        result = subprocess.run(command, capture_output=True, text=True)
        summary = result.stdout.strip().splitlines()[-1:] or ["(no output)"]
        print(f"pytest -k cuda: exit status {result.returncode}, {summary[0]}")

    table = Table(
        [("what", "<44"), ("device", "<8"), ("seconds", ">9.2f"), ("per item", ">16")]
    )
    features = {}
    for device in devices:
        transformer = SolidHarmonicScatteringTransformer(device=device).fit(X)
        transformer.transform(X[:8])  # the filters and the device warmed up
        watch = Stopwatch()
        features[device] = transformer.transform(X)
        seconds = watch.seconds
        per = f"{1000 * seconds / len(X):.1f} ms/mol"
        table.row(f"scattering features, {len(X)} molecules", device, seconds, per)
    if len(features) == 2:
        difference = np.max(np.abs(features["cuda"] - features["cpu"]))
        print(
            "largest difference of the features, CUDA against the CPU, relative "
            f"to their largest value: {difference / np.abs(features['cpu']).max():.2g}"
        )
    for device in devices:
        model = skqm7x.make_model("coulomb-mlp", random_state=0).set_params(
            regressor__sigmoidmlpregressor__max_epochs=args.epochs,
            regressor__sigmoidmlpregressor__device=device,
        )
        watch = Stopwatch()
        model.fit(X, y)
        seconds = watch.seconds
        per = f"{seconds / args.epochs:.2f} s/epoch"
        table.row(
            f"coulomb-mlp, {args.epochs} epochs on {len(X)} molecules",
            device,
            seconds,
            per,
        )


if __name__ == "__main__":
    main()
