"""Train on the labelled QM7-X molecules and write the challenge submission.

Usage::

    python examples/submit.py --out submission.csv
    python examples/submit.py --model bob-krr --cv 5 --out submission.csv \\
        --uncertainty submission_std.csv

The same as the installed command ``skqm7x submit`` (``python examples/submit.py
--help`` lists the options and the models): by default the best model, fitted
on the challenge set shipped in the package; ``--data-dir`` (or the
``SKQM7X_DATA`` environment variable) reads another folder in the challenge
layout.
"""

import subprocess
import sys

if __name__ == "__main__":
    # The installed command itself, run by this Python: ``python -m skqm7x``.
    command = [sys.executable, "-m", "skqm7x", "submit", *sys.argv[1:]]
    sys.exit(subprocess.run(command, check=False).returncode)
