"""
Train once, predict later
=========================

A model is fitted once and kept in a model file (:func:`skqm7x.save_model`);
another process, later, reads it and predicts the energies of molecules that
are not in the challenge set, with error bars. Here those molecules are built
by ASE (``ase.build.molecule``) and written as an extended-xyz file of
several frames, as a chemist's own molecules might come; the second process
is ``skqm7x predict``, the command line, which reads the model file and the
molecules and writes ``id,energy,std``.

A model file loads only the types that skqm7x, scikit-learn and numpy define,
so a file from a stranger cannot run code, and it is refused if it comes
from another skqm7x or scikit-learn version (see :doc:`/model_files`).
"""

# SPDX-License-Identifier: BSD-3-Clause

import csv
import subprocess
import sys
import tempfile
from pathlib import Path

import ase.build
import ase.io
import matplotlib.pyplot as plt
import numpy as np
from _example_data import labelled_molecules

from skqm7x import make_model, read_model_info, save_model

# %%
# Fit once, and save
# ------------------
# ``"best"``, the model of the challenge submission: GFN2-xTB energies
# corrected by kernel models on atomic environments and on SLATM vectors,
# which also predicts a calibrated standard deviation. With
# ``SKQM7X_EXAMPLE_SUBSET=60`` (the documentation build) it learns from 60
# molecules, in seconds, and its error bars are wide; on all 3792 it takes
# about a minute on two cores (``skqm7x fit --n-jobs 2 --out best.skqm7x``
# does the same from the command line).

X, y = labelled_molecules()
model = make_model("best", random_state=0).fit(X, y)
folder = Path(tempfile.mkdtemp())
model_file = folder / "best.skqm7x"
info = save_model(model, model_file, training_molecules=X, name="best")
print(f"{model_file.name}: {model_file.stat().st_size / 1e6:.1f} MB")
print(info["versions"])
print(info["training_set"])

# %%
# Molecules from elsewhere
# ------------------------
# Small molecules of ASE's collection whose elements the model has seen (a
# model refuses a molecule with an element it never saw, or with more atoms
# than it was fitted on). Their geometries are ASE's, not relaxed as QM7-X's
# are, and some are smaller than any QM7-X molecule: exactly the molecules
# whose error bars should be wide.

names = ["CH3OH", "CH3CH2OH", "HCOOH", "CH3COOH", "CH3CONH2", "trans-butane"]
seen = set(read_model_info(model_file)["training_set"]["elements"])
molecules = [ase.build.molecule(name) for name in names]
names = [
    name
    for name, atoms in zip(names, molecules, strict=True)
    if set(atoms.get_chemical_symbols()) <= seen
]
molecules = [atoms for atoms in molecules if set(atoms.get_chemical_symbols()) <= seen]
ase.io.write(folder / "molecules.xyz", molecules, format="extxyz")

# %%
# Predict in another process
# --------------------------
# ``skqm7x predict MODEL_FILE INPUT... --uncertainty --out CSV``: one file of
# several frames gives each molecule its frame number as its id.

predictions = folder / "energies.csv"
result = subprocess.run(
    [sys.executable, "-m", "skqm7x", "predict", str(model_file),
     str(folder / "molecules.xyz"), "--uncertainty", "--out", str(predictions),
     "--quiet"],
    check=True, capture_output=True, text=True,
)  # fmt: skip
print(result.stdout)
with open(predictions) as file:
    rows = list(csv.DictReader(file))
energies = np.array([float(row["energy"]) for row in rows])
stds = np.array([float(row["std"]) for row in rows])
for name, energy, std in zip(names, energies, stds, strict=True):
    print(f"{name:>14}: {energy:8.3f} ± {std:.3f} eV")

# %%
# The energies, with error bars
# -----------------------------
# Atomization energies grow with the number of atoms, so the figure shows
# each molecule's energy per atom, with its predicted standard deviation
# (per atom too) as a 95 % interval.

n_atoms = np.array([len(atoms) for atoms in molecules])
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
ax.errorbar(
    np.arange(len(names)),
    energies / n_atoms,
    yerr=1.96 * stds / n_atoms,
    fmt="o",
    capsize=4,
)
ax.set_xticks(np.arange(len(names)), names, rotation=20)
ax.set_ylabel("predicted atomization energy per atom (eV)")
ax.set_title(f"Predicted by a model file of best, fitted on {len(X)} molecules")
ax.grid(alpha=0.3)
plt.show()
