"""Ready-made models by name, and the helpers that build them.

Every tuned constant of a ready-made model is here, next to the benchmark
command (in ``benchmarks/``) that measures it; the figures and the history
of the tuning are in docs/performance.md.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from skqm7x._utils._cache import as_memory, with_cache
from skqm7x._utils._docstrings import shared_parameters
from skqm7x.models import (
    AtomicReferenceRegressor,
    BlendingRegressor,
    ClippedRegressor,
    GaussianProcessKernelRidge,
    GaussianProcessKernelRidgeCV,
    LocalKernelRidge,
    SigmoidMLPRegressor,
    SparseLocalKernelRidge,
)
from skqm7x.representations import (
    BagOfBondsTransformer,
    CoulombMatrixTransformer,
    ManyBodyTensorTransformer,
    RandomCoulombExpander,
    SlatmTransformer,
    SolidHarmonicScatteringTransformer,
    TightBindingEnergyTransformer,
    xtbml_feature_names,
)

__all__ = ["available_models", "make_model", "make_scattering_ridge"]

# The tuned constants of the ready-made models. The line above each names the
# benchmark command that measures it; docs/performance.md records the figures
# and how each value was chosen.

# holdout_coulomb_mlp.py (held-out 20 %), then bench_coulomb_mlp.py (5-fold CV)
TUNED_COULOMB_MLP = {
    "sigmoidmlpregressor__expander__theta": 10.0,
    "sigmoidmlpregressor__solver": "adam",
    "sigmoidmlpregressor__base_learning_rate": 0.01,
    "sigmoidmlpregressor__max_epochs": 1500,
}
# Not tuned here: Montavon et al.'s own training (their published code), for
# bench_coulomb_mlp.py --only montavon. Their million steps of 25 molecules
# were about 4400 passes over QM7's 5732 training molecules.
MONTAVON_MLP = {
    "sigmoidmlpregressor__activation": "tanh",
    "sigmoidmlpregressor__standardize_inputs": True,
    "sigmoidmlpregressor__fresh_draws": True,
    "sigmoidmlpregressor__solver": "sgd",
    "sigmoidmlpregressor__momentum": 0.0,
    "sigmoidmlpregressor__base_learning_rate": 0.01,
    "sigmoidmlpregressor__warmup_steps": 12500,
    "sigmoidmlpregressor__average_weights": True,
    "sigmoidmlpregressor__max_epochs": 4400,
}
# bench_models.py --only xtb-scattering-ridge (grid units per Angstrom)
XTB_SCATTERING_SCALES = (5.0, 8.9)
# bench_models.py --only coulomb-krr bob-krr (5-fold CV inside each fit)
KERNEL_GAMMAS = tuple(np.logspace(-5, -3, 5))
KERNEL_ALPHAS = (1e-9, 1e-6)
# bench_models.py --only mbtr-krr (3-fold CV inside each fit)
MBTR_GAMMAS = tuple(np.logspace(-3, -1.5, 4))
MBTR_ALPHAS = (1e-6, 1e-4)
# bench_models.py --only scattering-krr (a wide grid, not narrowed yet)
SCATTERING_GAMMAS = tuple(np.logspace(-6, -2, 5))
SCATTERING_ALPHAS = (1e-9, 1e-6, 1e-3)
# bench_models.py --only xtb-fchl-krr (leave-one-out inside each fit)
# (widths 1, 2, 4 and 8)
DELTA_GAMMAS = (0.5, 0.125, 0.03125, 0.0078125)
DELTA_ALPHAS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2)
# bench_routes.py --fchl19 --second mbtr --second-atomic charges=3,energies=30
# --per-element, and --atomic around these weights (leave-one-out on the
# labelled molecules)
TIGHT_BINDING_FEATURES = {"charges": 3.0, "energies": 30.0}
MOLECULE_GAMMA = MBTR_GAMMAS[1]
MOLECULE_WEIGHT = 0.1
# bench_routes.py --second slatm-gauss --on-best --ensemble chose a length
# scale of 4 median distances (gamma 1.2e-4) for the blend's second model;
# these span about 2.4 to 7.7 of them
SLATM_GAMMAS = tuple(np.logspace(-4.5, -3.5, 3))
# bench_routes.py --second xtbml --on-best --ensemble chose 0.3 (of 0.1 to 3)
# over the 39 xtbml columns, for the blend's third model; these span it
XTBML_GAMMAS = tuple(np.array([0.1, 0.3, 1.0]) / len(xtbml_feature_names()))
XTBML_ALPHAS = (1e-4, 1e-3, 1e-2, 1e-1)
# The candidates of the blends' models that won somewhere: in the fit on all
# labelled molecules and in each fold of skqm7x cv xtb-blend-krr
# xtb-electrons-blend-krr (the other candidates of DELTA_GAMMAS,
# DELTA_ALPHAS, SLATM_GAMMAS, XTBML_GAMMAS and XTBML_ALPHAS only add
# factorizations; set_params sets the full grids back)
BEST_GAMMAS = DELTA_GAMMAS[1:]
BEST_ALPHAS = DELTA_ALPHAS[:3]
BEST_SLATM_GAMMAS = SLATM_GAMMAS[1:]
BEST_SLATM_ALPHAS = DELTA_ALPHAS[:2]
BEST_XTBML_GAMMAS = XTBML_GAMMAS[1:2]
BEST_XTBML_ALPHAS = XTBML_ALPHAS[1:3]
# bench_sparse.py --accuracy --inducing 3000 4000 (representative
# atomic environments of the sparse models)
SPARSE_INDUCING = 4000
# bench_models.py: the lowest 5-fold CV RMSE of its table among the models
# whose main job (bench_cache.py) stays within 4 minutes on 2 cores
BEST = "xtb-electrons-blend-krr"


@shared_parameters
def make_scattering_ridge(
    memory=None,
    n_jobs=None,
    verbose=0,
    scales=None,
    clip=False,
    random_state=0,
    **transformer_params,
):
    """Scattering features, standardised, into a ridge regression tuned by CV.

    Returns ``make_pipeline(SolidHarmonicScatteringTransformer(),
    GridSearchCV(make_pipeline(StandardScaler(), Ridge())))``: the search runs
    over ``ridge__alpha`` in ``np.logspace(-9, 1, 11)`` with ``KFold(5,
    shuffle=True, random_state=random_state)``, scored by RMSE (refit) and MAE.
    The transformer learns its scale from all the molecules it is fitted on,
    from their geometries alone (not their energies), and computes each
    molecule's features once; only the scaler and the ridge are fitted per
    fold and candidate.

    Parameters
    ----------
    memory : None, str, path or joblib.Memory, default=None
        {memory}
        Kept here: the features, one file per molecule (see the
        transformer's ``memory``).
    n_jobs : int, default=None
        {n_jobs}
        The jobs compute the transformer's batches and the search's
        candidates.
    verbose : int, default=0
        {verbose}
        The bar counts the molecules.
    scales : sequence of ("auto" or float) or None, default=None
        Several resolutions side by side: one transformer per scale (grid
        units per Angstrom), joined by a ``FeatureUnion`` whose parts are
        named ``scale_auto``, ``scale_8.9``, ... ``None`` means a single
        transformer, the first step of the pipeline.
    clip : bool, default=False
        Wrap the Ridge in :class:`ClippedRegressor`: every candidate predicts
        within the range of its training targets and is scored so, and the
        grid's key becomes ``clippedregressor__regressor__alpha``.
    random_state : int, RandomState instance or None, default=0
        {random_state}
        It shuffles the molecules into the search's folds.
    **transformer_params
        Other parameters of :class:`SolidHarmonicScatteringTransformer`
        (of each one when ``scales`` is given).

    Returns
    -------
    model : Pipeline
        Unfitted; its steps are named ``"solidharmonicscatteringtransformer"``
        (``"featureunion"`` with ``scales``) and ``"gridsearchcv"``, whose
        ``best_estimator_`` is the refitted scaler and ridge.

    Examples
    --------
    >>> from skqm7x import make_scattering_ridge
    >>> model = make_scattering_ridge(grid_shape=32)
    >>> model.named_steps["solidharmonicscatteringtransformer"].grid_shape
    32
    >>> len(model.named_steps["gridsearchcv"].param_grid["ridge__alpha"])
    11
    >>> two = make_scattering_ridge(scales=("auto", 8.9))
    >>> [name for name, _ in two[0].transformer_list]
    ['scale_auto', 'scale_8.9']
    >>> list(make_scattering_ridge(clip=True)[-1].param_grid)
    ['clippedregressor__regressor__alpha']
    """
    if scales is not None:
        if "scale" in transformer_params:
            raise ValueError(
                "make_scattering_ridge: give `scale` or `scales`, not both."
            )
        if isinstance(scales, str) or len(scales) == 0:
            raise ValueError(
                "make_scattering_ridge: `scales` must be a non-empty sequence of "
                f'"auto" or numbers, got {scales!r}.'
            )
        if len(set(scales)) != len(scales):
            raise ValueError(
                f"make_scattering_ridge: `scales` repeats a scale: {scales!r}."
            )

    def scattering(**scale):
        return SolidHarmonicScatteringTransformer(
            memory=memory,
            n_jobs=n_jobs,
            verbose=verbose,
            **scale,
            **transformer_params,
        )

    if scales is None:
        features = scattering()
    else:
        features = FeatureUnion(
            [(f"scale_{scale}", scattering(scale=scale)) for scale in scales]
        )
    regressor = ClippedRegressor(Ridge()) if clip else Ridge()
    alpha = "clippedregressor__regressor__alpha" if clip else "ridge__alpha"
    search = GridSearchCV(
        make_pipeline(StandardScaler(), regressor),
        param_grid={alpha: np.logspace(-9, 1, 11)},
        scoring={
            "rmse": "neg_root_mean_squared_error",
            "mae": "neg_mean_absolute_error",
        },
        refit="rmse",
        cv=KFold(5, shuffle=True, random_state=random_state),
        n_jobs=n_jobs,
    )
    return make_pipeline(features, search)


class _SearchWithStd(GridSearchCV):
    """``GridSearchCV`` whose ``predict`` passes ``return_std`` to the best model.

    scikit-learn's search predicts from ``X`` alone; the kernel models of
    :func:`make_model` also give their standard deviation through it.
    """

    def predict(self, X, **predict_params):
        """Predict with the best estimator, passing ``predict_params`` on.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        **predict_params : dict
            Passed to ``best_estimator_.predict``, such as ``return_std``.

        Returns
        -------
        y_pred : ndarray, or tuple of ndarray
            What ``best_estimator_.predict`` returns.
        """
        check_is_fitted(self)
        return self.best_estimator_.predict(X, **predict_params)


def _kernel_ridge_search(
    pipeline,
    *,
    gammas,
    alphas,
    kernels=("laplacian",),
    n_splits=5,
    random_state=0,
    n_jobs=None,
):
    """GridSearchCV over the kernel, gamma and alpha of a pipeline's last step.

    The last step must be a :class:`GaussianProcessKernelRidge`; the search
    uses ``KFold(n_splits, shuffle=True, random_state=random_state)``,
    refits the lowest RMSE, and predicts with ``return_std`` too.
    """
    step = pipeline.steps[-1][0]
    return _SearchWithStd(
        pipeline,
        param_grid={
            f"{step}__kernel": list(kernels),
            f"{step}__gamma": list(gammas),
            f"{step}__alpha": list(alphas),
        },
        scoring="neg_root_mean_squared_error",
        cv=KFold(n_splits, shuffle=True, random_state=random_state),
        n_jobs=n_jobs,
    )


def _reference(random_state, verbose, n_jobs, memory):
    return AtomicReferenceRegressor()


def _coulomb_mlp(random_state, verbose, n_jobs, memory):
    pipeline = make_pipeline(
        CoulombMatrixTransformer(),
        SigmoidMLPRegressor(
            expander=RandomCoulombExpander(random_state=random_state),
            random_state=random_state,
            verbose=verbose,
        ),
        memory=memory,
    ).set_params(**TUNED_COULOMB_MLP)
    # The network learns what the per-element reference energies leave over.
    return AtomicReferenceRegressor(pipeline)


def _montavon_mlp(random_state, verbose, n_jobs, memory):
    model = _coulomb_mlp(random_state, verbose, n_jobs, memory)
    # Montavon's binarization step (theta=1), not the tuned one.
    return model.set_params(
        regressor__sigmoidmlpregressor__expander__theta=1.0,
        **{f"regressor__{key}": value for key, value in MONTAVON_MLP.items()},
    )


def _xtb_coulomb_mlp(random_state, verbose, n_jobs, memory):
    model = _coulomb_mlp(random_state, verbose, n_jobs, memory)
    # Delta-learning: the network learns what GFN2-xTB gets wrong.
    return model.set_params(
        baseline=TightBindingEnergyTransformer(
            n_jobs=n_jobs, memory=memory, verbose=verbose
        )
    )


def _scattering_ridge(random_state, verbose, n_jobs, memory):
    return make_scattering_ridge(
        memory=memory, n_jobs=n_jobs, verbose=verbose, random_state=random_state
    )


def _xtb_scattering_ridge(random_state, verbose, n_jobs, memory):
    # Delta-learning, as in xtb-fchl-krr. The Ridge never predicts more than
    # the largest correction it was fitted on: a linear model extrapolates
    # far for a molecule unlike the others, such as the only one with both S
    # and Cl.
    search = make_scattering_ridge(
        memory=memory,
        n_jobs=n_jobs,
        verbose=verbose,
        scales=XTB_SCATTERING_SCALES,
        clip=True,
        random_state=random_state,
    )
    return AtomicReferenceRegressor(
        search,
        baseline=TightBindingEnergyTransformer(
            n_jobs=n_jobs, memory=memory, verbose=verbose
        ),
    )


def _laplacian_krr(representation, random_state, n_jobs, memory):
    """Reference energies + ``representation`` into a Laplacian kernel ridge."""
    pipeline = make_pipeline(
        representation,
        GaussianProcessKernelRidge(kernel="laplacian"),
        memory=memory,
    )
    search = _kernel_ridge_search(
        pipeline,
        gammas=KERNEL_GAMMAS,
        alphas=KERNEL_ALPHAS,
        random_state=random_state,
        n_jobs=n_jobs,
    )
    return AtomicReferenceRegressor(search)


def _coulomb_krr(random_state, verbose, n_jobs, memory):
    return _laplacian_krr(
        CoulombMatrixTransformer(upper_triangle=True), random_state, n_jobs, memory
    )


def _bob_krr(random_state, verbose, n_jobs, memory):
    return _laplacian_krr(
        BagOfBondsTransformer(exponent=3.0, handle_unknown="ignore"),
        random_state,
        n_jobs,
        memory,
    )


def _mbtr_krr(random_state, verbose, n_jobs, memory):
    # Each candidate of the search refits the pipeline on the same folds: the
    # cache computes the features of each training fold once (not those of
    # the validation folds). Three folds keep a fit to a few minutes on one
    # core (the RBF kernel of 3000 features costs more than the L1 kernel of
    # the bag of bonds).
    def build(memory):
        pipeline = make_pipeline(
            ManyBodyTensorTransformer(
                distance_power=4.0, angle_power=4.0, handle_unknown="ignore"
            ),
            GaussianProcessKernelRidge(kernel="rbf"),
            memory=memory,
        )
        search = _kernel_ridge_search(
            pipeline,
            kernels=("rbf",),
            gammas=MBTR_GAMMAS,
            alphas=MBTR_ALPHAS,
            n_splits=3,
            random_state=random_state,
            n_jobs=n_jobs,
        )
        return AtomicReferenceRegressor(search)

    return with_cache(build, memory, prefix="skqm7x-mbtr-")


def _fchl_krr(random_state, verbose, n_jobs, memory):
    # LocalKernelRidge chooses its width and penalty by closed-form
    # leave-one-out from one kernel pass: a GridSearchCV would recompute the
    # atom-pair kernel, the costly part, for every candidate and fold. The
    # outer regressor's handle_unknown decides about unseen elements.
    return AtomicReferenceRegressor(
        LocalKernelRidge(
            handle_unknown="ignore", n_jobs=n_jobs, memory=memory, verbose=verbose
        )
    )


def _xtb_fchl_krr(random_state, verbose, n_jobs, memory):
    # Delta-learning: the kernel learns the error of a tight-binding
    # calculation, a few milliseconds a molecule, rather than the energy.
    return AtomicReferenceRegressor(
        LocalKernelRidge(
            gammas=DELTA_GAMMAS,
            alphas=DELTA_ALPHAS,
            handle_unknown="ignore",
            n_jobs=n_jobs,
            memory=memory,
            verbose=verbose,
        ),
        baseline=TightBindingEnergyTransformer(
            n_jobs=n_jobs, memory=memory, verbose=verbose
        ),
    )


def _xtb_atoms_fchl_krr(random_state, verbose, n_jobs, memory):
    # The kernel also compares the atoms' electrons (their GFN2-xTB charges
    # and energies, from the calculation that gives the baseline) and the
    # molecules as wholes (mbtr-krr's many-body tensors).
    model = _xtb_fchl_krr(random_state, verbose, n_jobs, memory)
    model.regressor.set_params(
        tight_binding_features=dict(TIGHT_BINDING_FEATURES),
        tight_binding_scaling="per_element",
        molecule_features=ManyBodyTensorTransformer(
            distance_power=4.0, angle_power=4.0, handle_unknown="ignore"
        ),
        molecule_gamma=MOLECULE_GAMMA,
        molecule_weights=MOLECULE_WEIGHT,
    )
    return model


def _xtb_blend_krr(random_state, verbose, n_jobs, memory):
    # Two models of the same corrections whose errors differ: best's, on
    # atomic environments, and a kernel on whole molecules' SLATM vectors.
    # Their leave-one-out predictions, known in closed form, weigh them at no
    # extra fit. A Gaussian kernel, not SLATM's usual Laplacian: its
    # distances are one matrix product, where L1 distances between
    # 16000-column vectors take minutes.
    model = _xtb_atoms_fchl_krr(random_state, verbose, n_jobs, memory)
    model.regressor.set_params(gammas=BEST_GAMMAS, alphas=BEST_ALPHAS)
    # Both steps cache what they compute: the vectors per molecule (the
    # queries' too) and the search's solution.
    molecules = make_pipeline(
        SlatmTransformer(
            handle_unknown="ignore", n_jobs=n_jobs, memory=memory, verbose=verbose
        ),
        GaussianProcessKernelRidgeCV(
            kernel="rbf",
            gammas=BEST_SLATM_GAMMAS,
            alphas=BEST_SLATM_ALPHAS,
            memory=memory,
        ),
    )
    return model.set_params(
        regressor=BlendingRegressor(
            [("atoms", model.regressor), ("molecules", molecules)]
        )
    )


def _xtb_electrons_blend_krr(random_state, verbose, n_jobs, memory):
    # A third model of the same corrections, on what the electrons of each
    # atom are like (its xtbml columns, from the baseline's GFN2-xTB
    # calculation) rather than where its neighbours sit: its errors differ
    # from the other two's, so the blend gains where it alone is weaker.
    # Like the atoms model it also compares the molecules as wholes, by the
    # same many-body tensors (bench_routes.py ... --second xtbml-mbtr).
    model = _xtb_blend_krr(random_state, verbose, n_jobs, memory)
    electrons = LocalKernelRidge(
        representation="xtbml",
        gammas=BEST_XTBML_GAMMAS,
        alphas=BEST_XTBML_ALPHAS,
        molecule_features=ManyBodyTensorTransformer(
            distance_power=4.0, angle_power=4.0, handle_unknown="ignore"
        ),
        molecule_gamma=MOLECULE_GAMMA,
        molecule_weights=MOLECULE_WEIGHT,
        handle_unknown="ignore",
        n_jobs=n_jobs,
        memory=memory,
        verbose=verbose,
    )
    return model.set_params(
        regressor__estimators=[*model.regressor.estimators, ("electrons", electrons)]
    )


def _sparse_fchl_krr(random_state, verbose, n_jobs, memory):
    # The kernel to a few thousand representative atoms instead of to every
    # training atom: memory and time grow linearly with the molecules.
    return AtomicReferenceRegressor(
        SparseLocalKernelRidge(
            n_inducing=SPARSE_INDUCING,
            handle_unknown="ignore",
            n_jobs=n_jobs,
            memory=memory,
            verbose=verbose,
        )
    )


def _xtb_sparse_fchl_krr(random_state, verbose, n_jobs, memory):
    sparse = _sparse_fchl_krr(random_state, verbose, n_jobs, memory).regressor
    return _xtb_fchl_krr(random_state, verbose, n_jobs, memory).set_params(
        regressor=sparse.set_params(gammas=DELTA_GAMMAS, alphas=DELTA_ALPHAS)
    )


def _scattering_krr(random_state, verbose, n_jobs, memory):
    # The features are computed once, outside the search: only the scaler and
    # the kernel ridge are fitted per fold and candidate.
    search = _kernel_ridge_search(
        make_pipeline(StandardScaler(), GaussianProcessKernelRidge()),
        kernels=("rbf", "laplacian"),
        gammas=SCATTERING_GAMMAS,
        alphas=SCATTERING_ALPHAS,
        random_state=random_state,
        n_jobs=n_jobs,
    )
    features = SolidHarmonicScatteringTransformer(
        memory=memory, n_jobs=n_jobs, verbose=verbose
    )
    return AtomicReferenceRegressor(
        Pipeline(
            [("solidharmonicscatteringtransformer", features), ("gridsearchcv", search)]
        )
    )


# name: (factory, description, whether predict takes return_std=True)
_MODELS = {
    "reference": (
        _reference,
        "per-element reference energies alone, by least squares: the baseline "
        "every model should beat",
        False,
    ),
    "coulomb-mlp": (
        _coulomb_mlp,
        "atomic reference energies + random Coulomb matrices into a sigmoid MLP "
        "(Montavon 2012), tuned",
        False,
    ),
    "montavon-mlp": (
        _montavon_mlp,
        "coulomb-mlp trained as in Montavon et al.'s own code: a fresh random "
        "Coulomb matrix of every molecule on every pass, 1.5 tanh(x/1.5) units, "
        "standardized inputs, plain SGD with a rising learning rate, averaged "
        "weights",
        False,
    ),
    "xtb-coulomb-mlp": (
        _xtb_coulomb_mlp,
        "coulomb-mlp learning the error of GFN2-xTB energies (Delta-learning)",
        False,
    ),
    "scattering-ridge": (
        _scattering_ridge,
        "solid-harmonic scattering, Ridge with alpha chosen by 5-fold CV "
        "(Eickenberg 2017)",
        False,
    ),
    "xtb-scattering-ridge": (
        _xtb_scattering_ridge,
        "GFN2-xTB energy (Delta-learning) + atomic reference energies + "
        "scattering at two resolutions, Ridge clipped to the training "
        "corrections, alpha chosen by 5-fold CV",
        False,
    ),
    "coulomb-krr": (
        _coulomb_krr,
        "atomic reference energies + sorted Coulomb matrix, Laplacian kernel "
        "ridge (gamma, alpha by 5-fold CV), with a std",
        True,
    ),
    "bob-krr": (
        _bob_krr,
        "atomic reference energies + bag of bonds (1/r^3), Laplacian kernel "
        "ridge (gamma, alpha by 5-fold CV), with a std",
        True,
    ),
    "mbtr-krr": (
        _mbtr_krr,
        "atomic reference energies + many-body tensor (distances, angles), RBF "
        "kernel ridge (gamma, alpha by 3-fold CV), with a std",
        True,
    ),
    "fchl-krr": (
        _fchl_krr,
        "atomic reference energies + FCHL19 atomic environments, local Gaussian "
        "kernel ridge (gamma, alpha by leave-one-out), with a std",
        True,
    ),
    "xtb-fchl-krr": (
        _xtb_fchl_krr,
        "GFN2-xTB energy (Delta-learning) + atomic reference energies + FCHL19 "
        "atomic environments, local Gaussian kernel ridge (gamma, alpha by "
        "leave-one-out), with a std",
        True,
    ),
    "xtb-atoms-fchl-krr": (
        _xtb_atoms_fchl_krr,
        "xtb-fchl-krr with each atom's GFN2-xTB partial charge and energy "
        "(scaled to one spread per element) appended to its FCHL19 vector, "
        "plus a Gaussian kernel on many-body tensors; with a std",
        True,
    ),
    "xtb-blend-krr": (
        _xtb_blend_krr,
        "xtb-atoms-fchl-krr blended with a Gaussian kernel ridge on SLATM "
        "vectors of whole molecules, both learning the same corrections, "
        "weighed by their leave-one-out predictions; with a std",
        True,
    ),
    "xtb-electrons-blend-krr": (
        _xtb_electrons_blend_krr,
        "xtb-blend-krr with a third model: a local Gaussian kernel ridge on "
        "each atom's xtbml features (tblite's electronic-structure "
        "post-processing of the same GFN2-xTB calculation), plus the "
        "molecules' many-body tensors; with a std",
        True,
    ),
    "sparse-fchl-krr": (
        _sparse_fchl_krr,
        "fchl-krr through a few thousand representative atomic environments "
        "(farthest-point sampling per element): time and memory linear in the "
        "number of molecules, for data sets too large for the exact kernel; "
        "with a std",
        True,
    ),
    "xtb-sparse-fchl-krr": (
        _xtb_sparse_fchl_krr,
        "xtb-fchl-krr through representative atomic environments, as "
        "sparse-fchl-krr; with a std",
        True,
    ),
    "scattering-krr": (
        _scattering_krr,
        "atomic reference energies + standardized scattering, RBF or Laplacian "
        "kernel ridge (kernel, gamma, alpha by 5-fold CV), with a std",
        True,
    ),
}
# The models that have no use for an option refuse it rather than ignore it.
_NOTHING_TO_CACHE = {"reference"}
_NO_JOBS = {
    "reference": "a least-squares fit of the element energies",
    "coulomb-mlp": "its network trains in torch threads, which "
    "torch.set_num_threads sets",
    "montavon-mlp": "its network trains in torch threads, which "
    "torch.set_num_threads sets",
}
_MODELS["best"] = (
    _MODELS[BEST][0],
    f"alias of the best measured pipeline, now {BEST}",
    _MODELS[BEST][2],
)


def available_models(with_std=False):
    """Names and one-line descriptions of the ready-made models.

    Parameters
    ----------
    with_std : bool, default=False
        Only the models whose ``predict`` takes ``return_std=True``.

    Returns
    -------
    models : dict of str to str
        ``{name: description}``, the names :func:`make_model` accepts.
        ``"best"`` is an alias of the pipeline with the lowest 5-fold CV RMSE
        measured so far among those whose main job (fit on the 3792
        labelled molecules, predict the 947 test molecules) takes at most 4
        minutes on 2 cores.

    Examples
    --------
    >>> from skqm7x import available_models
    >>> sorted(available_models())  # doctest: +NORMALIZE_WHITESPACE
    ['best', 'bob-krr', 'coulomb-krr', 'coulomb-mlp', 'fchl-krr', 'mbtr-krr',
     'montavon-mlp', 'reference', 'scattering-krr', 'scattering-ridge',
     'sparse-fchl-krr', 'xtb-atoms-fchl-krr', 'xtb-blend-krr', 'xtb-coulomb-mlp',
     'xtb-electrons-blend-krr', 'xtb-fchl-krr', 'xtb-scattering-ridge',
     'xtb-sparse-fchl-krr']
    >>> sorted(available_models(with_std=True))  # doctest: +NORMALIZE_WHITESPACE
    ['best', 'bob-krr', 'coulomb-krr', 'fchl-krr', 'mbtr-krr',
     'scattering-krr', 'sparse-fchl-krr', 'xtb-atoms-fchl-krr', 'xtb-blend-krr',
     'xtb-electrons-blend-krr', 'xtb-fchl-krr', 'xtb-sparse-fchl-krr']
    >>> available_models()["best"]
    'alias of the best measured pipeline, now xtb-electrons-blend-krr'
    """
    return {
        name: description
        for name, (_, description, std) in _MODELS.items()
        if std or not with_std
    }


@shared_parameters
def make_model(name, *, random_state=0, verbose=0, n_jobs=None, memory=None):
    """Build a ready-made, unfitted model by name.

    Parameters
    ----------
    name : str
        One of :func:`available_models`.
    random_state : int, RandomState instance or None, default=0
        {random_state}
        It seeds every random step of the model.
    verbose : int, default=0
        {verbose}
        The bars count what each step computes, while fitting and predicting
        (the MLPs: the epochs; 2 or more prints one line per epoch instead).
    n_jobs : int, default=None
        {n_jobs}
        Given to every parallel step of the model: its hyper-parameter
        searches, the GFN2-xTB energies, the scattering features, the SLATM
        vectors and the FCHL19 kernels. ``"reference"`` and
        ``"coulomb-mlp"`` have no such step and refuse any other value than
        ``None`` or 1.
    memory : None, str, path or joblib.Memory, default=None
        {memory}
        Kept here: the GFN2-xTB energies and atom quantities, the scattering
        features and the SLATM vectors per molecule, the FCHL19 kernels per
        set of molecules, the solutions of the SLATM model's search, and the
        fitted transformers of the other pipelines (as
        ``Pipeline(memory=...)``). With ``None``, ``"mbtr-krr"``, whose
        search transforms the same folds for every candidate, caches them in
        a temporary folder removed with the model. ``"reference"`` has
        nothing to cache and refuses a ``memory``.

    Returns
    -------
    model : estimator
        A regressor taking packed molecules (see :func:`pack_molecules`).
        The models of ``available_models(with_std=True)`` also take
        ``predict(X, return_std=True)``.

    Examples
    --------
    >>> from skqm7x import make_model
    >>> model = make_model("coulomb-mlp")
    >>> [name for name, _ in model.regressor.steps]
    ['coulombmatrixtransformer', 'sigmoidmlpregressor']
    >>> best = make_model("best")
    >>> best.baseline
    TightBindingEnergyTransformer()
    """
    if name not in _MODELS:
        raise ValueError(f"Unknown model {name!r}; choose one of {sorted(_MODELS)}.")
    factory, _, _ = _MODELS[name]
    if memory is not None and name in _NOTHING_TO_CACHE:
        raise ValueError(
            f"make_model({name!r}) has nothing to cache (a least-squares fit of "
            "the element energies); memory must be None."
        )
    if n_jobs not in (None, 1) and name in _NO_JOBS:
        raise ValueError(
            f"make_model({name!r}) has no work for joblib ({_NO_JOBS[name]}); "
            "n_jobs must be None."
        )
    if memory is not None:
        # Checked once for every part (a pipeline's own memory reads joblib's
        # pickles without asking), and made for its owner alone if missing.
        memory = as_memory(memory)
        if memory.location is None:  # it could not be made: warned
            memory = None
    return factory(random_state, verbose, n_jobs, memory)
