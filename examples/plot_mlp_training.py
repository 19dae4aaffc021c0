"""
Training the MLP: loss against epochs
=====================================

The ``"coulomb-mlp"`` model of :func:`skqm7x.make_model` fits per-element
reference energies (:class:`skqm7x.AtomicReferenceRegressor`), then trains a
sigmoid network (:class:`skqm7x.SigmoidMLPRegressor`) on random Coulomb
matrices (:class:`skqm7x.RandomCoulombExpander`) to predict what the reference
energies leave. With ``validation_fraction`` set, the network holds out part
of its training molecules and records their loss after every epoch, next to
the training loss: ``loss_curve_`` and ``validation_loss_curve_``.

This example plots both, as RMSE in eV, for the tuned optimizer (Adam) and for
Montavon et al.'s SGD with momentum, everything else equal.
"""

# SPDX-License-Identifier: BSD-3-Clause

import matplotlib.pyplot as plt
import numpy as np
from _example_data import labelled_molecules, subset_size
from matplotlib.ticker import FormatStrFormatter

from skqm7x import make_model

# %%
# Data
# ----
# ``SKQM7X_EXAMPLE_SUBSET=60`` keeps a seeded random subset of the labelled
# molecules (the documentation build does). The tuned model trains for 1500
# epochs, about ten minutes per fit on one CPU core for all molecules; on a
# subset the example trains for 200 epochs instead.

X, y = labelled_molecules()
max_epochs = 200 if subset_size() else 1500
print(f"{len(X)} molecules, {max_epochs} epochs")

# %%
# Training with a validation split
# --------------------------------
# The network sees 80 % of the molecules and is scored on the other 20 %
# after every epoch. (The reference energies are fitted on all of them first,
# so the validation molecules are held out from the network only.)

curves = {}
for solver in ("adam", "sgd"):
    model = make_model("coulomb-mlp", random_state=0)
    model.set_params(
        regressor__sigmoidmlpregressor__solver=solver,
        regressor__sigmoidmlpregressor__max_epochs=max_epochs,
        regressor__sigmoidmlpregressor__validation_fraction=0.2,
    )
    model.fit(X, y)
    mlp = model.regressor_.named_steps["sigmoidmlpregressor"]
    # The losses are mean squared errors on the standardized residual energy;
    # their square root times the residual's standard deviation is an RMSE
    # in eV.
    curves[solver] = (
        np.sqrt(mlp.loss_curve_) * mlp.target_scale_,
        np.sqrt(mlp.validation_loss_curve_) * mlp.target_scale_,
    )
    print(
        f"{solver}: last epoch, training RMSE {curves[solver][0][-1]:.3f} eV, "
        f"validation RMSE {curves[solver][1][-1]:.3f} eV"
    )
spread = mlp.target_scale_  # the reference energies alone

# %%
# Loss against epochs
# -------------------
# The dotted line is the RMSE of the reference energies alone (the standard
# deviation of what they leave). The training loss is averaged over the
# epoch's batches while the weights still change, each molecule seen through
# one random Coulomb matrix; the validation loss comes after the epoch.

epochs = np.arange(1, max_epochs + 1)
fig, ax = plt.subplots(figsize=(7.5, 4.8), layout="constrained")
colours = {"adam": "tab:blue", "sgd": "tab:orange"}
names = {"adam": "Adam (tuned)", "sgd": "SGD with momentum"}
for solver, (training, validation) in curves.items():
    ax.plot(epochs, training, color=colours[solver], label=f"{names[solver]}, training")
    ax.plot(
        epochs,
        validation,
        color=colours[solver],
        linestyle="--",
        label=f"{names[solver]}, validation",
    )
ax.axhline(spread, color="grey", linestyle=":", label="reference energies alone")
ax.set_xscale("log")
ax.set_yscale("log")
ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
ax.set_xlabel("epoch")
ax.set_ylabel("RMSE of the atomization energy (eV)")
ax.set_title(f"Coulomb MLP on {len(X)} QM7-X molecules (80 % train, 20 % validation)")
ax.grid(alpha=0.3, which="both")
ax.legend(fontsize=9)
plt.show()
