"""The QM7-X challenge set, molecule files and submissions.

The challenge's 4739 molecules ship inside the package; any folder in the
challenge layout (``atoms/train/id_N.xyz``, ``atoms/test/id_N.xyz``,
``energies/train.csv``) reads the same way. This subpackage never imports
torch.
"""

# SPDX-License-Identifier: BSD-3-Clause

from skqm7x.datasets._graphs import bonding_graphs
from skqm7x.datasets._like import molecules_like
from skqm7x.datasets._molecule_files import read_molecules
from skqm7x.datasets._qm7x import load_qm7x
from skqm7x.datasets._submission import write_predictions, write_submission
from skqm7x.datasets._xyz import DataFormatError, read_xyz

__all__ = [
    "DataFormatError",
    "bonding_graphs",
    "load_qm7x",
    "molecules_like",
    "read_molecules",
    "read_xyz",
    "write_predictions",
    "write_submission",
]
