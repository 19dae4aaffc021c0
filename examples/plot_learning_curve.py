"""
Learning curves
===============

How fast does each model improve with more labelled molecules? For each
pipeline, scikit-learn's :func:`~sklearn.model_selection.learning_curve`
trains on growing subsets of the training folds and scores the held-out fold:
RMSE against the number of training molecules, for the per-element reference
energies alone (:class:`skqm7x.AtomicReferenceRegressor`), the Coulomb MLP and
scattering + ridge (:func:`skqm7x.make_model`).
"""

# SPDX-License-Identifier: BSD-3-Clause

import matplotlib.pyplot as plt
import numpy as np
from _example_data import (
    SCATTERING_CACHE,
    challenge_grid,
    labelled_molecules,
    subset_size,
)
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter
from sklearn.model_selection import KFold, learning_curve

from skqm7x import AtomicReferenceRegressor, make_model, make_scattering_ridge

# %%
# Data
# ----
# ``SKQM7X_EXAMPLE_SUBSET=60`` keeps a seeded random subset of the labelled
# molecules (the documentation build does): three training sizes, and 200
# epochs for the MLP instead of 1500. On all molecules the example fits the
# MLP fifteen times (five sizes, three folds), which takes hours on a CPU.

X, y = labelled_molecules()
max_epochs = 200 if subset_size() else 1500
train_sizes = np.geomspace(0.25, 1, 3) if subset_size() else np.geomspace(1 / 16, 1, 5)
cv = KFold(3, shuffle=True, random_state=0)

# %%
# The scattering features, once
# -----------------------------
# As in the other scattering examples, the grid's scale is fixed from the
# geometry of all the challenge molecules, so a molecule's features do not
# depend on the training set: the transformer's cache (on disk) computes
# them once per molecule, however many sizes, folds and penalties the curve
# fits.

scattering_model = make_scattering_ridge(memory=SCATTERING_CACHE, **challenge_grid())

mlp_model = make_model("coulomb-mlp", random_state=0)
mlp_model.set_params(regressor__sigmoidmlpregressor__max_epochs=max_epochs)

pipelines = {
    "reference energies alone": AtomicReferenceRegressor(),
    "Coulomb matrices + MLP": mlp_model,
    "scattering + ridge": scattering_model,
}

# %%
# Learning curves
# ---------------
# ``shuffle=True`` draws each training subset at random from the training
# folds, rather than taking the molecules in id order.

curves = {}
for name, model in pipelines.items():
    sizes, train_scores, test_scores = learning_curve(
        model,
        X,
        y,
        train_sizes=train_sizes,
        cv=cv,
        scoring="neg_root_mean_squared_error",
        shuffle=True,
        random_state=0,
    )
    curves[name] = (sizes, -train_scores, -test_scores)
    print(f"{name}: validation RMSE {(-test_scores).mean(axis=1).round(3)} eV")

# %%
# RMSE against the number of training molecules; the bands span one standard
# deviation over the three folds.

fig, ax = plt.subplots(figsize=(7.5, 5), layout="constrained")
for (name, (sizes, train_rmse, test_rmse)), colour in zip(
    curves.items(), ("tab:grey", "tab:blue", "tab:orange"), strict=True
):
    mean, std = test_rmse.mean(axis=1), test_rmse.std(axis=1)
    ax.plot(sizes, mean, "o-", color=colour, label=f"{name}, validation")
    ax.fill_between(sizes, mean - std, mean + std, color=colour, alpha=0.2)
    ax.plot(
        sizes,
        train_rmse.mean(axis=1),
        "s--",
        color=colour,
        alpha=0.7,
        label=f"{name}, training",
    )
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xticks(sizes, [str(n) for n in sizes])
ax.xaxis.set_minor_formatter(NullFormatter())
ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
ax.yaxis.set_minor_locator(LogLocator(subs=(2, 5)))
ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
ax.set_xlabel("number of training molecules")
ax.set_ylabel("RMSE of the atomization energy (eV)")
ax.set_title(f"Learning curves, 3-fold CV on {len(X)} QM7-X molecules")
ax.grid(alpha=0.3, which="both")
ax.legend(fontsize=8)
plt.show()
