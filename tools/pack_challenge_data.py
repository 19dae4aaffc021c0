"""Rebuild the challenge set shipped in the package from a folder in its layout.

Reads ``atoms/train/id_N.xyz``, ``atoms/test/id_N.xyz`` and
``energies/train.csv`` with ``skqm7x.load_qm7x(folder)``, writes the compact
archive (``skqm7x/datasets/data/qm7x_challenge.npz`` by default), reads it back
and checks that every array is bit-identical to the folder's. The same files
give the same bytes.

Usage::

    python tools/pack_challenge_data.py path/to/qm7x
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import hashlib
from pathlib import Path

from skqm7x.datasets import load_qm7x
from skqm7x.datasets._shipped import SHIPPED_NAME, load_shipped, write_shipped

PACKAGE_DATA = Path(__file__).parents[1] / "skqm7x" / "datasets" / "data"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a folder in the challenge layout")
    parser.add_argument("--out", type=Path, default=PACKAGE_DATA / SHIPPED_NAME)
    args = parser.parse_args(argv)

    subsets = {subset: load_qm7x(args.folder, subset) for subset in ("train", "test")}
    size = write_shipped(args.out, subsets["train"], subsets["test"])
    for subset, folder in subsets.items():
        shipped = load_shipped(subset, path=args.out)
        for key in ("data", "target", "ids"):
            expected, got = folder[key], shipped[key]
            # Bytes, not values: -0.0 == 0.0, but the two are different bits.
            same = (expected is None and got is None) or (
                expected.dtype == got.dtype
                and expected.shape == got.shape
                and expected.tobytes() == got.tobytes()
            )
            if not same:
                raise SystemExit(f"{args.out}: {subset} {key} differs from the folder")
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(
        f"wrote {args.out}: {size} bytes, sha256 {digest}; "
        f"{len(subsets['train'].ids)} labelled and {len(subsets['test'].ids)} test "
        "molecules, bit-identical to the folder"
    )


if __name__ == "__main__":
    main()
