"""Does the spread of a blend's members calibrate its uncertainty better?

Nested 5-fold CV (the folds of ``bench_models.py``) of a ready-made model
whose residual model is a :class:`skqm7x.BlendingRegressor`
(``xtb-blend-krr``). Each outer fold fits the model on its training
molecules and scores three standard deviations of each held-out
prediction:

``model``: the model's own, the members' Gaussian-process standard
deviations weighted as their predictions, times the factor that gives the
blend's leave-one-out errors on the training molecules unit mean square
(what ``predict(X, return_std=True)`` returns).

``spread``: the members' disagreement, the weighted standard deviation of
their predictions around the blend's, ``sqrt(sum_i w_i (p_i - p)^2)``,
times the factor that gives the same leave-one-out errors unit mean square
(computed from the members' leave-one-out predictions).

``both``: ``sqrt(model^2 + spread^2)``, scaled to unit mean square the
same way.

For each it prints the fraction of held-out errors within 1 and 1.96
standard deviations (nominal 68 and 95 %), the mean Gaussian negative log
likelihood of the errors (lower is better: it rewards standard deviations
that are small where the errors are), and the rank correlation between the
absolute errors and the standard deviations, over all molecules and over
the test-like ones. Each fold checks, on 20 held-out molecules, that the
``model`` column equals the model's own ``predict(X, return_std=True)``.

Usage::

    python benchmarks/bench_uncertainty.py
    python benchmarks/bench_uncertainty.py --n-molecules 400
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from _common import (
    Stopwatch,
    Table,
    describe_cv,
    describe_machine,
    kfold,
    load_labelled,
    load_test_like,
    make_parser,
)
from scipy.stats import spearmanr
from sklearn.pipeline import Pipeline

import skqm7x

KINDS = ("model", "spread", "both")


def reference_part(model, X):
    """The element energies and baseline of a fitted ``AtomicReferenceRegressor``."""
    Z, _ = skqm7x.unpack_molecules(X)
    counts = (Z[:, :, None] == model.elements_).sum(axis=1)
    return counts @ model.element_energies_ + model.baseline_.transform(X).ravel()


def weighted_spread(predictions, weights):
    """``sqrt(sum_i w_i (p_i - p)^2)``, ``p`` the weighted mean; one per row."""
    mean = predictions @ weights
    return np.sqrt(((predictions - mean[:, None]) ** 2) @ weights)


def unit_scale(errors, std):
    """The factor that gives ``errors / (factor * std)`` unit mean square."""
    return float(np.sqrt(np.mean((errors / std) ** 2)))


def fold_stds(model, X_train, y_train, X_test):
    """Held-out predictions and their three standard deviations, by kind."""
    blend = model.regressor_
    weights = blend.weights_
    # A member's leave-one-out predictions are its last step's, as the blend
    # reads them.
    steps = [
        member[-1] if isinstance(member, Pipeline) else member
        for member in blend.estimators_
    ]
    residual = y_train - reference_part(model, X_train)
    loo = np.column_stack([step.loo_predictions_ for step in steps])
    loo_errors = loo @ weights - residual
    # The residual rebuilt here is the one the blend was fitted on.
    assert np.isclose(np.sqrt(np.mean(loo_errors**2)), blend.blend_held_out_rmse_)
    if np.any(weights == 0):
        raise SystemExit(f"a member has weight 0 ({weights}): nothing spreads")
    loo_model = blend.std_scale_ * (
        np.column_stack([s.loo_std_ for s in steps]) @ weights
    )
    loo_spread = weighted_spread(loo, weights)
    spread_scale = unit_scale(loo_errors, loo_spread)
    both_scale = unit_scale(
        loo_errors, np.sqrt(loo_model**2 + (spread_scale * loo_spread) ** 2)
    )

    predicted = [
        member.predict(X_test, return_std=True) for member in blend.estimators_
    ]
    members = np.column_stack([mean for mean, _ in predicted])
    model_std = blend.std_scale_ * (
        np.column_stack([std for _, std in predicted]) @ weights
    )
    spread = spread_scale * weighted_spread(members, weights)
    stds = {
        "model": model_std,
        "spread": spread,
        "both": both_scale * np.sqrt(model_std**2 + spread**2),
    }
    prediction = reference_part(model, X_test) + members @ weights
    check_mean, check_std = model.predict(X_test[:20], return_std=True)
    np.testing.assert_allclose(check_mean, prediction[:20], rtol=1e-10)
    # A variance is a difference of larger numbers: its rounding depends on
    # how many queries share the triangular solve.
    np.testing.assert_allclose(check_std, model_std[:20], rtol=1e-6)
    return prediction, stds


def scores(errors, std):
    """Within 1 and 1.96 std, mean Gaussian NLL, rank correlation |error|-std."""
    ratio = np.abs(errors) / std
    nll = np.mean(0.5 * np.log(2 * np.pi * std**2) + 0.5 * ratio**2)
    return (
        float(np.mean(ratio <= 1)),
        float(np.mean(ratio <= 1.96)),
        float(nll),
        float(spearmanr(np.abs(errors), std).statistic),
    )


def main():
    parser = make_parser(__doc__, n_molecules=True)
    parser.add_argument("--model", default="xtb-blend-krr")
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args()
    X, y = load_labelled(args.data_dir, args.n_molecules)
    test_like, line = load_test_like(X, args.data_dir)
    print(describe_cv(len(y)))
    print(describe_machine(f"n_jobs={args.n_jobs}", f"skqm7x {skqm7x.__version__}"))
    print(line)

    errors = np.full(len(y), np.nan)
    stds = {kind: np.full(len(y), np.nan) for kind in KINDS}
    for fold, (train, test) in enumerate(kfold().split(X)):
        watch = Stopwatch()
        model = skqm7x.make_model(args.model, n_jobs=args.n_jobs)
        model.fit(X[train], y[train])
        if not isinstance(model.regressor_, skqm7x.BlendingRegressor):
            parser.error(f"{args.model} does not blend models")
        prediction, fold_std = fold_stds(model, X[train], y[train], X[test])
        errors[test] = prediction - y[test]
        for kind in KINDS:
            stds[kind][test] = fold_std[kind]
        print(
            f"fold {fold}: {watch.seconds:.0f} s, weights "
            + ", ".join(f"{w:.2f}" for w in model.regressor_.weights_),
            flush=True,
        )

    print(f"\nRMSE {np.sqrt(np.mean(errors**2)):.4f} eV over all molecules\n")
    table = Table(
        [
            ("std", "<8"),
            ("molecules", "<11"),
            ("in 68%", ">8.3f"),
            ("in 95%", ">8.3f"),
            ("NLL", ">9.3f"),
            ("rank corr", ">11.3f"),
        ]
    )
    for kind in KINDS:
        for name, rows in (("all", slice(None)), ("test-like", test_like)):
            table.row(kind, name, *scores(errors[rows], stds[kind][rows]))


if __name__ == "__main__":
    main()
