"""
Predicted against true energies
===============================

Two ready-made models of :func:`skqm7x.make_model`, ``"coulomb-mlp"`` and
``"scattering-ridge"``, are fitted on 80 % of the labelled molecules and
predict the other 20 %: for every held-out molecule, the figure plots the
predicted energy (top) and the error (bottom) against the true energy, with
each model's RMSE and MAE. A perfect model puts every molecule on the
diagonal.
"""

# SPDX-License-Identifier: BSD-3-Clause

import matplotlib.pyplot as plt
import numpy as np
from _example_data import SCATTERING_CACHE, labelled_molecules
from sklearn.metrics import mean_absolute_error, root_mean_squared_error
from sklearn.model_selection import train_test_split

from skqm7x import make_model

# %%
# Data
# ----
# ``SKQM7X_EXAMPLE_SUBSET=60`` keeps a seeded random subset of the labelled
# molecules (the documentation build does), so that the models train in
# seconds; their errors then say little about them (the measured ones are on
# the performance page). On all the molecules the example takes about ten
# minutes of MLP training on one CPU core, plus the scattering features.

X, y = labelled_molecules()
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
print(f"{len(X_train)} training and {len(X_test)} held-out molecules")

# %%
# The two models
# --------------
# ``"coulomb-mlp"``: per-element reference energies, then random Coulomb
# matrices into a sigmoid MLP (Montavon et al., 2012), with the tuned
# settings. ``"scattering-ridge"``: solid-harmonic scattering features,
# standardised, into a ridge regression whose penalty 5-fold cross-validation
# on the training molecules chooses. Its transformer caches the features of
# each molecule on disk (``memory``), once per grid scale it learns (each
# training fold of the search learns its own), so the penalties of the
# search, and a second run, reuse them.

models = {
    "Coulomb matrices + MLP": make_model("coulomb-mlp", random_state=0),
    "scattering + ridge": make_model(
        "scattering-ridge", random_state=0, memory=SCATTERING_CACHE
    ),
}
predictions = {
    name: model.fit(X_train, y_train).predict(X_test) for name, model in models.items()
}

# %%
# Parity plots
# ------------
# Top: predicted against true energy. The energies span some 80 eV and the
# errors are a fraction of an eV, so the bottom row shows the error itself
# against the true energy.

low, high = y.min() - 2, y.max() + 2
fig, axes = plt.subplots(
    2,
    2,
    figsize=(11, 8.5),
    sharex=True,
    height_ratios=(2, 1),
    layout="constrained",
)
largest_error = max(np.abs(p - y_test).max() for p in predictions.values())
for column, (name, y_pred) in enumerate(predictions.items()):
    rmse = root_mean_squared_error(y_test, y_pred)
    mae = mean_absolute_error(y_test, y_pred)
    print(f"{name}: RMSE {rmse:.3f} eV, MAE {mae:.3f} eV")
    ax, ax_error = axes[:, column]
    ax.plot([low, high], [low, high], color="grey", linestyle="--", linewidth=1)
    ax.scatter(y_test, y_pred, s=14, alpha=0.7, edgecolors="none")
    ax.text(
        0.04,
        0.96,
        f"RMSE {rmse:.3f} eV\nMAE  {mae:.3f} eV\n{len(y_test)} molecules",
        transform=ax.transAxes,
        va="top",
        family="monospace",
        bbox={"facecolor": "white", "edgecolor": "0.8"},
    )
    ax.set_title(name)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_ylabel("predicted atomization energy (eV)")
    ax.grid(alpha=0.3)

    ax_error.axhline(0, color="grey", linestyle="--", linewidth=1)
    ax_error.scatter(y_test, y_pred - y_test, s=14, alpha=0.7, edgecolors="none")
    ax_error.set_ylim(-1.1 * largest_error, 1.1 * largest_error)
    ax_error.set_xlabel("true atomization energy (eV)")
    ax_error.set_ylabel("predicted minus true (eV)")
    ax_error.grid(alpha=0.3)
fig.suptitle(f"Held-out QM7-X molecules (trained on {len(X_train)})")
plt.show()
