"""Ready-made pipelines, one per method, by name."""

# SPDX-License-Identifier: BSD-3-Clause

from sklearn.pipeline import make_pipeline

from skqm7x._coulomb import CoulombMatrixTransformer
from skqm7x._mlp import SigmoidMLPRegressor
from skqm7x._random_coulomb import RandomCoulombExpander
from skqm7x._reference import AtomicReferenceRegressor

# Tuned on a held-out 20 % of the labelled challenge molecules, then measured
# by 5-fold CV in benchmarks/bench_coulomb_mlp.py (figures in docs/results.md).
TUNED_COULOMB_MLP = {
    "randomcoulombexpander__theta": 10.0,
    "sigmoidmlpregressor__solver": "adam",
    "sigmoidmlpregressor__base_learning_rate": 0.01,
    "sigmoidmlpregressor__max_epochs": 1500,
}


def _coulomb_mlp(random_state, verbose, n_jobs, memory):
    pipeline = make_pipeline(
        CoulombMatrixTransformer(),
        RandomCoulombExpander(random_state=random_state),
        SigmoidMLPRegressor(random_state=random_state, verbose=int(verbose)),
        memory=memory,
    ).set_params(**TUNED_COULOMB_MLP)
    # The network learns what the per-element reference energies leave over.
    return AtomicReferenceRegressor(pipeline)


def _scattering_ridge(random_state, verbose, n_jobs, memory):
    from skqm7x._scattering import make_scattering_ridge

    return make_scattering_ridge(memory=memory, n_jobs=n_jobs, verbose=verbose)


_MODELS = {
    "coulomb-mlp": (
        _coulomb_mlp,
        "atomic reference energies + random Coulomb matrices into a sigmoid MLP "
        "(Montavon 2012), tuned",
    ),
    "scattering-ridge": (
        _scattering_ridge,
        "solid-harmonic scattering, Ridge with alpha chosen by 5-fold CV "
        "(Eickenberg 2017)",
    ),
}


def available_models():
    """Names and one-line descriptions of the ready-made models.

    Returns
    -------
    models : dict of str to str
        ``{name: description}``, the names :func:`make_model` accepts.

    Examples
    --------
    >>> from skqm7x import available_models
    >>> sorted(available_models())
    ['coulomb-mlp', 'scattering-ridge']
    """
    return {name: description for name, (_, description) in _MODELS.items()}


def make_model(name, *, random_state=0, verbose=False, n_jobs=None, memory=None):
    """Build a ready-made, unfitted model by name.

    Parameters
    ----------
    name : str
        One of :func:`available_models`.
    random_state : int, RandomState instance or None, default=0
        Seeds every random step of the model.
    verbose : bool, default=False
        Show progress while fitting.
    n_jobs : int, default=None
        Parallel jobs, where the model has parallel work.
    memory : str, joblib.Memory or None, default=None
        Cache of the pipeline's transformers (see ``Pipeline(memory=...)``).

    Returns
    -------
    model : estimator
        A regressor taking packed molecules (see :func:`pack_molecules`).

    Examples
    --------
    >>> from skqm7x import make_model
    >>> model = make_model("coulomb-mlp")
    >>> [name for name, _ in model.regressor.steps]
    ['coulombmatrixtransformer', 'randomcoulombexpander', 'sigmoidmlpregressor']
    """
    if name not in _MODELS:
        raise ValueError(f"Unknown model {name!r}; choose one of {sorted(_MODELS)}.")
    factory, _ = _MODELS[name]
    return factory(random_state, verbose, n_jobs, memory)
