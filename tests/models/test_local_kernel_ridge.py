import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold

from skqm7x import (
    LocalKernelRidge,
    ManyBodyTensorTransformer,
    SparseLocalKernelRidge,
    make_model,
    pack_molecules,
    unpack_molecules,
)
from skqm7x.models import local_kernels
from skqm7x.representations import fchl19_environments
from tests.helpers import (
    assert_invariant,
    assert_search_chose_its_best,
    molecules_computed,
)

# What both local kernel models share is tested on each.
local_models = pytest.mark.parametrize(
    "model_class", [LocalKernelRidge, SparseLocalKernelRidge]
)


def test_atom_columns_follow_each_atom_into_its_vector(molecules):
    X, _ = molecules
    Z, _ = unpack_molecules(X[:6])
    # Hydrogen and carbon only: the other atoms, and their columns, drop out.
    elements = [1, 6]
    plain = fchl19_environments(X[:6], elements)
    columns = np.stack([Z * 10.0, -Z.astype(float)], axis=-1)
    columns[Z == 0] = np.nan  # padding slots must never be read
    appended = fchl19_environments(X[:6], elements, atom_columns=columns)
    np.testing.assert_array_equal(appended.vectors[:, :-2], plain.vectors)
    np.testing.assert_array_equal(appended.vectors[:, -2], 10.0 * plain.charges)
    np.testing.assert_array_equal(appended.vectors[:, -1], -plain.charges)
    np.testing.assert_array_equal(appended.owners, plain.owners)
    with pytest.raises(
        ValueError, match=r"atom_columns has shape \(6, 23\); expected \(6, 23, "
    ):
        fchl19_environments(X[:6], elements, atom_columns=columns[..., 0])
    columns[2, 0, 1] = np.inf  # the first atom of molecule 2, a kept one
    assert Z[2, 0] in elements
    with pytest.raises(ValueError, match="NaN or infinity for an atom of molecule 2"):
        fchl19_environments(X[:6], elements, atom_columns=columns)


def test_leave_one_out_choice_matches_refits(molecules):
    X, r = molecules
    X, r = X[:25], r[:25]
    gammas, alphas = [0.125, 0.0078125], [1e-6, 1e-2]
    model = LocalKernelRidge(gammas=gammas, alphas=alphas).fit(X, r)
    refitted = {}
    for i, gamma in enumerate(gammas):
        for j, alpha in enumerate(alphas):
            means, unit_stds = [], []
            for left_out in range(len(r)):
                rest = np.arange(len(r)) != left_out
                fold = LocalKernelRidge(gammas=gamma, alphas=alpha).fit(
                    X[rest], r[rest]
                )
                mean, std = fold.predict(X[left_out : left_out + 1], return_std=True)
                means.append(mean[0])
                unit_stds.append(std[0] / fold.std_scale_)
            refitted[gamma, alpha] = np.array(means), np.array(unit_stds)
            assert model.loo_rmse_[i, j] == pytest.approx(
                np.sqrt(np.mean(np.square(np.array(means) - r))), rel=1e-5
            )
    best = np.unravel_index(np.argmin(model.loo_rmse_), model.loo_rmse_.shape)
    assert (model.gamma_, model.alpha_) == (gammas[best[0]], alphas[best[1]])
    # The chosen model's leave-one-out predictions and stds, kept for blends.
    means, unit_stds = refitted[model.gamma_, model.alpha_]
    np.testing.assert_allclose(model.loo_predictions_, means, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(model.loo_std_, model.std_scale_ * unit_stds, rtol=1e-5)


def test_learns_and_beats_the_reference_energies(molecules):
    X, r = molecules
    model = LocalKernelRidge().fit(X[:100], r[:100])
    rmse = np.sqrt(np.mean((model.predict(X[100:]) - r[100:]) ** 2))
    baseline = np.sqrt(np.mean(r[100:] ** 2))
    # Measured: 0.18 eV against 0.72 eV for the reference energies alone.
    assert rmse < 0.5 * baseline


@local_models
def test_invariant_to_translation_rotation_and_permutation(model_class, molecules):
    X, r = molecules
    model = model_class(gammas=1 / 32, alphas=1e-6).fit(X[:60], r[:60])
    assert_invariant(model.predict, X[60:80], seeds=(1,), atol=1e-8)


def test_std_is_the_noise_at_a_training_molecule_and_grows_away(molecules):
    X, r = molecules
    model = LocalKernelRidge(gammas=1 / 32, alphas=1e-4).fit(X[:80], r[:80])
    _, seen = model.predict(X[:5], return_std=True)
    _, new = model.predict(X[80:], return_std=True)
    assert np.all(new > 0)
    assert np.median(seen) < 0.5 * np.median(new)
    # A stretched molecule is far from everything seen.
    Z, R = unpack_molecules(X[80:85])
    stretched = pack_molecules(
        [(z[z > 0].astype(int), 1.6 * p[z > 0]) for z, p in zip(Z, R, strict=True)],
        n_atoms_max=X.shape[1] // 4,
    )
    _, far = model.predict(stretched, return_std=True)
    assert np.all(far > new[:5])


@local_models
def test_fixed_width_and_penalty_work_in_grid_search(model_class, molecules):
    X, r = molecules
    search = GridSearchCV(
        model_class(),
        {"gammas": [0.125, 0.0078125], "alphas": [1e-6]},
        cv=KFold(3, shuffle=True, random_state=0),
        scoring="neg_root_mean_squared_error",
    ).fit(X[:60], r[:60])
    assert_search_chose_its_best(search)
    best = search.best_estimator_
    if model_class is LocalKernelRidge:
        # Its one candidate's solution gives the leave-one-out error anyway.
        errors = best.loo_predictions_ - r[:60]
        np.testing.assert_allclose(best.loo_rmse_, [[np.sqrt(np.mean(errors**2))]])
    else:
        assert np.isnan(best.loo_rmse_).all()


@local_models
def test_unknown_element_raises_or_is_left_out(model_class, molecules):
    X, r = molecules
    model = model_class(gammas=1 / 32, alphas=1e-6).fit(X[:40], r[:40])
    Z, R = unpack_molecules(X[:1])
    z, p = Z[0][Z[0] > 0].astype(int), R[0][Z[0] > 0]
    with_fluorine = pack_molecules(
        [(np.append(z, 9), np.vstack([p, p[0] + [0, 0, 3.0]]))],
        n_atoms_max=X.shape[1] // 4,
    )
    with pytest.raises(ValueError, match=r"Molecule 0 contains an element \(Z=9\)"):
        model.predict(with_fluorine)
    model.set_params(handle_unknown="ignore")
    np.testing.assert_allclose(
        model.predict(with_fluorine),
        model.predict(pack_molecules([(z, p)], n_atoms_max=X.shape[1] // 4)),
    )


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"representation_params": {"cutoff": 5.0}},
            "representation_params: unknown FCHL19 parameters",
        ),
        ({"gammas": [1.0, -1.0]}, "gammas must be positive"),
        ({"alphas": []}, "alphas must be positive"),
        # qmllib checks none of these: all-zero vectors, NaN, a TypeError.
        (
            {"representation_params": {"rcut": -1.0}},
            r"FCHL19 parameter 'rcut' must be positive, got -1.0",
        ),
        (
            {"representation_params": {"eta2": 0.0}},
            r"FCHL19 parameter 'eta2' must be positive",
        ),
        (
            {"representation_params": {"nRs3": 2.5}},
            r"FCHL19 parameter 'nRs3' must be a positive integer",
        ),
        (
            {"representation_params": {"two_body_decay": float("nan")}},
            r"FCHL19 parameter 'two_body_decay' must be non-negative",
        ),
        ({"elements": [1, 6, 8]}, r"training molecule \d+ has an element \(Z=7\)"),
        ({"elements": [1, 6, 7, 8, 16.5]}, "elements must be atomic numbers"),
    ],
)
@local_models
def test_bad_parameters_are_named(model_class, molecules, params, message):
    X, r = molecules
    with pytest.raises(ValueError, match=message):
        model_class(**params).fit(X[:10], r[:10])


@local_models
def test_fractional_charges_are_refused(model_class):
    X = pack_molecules([([1, 1], [[0, 0, 0], [0.74, 0, 0]])] * 3)
    X[0, 0] = 1.5  # the Coulomb matrix takes fractional charges; FCHL19 cannot
    message = "molecule 0 has a nuclear charge of 1.5; FCHL19 needs"
    with pytest.raises(ValueError, match=message):
        model_class().fit(X, [0.0, 1.0, 2.0])


@local_models
def test_representation_params_reach_fchl19(model_class, molecules):
    X, r = molecules
    default = model_class(gammas=1 / 32, alphas=1e-6).fit(X[:30], r[:30])
    short = model_class(
        gammas=1 / 32, alphas=1e-6, representation_params={"rcut": 3.0, "acut": 3.0}
    ).fit(X[:30], r[:30])
    assert not np.allclose(default.predict(X[30:40]), short.predict(X[30:40]))


def test_fchl_krr_model_predicts_with_std(molecules, qm7x_train):
    X, y = qm7x_train.data[:80], qm7x_train.target[:80]
    model = make_model("fchl-krr").fit(X[:60], y[:60])
    mean, std = model.predict(X[60:], return_std=True)
    assert mean.shape == std.shape == (20,)
    assert np.all(std > 0)
    assert model.regressor_.gamma_ in (0.125, 0.03125, 0.0078125)


@local_models
def test_sklearn_contract_on_real_molecules(model_class, molecules):
    """What the common checks cannot feed a molecule model (tests/estimators.py)."""
    X, r = molecules
    X, r = X[:50], r[:50]
    model = model_class(gammas=[0.125, 0.03125], alphas=1e-6)
    params = model.get_params()
    with pytest.raises(NotFittedError):
        model.predict(X)
    readonly = X.copy()
    readonly.flags.writeable = False
    assert model.fit(readonly, r) is model
    assert model.get_params() == params
    full = model.predict(X)
    np.testing.assert_allclose(model.predict(X[7:13]), full[7:13], rtol=1e-10)
    order = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_allclose(model.predict(X[order]), full[order], rtol=1e-10)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X), full)
    np.testing.assert_allclose(
        model.fit(X.astype(np.float32), r).predict(X), full, rtol=1e-4, atol=1e-6
    )
    with pytest.raises(ValueError, match="expecting 92 features"):
        model.predict(X[:, :-4])


@local_models
def test_listed_elements_beyond_the_training_set(model_class, molecules):
    X, r = molecules
    Z, R = unpack_molecules(X[:1])
    z, p = Z[0][Z[0] > 0].astype(int), R[0][Z[0] > 0]
    with_fluorine = pack_molecules(
        [(np.append(z, 9), np.vstack([p, p[0] + [0, 0, 3.0]]))],
        n_atoms_max=X.shape[1] // 4,
    )
    model = model_class(gammas=1 / 32, alphas=1e-6, elements=[1, 6, 7, 8, 9, 16, 17])
    prediction = model.fit(X[:40], r[:40]).predict(with_fluorine)
    assert model.elements_.tolist() == [1, 6, 7, 8, 9, 16, 17]
    assert np.isfinite(prediction).all()


@local_models
def test_verbose_shows_a_progress_bar_and_changes_nothing(
    model_class, molecules, capsys
):
    X, r = molecules
    quiet = model_class(gammas=1 / 32, alphas=1e-6).fit(X[:30], r[:30])
    assert "local kernel" not in capsys.readouterr().err
    loud = model_class(gammas=1 / 32, alphas=1e-6, verbose=True).fit(X[:30], r[:30])
    assert "local kernel" in capsys.readouterr().err
    np.testing.assert_array_equal(loud.predict(X[30:40]), quiet.predict(X[30:40]))


def test_memory_caches_the_kernels(molecules, tmp_path, monkeypatch):
    from skqm7x.models import _local_kernels

    X, r = molecules
    calls = []
    original = _local_kernels.kernels_of

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(_local_kernels, "kernels_of", counted)
    first = LocalKernelRidge(memory=tmp_path).fit(X[:40], r[:40])
    first_prediction = first.predict(X[40:50], return_std=True)
    assert len(calls) == 2  # the training kernel, then the prediction's
    second = LocalKernelRidge(memory=str(tmp_path)).fit(X[:40], r[:40])
    second_prediction = second.predict(X[40:50], return_std=True)
    assert len(calls) == 2
    np.testing.assert_array_equal(second.loo_rmse_, first.loo_rmse_)
    np.testing.assert_array_equal(second_prediction, first_prediction)
    uncached = LocalKernelRidge().fit(X[:40], r[:40]).predict(X[40:50])
    np.testing.assert_allclose(uncached, first_prediction[0], rtol=1e-12)
    assert len(calls) == 4
    # Other molecules or parameters are not read from the cache.
    LocalKernelRidge(memory=tmp_path).fit(X[1:41], r[1:41])
    LocalKernelRidge(memory=tmp_path, representation_params={"rcut": 4.0}).fit(
        X[:40], r[:40]
    )
    assert len(calls) == 6


@local_models
def test_a_fit_too_large_for_the_memory_says_so_before_it_starts(
    model_class, molecules, monkeypatch
):
    from skqm7x._utils import _memory

    X, r = molecules
    monkeypatch.setattr(_memory, "available_memory", lambda: 1000)
    remedy = (
        "SparseLocalKernelRidge"
        if model_class is LocalKernelRidge
        else "lower n_inducing"
    )
    with pytest.raises(
        MemoryError, match=rf"on 50 molecules .* MiB available; {remedy}"
    ):
        model_class(gammas=[0.1, 0.01]).fit(X[:50], r[:50])
    monkeypatch.setattr(_memory, "available_memory", lambda: None)  # unknown
    model_class(gammas=[0.1, 0.01]).fit(X[:50], r[:50])


ELECTRONS = {"charges": 3.0, "energies": 30.0}


def test_tight_binding_features_extend_each_atoms_vector(molecules):
    from skqm7x.representations import tight_binding_atoms

    X, r = molecules
    model = LocalKernelRidge(
        gammas=1 / 32, alphas=1e-6, tight_binding_features=ELECTRONS
    ).fit(X[:40], r[:40])
    quantities = tight_binding_atoms(X[:40])
    np.testing.assert_allclose(
        model.tight_binding_fit_, quantities[..., [0, 2]] * [3.0, 30.0]
    )
    # The kernel is the local kernel of the extended vectors.
    Z, _ = unpack_molecules(X[:40])
    environments = fchl19_environments(X[:40], model.elements_)
    kept = quantities[np.isin(Z, model.elements_)]
    environments.vectors = np.hstack(
        [environments.vectors, 3.0 * kept[:, [0]], 30.0 * kept[:, [2]]]
    )
    (K,) = local_kernels(environments, environments, [1 / 32])
    fitted = K @ model.dual_coef_
    np.testing.assert_allclose(model.predict(X[:40]), fitted, rtol=1e-10, atol=1e-10)
    plain = LocalKernelRidge(gammas=1 / 32, alphas=1e-6).fit(X[:40], r[:40])
    assert plain.tight_binding_fit_ is None
    assert not np.allclose(plain.predict(X[40:50]), model.predict(X[40:50]))


def test_tight_binding_features_keep_the_model_invariant(molecules):
    X, r = molecules
    model = LocalKernelRidge(
        gammas=1 / 32, alphas=1e-6, tight_binding_features=ELECTRONS
    ).fit(X[:60], r[:60])
    assert_invariant(model.predict, X[60:75], seeds=(1,), atol=1e-8)
    mean, std = model.predict(X[60:75], return_std=True)
    np.testing.assert_array_equal(mean, model.predict(X[60:75]))
    assert np.all(std > 0)


def test_tight_binding_features_with_an_unknown_element(molecules):
    X, r = molecules
    model = LocalKernelRidge(
        gammas=1 / 32,
        alphas=1e-6,
        tight_binding_features={"valences": 1.0},
        handle_unknown="ignore",
    ).fit(X[:40], r[:40])
    Z, R = unpack_molecules(X[:1])
    z, p = Z[0][Z[0] > 0].astype(int), R[0][Z[0] > 0]
    with_fluorine = pack_molecules(
        [(np.append(z, 9), np.vstack([p, p[0] + [0, 0, 3.0]]))],
        n_atoms_max=X.shape[1] // 4,
    )
    # The fluorine atom is left out of the kernel but not of the calculation.
    assert np.isfinite(model.predict(with_fluorine, return_std=True)).all()


@pytest.mark.parametrize(
    "features, message",
    [
        ({"dipoles": 1.0}, r"unknown quantities \['dipoles'\]; choose from"),
        ({"charges": 0.0}, "weight of 'charges' in tight_binding_features must be"),
        ({"energies": float("inf")}, "weight of 'energies' in"),
        ({"charges": "3"}, "weight of 'charges' in"),
    ],
)
def test_bad_tight_binding_features_are_named(molecules, features, message):
    X, r = molecules
    with pytest.raises(ValueError, match=message):
        LocalKernelRidge(tight_binding_features=features).fit(X[:10], r[:10])


def test_tight_binding_features_are_cached_with_the_kernels(
    molecules, tmp_path, monkeypatch
):
    from skqm7x.representations import _tight_binding

    X, r = molecules
    computed = molecules_computed(monkeypatch, _tight_binding, "_atom_quantities")
    model = LocalKernelRidge(
        gammas=1 / 32, alphas=1e-6, tight_binding_features=ELECTRONS, memory=tmp_path
    )
    first = model.fit(X[:30], r[:30]).predict(X[30:40])
    # The training molecules' quantities are kept by the fit, not recomputed.
    assert sum(computed) == 30 + 10
    second = clone(model).fit(X[:30], r[:30]).predict(X[30:40])
    assert sum(computed) == 30 + 10
    np.testing.assert_array_equal(first, second)
    # Other weights: the same quantities from the cache, another kernel.
    other = clone(model).set_params(tight_binding_features={"charges": 1.0})
    assert not np.allclose(other.fit(X[:30], r[:30]).predict(X[30:40]), first)
    assert sum(computed) == 30 + 10


def test_a_delta_model_runs_each_tight_binding_calculation_once(
    qm7x_train, monkeypatch
):
    from skqm7x import AtomicReferenceRegressor, TightBindingEnergyTransformer
    from skqm7x.representations import _tight_binding

    X, y = qm7x_train.data[:40], qm7x_train.target[:40]
    computed = molecules_computed(monkeypatch, _tight_binding, "_atom_quantities")
    model = AtomicReferenceRegressor(
        LocalKernelRidge(gammas=1 / 32, alphas=1e-6, tight_binding_features=ELECTRONS),
        baseline=TightBindingEnergyTransformer(),
    )
    # No memory folder: the baseline and the atomic features share one
    # calculation per molecule, in the fit and in the predict.
    prediction = model.fit(X[:30], y[:30]).predict(X[30:])
    assert sum(computed) == 30 + 10
    # The same as calculations made apart.
    monkeypatch.undo()
    baseline = TightBindingEnergyTransformer().fit(X[:30])
    residual = y[:30] - baseline.transform(X[:30]).ravel()
    apart = AtomicReferenceRegressor(clone(model.regressor)).fit(X[:30], residual)
    expected = apart.predict(X[30:]) + baseline.transform(X[30:]).ravel()
    np.testing.assert_allclose(prediction, expected, rtol=0, atol=1e-9)
    # Outside a model's fit or predict nothing is kept.
    computed = molecules_computed(monkeypatch, _tight_binding, "_atom_quantities")
    baseline.transform(X[:5])
    baseline.transform(X[:5])
    assert sum(computed) == 10


def test_sklearn_contract_with_tight_binding_features(molecules):
    X, r = molecules
    X, r = X[:40], r[:40]
    model = LocalKernelRidge(
        gammas=[0.125, 0.03125], alphas=1e-6, tight_binding_features=ELECTRONS
    )
    params = model.get_params()
    assert model.fit(X, r) is model
    assert model.get_params() == params
    full = model.predict(X)
    np.testing.assert_allclose(model.predict(X[7:13]), full[7:13], rtol=1e-10)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X), full)


def test_per_element_scales_give_every_element_the_same_spread():
    from skqm7x import per_element_scales

    rng = np.random.default_rng(0)
    Z = np.zeros((60, 5))
    Z[:, :4] = rng.choice([1, 6, 8], size=(60, 4))
    Z[:3, 4] = 16  # three sulphur atoms: too few to measure a spread
    spread = {0: 1.0, 1: 0.05, 6: 0.2, 8: 0.8, 16: 5.0}
    quantities = np.stack(
        [
            rng.normal(size=Z.shape) * np.vectorize(spread.get)(Z),
            np.full(Z.shape, 2.0),  # the same for every atom: no spread
        ],
        axis=-1,
    )
    elements = np.array([1, 6, 8, 16, 17])  # no chlorine among the atoms
    scales = per_element_scales(quantities, Z, elements)
    assert scales.shape == (5, 2)
    scaled = [
        quantities[Z == e, 0].std() * scales[i, 0] for i, e in enumerate([1, 6, 8])
    ]
    np.testing.assert_allclose(scaled, np.median(scaled))
    np.testing.assert_allclose(scales[1, 0], 1.0)  # carbon's is the median spread
    np.testing.assert_array_equal(scales[3:, 0], 1.0)  # sulphur, chlorine
    np.testing.assert_array_equal(scales[:, 1], 1.0)


def test_per_element_scaling_of_the_tight_binding_features(molecules):
    from skqm7x import per_element_scales
    from skqm7x.representations import tight_binding_atoms

    X, r = molecules
    plain = LocalKernelRidge(
        gammas=1 / 32, alphas=1e-6, tight_binding_features=ELECTRONS
    ).fit(X[:60], r[:60])
    np.testing.assert_array_equal(plain.tight_binding_scales_, 1.0)
    model = clone(plain).set_params(tight_binding_scaling="per_element")
    model.fit(X[:60], r[:60])
    Z, _ = unpack_molecules(X[:60])
    quantities = tight_binding_atoms(X[:60])[..., [0, 2]]
    scales = per_element_scales(quantities, Z, model.elements_)
    np.testing.assert_array_equal(model.tight_binding_scales_, scales)
    assert not np.allclose(scales, 1.0)
    factors = np.ones_like(quantities)
    for element, element_scales in zip(model.elements_, scales, strict=True):
        factors[Z == element] = element_scales
    np.testing.assert_allclose(
        model.tight_binding_fit_, quantities * factors * [3.0, 30.0]
    )
    # Prediction scales the new molecules with the factors learned in fit.
    full = model.predict(X[60:80])
    np.testing.assert_allclose(model.predict(X[65:68]), full[5:8], rtol=1e-10)
    assert not np.allclose(full, plain.predict(X[60:80]))
    assert_invariant(model.predict, X[60:70], seeds=(1,), atol=1e-8)


def test_tight_binding_scaling_needs_tight_binding_features(molecules):
    X, r = molecules
    with pytest.raises(ValueError, match="tight_binding_scaling='per_element' scales"):
        LocalKernelRidge(tight_binding_scaling="per_element").fit(X[:10], r[:10])
    with pytest.raises(ValueError, match="tight_binding_scaling"):
        LocalKernelRidge(tight_binding_scaling="per_atom").fit(X[:10], r[:10])


class _CountedTensor(ManyBodyTensorTransformer):
    """Many-body tensors that count the molecules they are fitted on."""

    fits = []

    def fit_transform(self, X, y=None):
        _CountedTensor.fits.append(len(X))
        return super().fit_transform(X, y)


def test_memory_keeps_the_fitted_molecule_features(molecules, tmp_path):
    Counted = _CountedTensor
    Counted.fits.clear()
    X, r = molecules
    params = dict(gammas=1 / 32, alphas=1e-6, molecule_weights=0.1)
    first = LocalKernelRidge(
        **params, molecule_features=Counted(handle_unknown="ignore"), memory=tmp_path
    ).fit(X[:30], r[:30])
    again = LocalKernelRidge(
        **params, molecule_features=Counted(handle_unknown="ignore"), memory=tmp_path
    ).fit(X[:30], r[:30])
    assert Counted.fits == [30]
    np.testing.assert_array_equal(
        again.predict(X[30:35], return_std=True)[1],
        first.predict(X[30:35], return_std=True)[1],
    )
    np.testing.assert_array_equal(
        again.molecule_features_.transform(X[30:35]),
        first.molecule_features_.transform(X[30:35]),
    )


def test_molecule_features_add_a_kernel_of_whole_molecules(molecules):
    from sklearn.metrics.pairwise import rbf_kernel

    from skqm7x import ManyBodyTensorTransformer

    X, r = molecules
    mbtr = ManyBodyTensorTransformer(handle_unknown="ignore")
    model = LocalKernelRidge(
        gammas=[0.125, 1 / 32],
        alphas=[1e-6, 1e-4],
        molecule_features=mbtr,
        molecule_weights=[0.1, 1.0, 10.0],
    ).fit(X[:60], r[:60])
    assert model.loo_rmse_.shape == (2, 3, 2)
    assert model.molecule_features_ is not mbtr
    assert not hasattr(mbtr, "scales_")  # the parameter is cloned, not fitted
    features = model.molecule_features_.transform(X[:60])
    assert model.molecule_gamma_ == pytest.approx(
        1 / (features.shape[1] * features.var())
    )
    # The kernel is the local one plus the scaled and weighted Gaussian one.
    environments = fchl19_environments(X[:60], model.elements_)
    (K,) = local_kernels(environments, None, [model.gamma_])
    assert model.molecule_scale_ == pytest.approx(np.mean(np.diag(K)))
    K += (
        model.molecule_weight_
        * model.molecule_scale_
        * rbf_kernel(features, gamma=model.molecule_gamma_)
    )
    np.testing.assert_allclose(
        model.predict(X[:60]), K @ model.dual_coef_, rtol=1e-9, atol=1e-9
    )
    # The weight chosen is the one of the lowest leave-one-out error.
    best = np.unravel_index(np.argmin(model.loo_rmse_), model.loo_rmse_.shape)
    assert model.molecule_weight_ == [0.1, 1.0, 10.0][best[1]]
    # The prior variance grows by the added kernel's diagonal.
    mean, std = model.predict(X[60:70], return_std=True)
    np.testing.assert_array_equal(mean, model.predict(X[60:70]))
    assert np.all(std > 0)
    assert_invariant(model.predict, X[60:75], seeds=(1,), atol=1e-8)


def test_molecule_features_with_one_candidate_choose_nothing(molecules):
    from skqm7x import ManyBodyTensorTransformer

    X, r = molecules
    model = LocalKernelRidge(
        gammas=1 / 32,
        alphas=1e-6,
        molecule_features=ManyBodyTensorTransformer(),
        molecule_gamma=0.01,
        molecule_weights=0.3,
    ).fit(X[:40], r[:40])
    errors = model.loo_predictions_ - r[:40]
    assert model.loo_rmse_.shape == (1, 1, 1)
    np.testing.assert_allclose(model.loo_rmse_.ravel(), np.sqrt(np.mean(errors**2)))
    assert (model.molecule_gamma_, model.molecule_weight_) == (0.01, 0.3)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X[40:50]), model.predict(X[40:50]))


class _NotFinite(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.full((len(X), 2), np.nan)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"molecule_weights": [0.1, -1.0]}, "molecule_weights must be positive"),
        ({"molecule_gamma": "auto"}, "'molecule_gamma' parameter of LocalKernelRidge"),
        (
            {"molecule_features": "mbtr"},
            "'molecule_features' parameter of LocalKernelRidge",
        ),
        (
            {"molecule_features": _NotFinite()},
            "molecule_features must give a finite 2D array, got shape",
        ),
    ],
)
def test_bad_molecule_features_are_named(molecules, params, message):
    X, r = molecules
    params.setdefault("molecule_features", _NotFinite())
    with pytest.raises(ValueError, match=message):
        LocalKernelRidge(**params).fit(X[:10], r[:10])


def test_refit_without_molecule_features_forgets_them(molecules):
    from skqm7x import ManyBodyTensorTransformer

    X, r = molecules
    model = LocalKernelRidge(
        gammas=1 / 32, alphas=1e-6, molecule_features=ManyBodyTensorTransformer()
    ).fit(X[:30], r[:30])
    model.set_params(molecule_features=None).fit(X[:30], r[:30])
    assert model.molecule_features_ is None
    assert model.loo_rmse_.ndim == 2
    plain = LocalKernelRidge(gammas=1 / 32, alphas=1e-6).fit(X[:30], r[:30])
    np.testing.assert_array_equal(model.predict(X[30:35]), plain.predict(X[30:35]))


class _Constant(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.ones((len(X), 3))


def test_molecule_gamma_scale_of_vectors_all_alike(molecules):
    X, r = molecules
    model = LocalKernelRidge(
        gammas=1 / 32, alphas=1e-6, molecule_features=_Constant()
    ).fit(X[:20], r[:20])
    assert model.molecule_gamma_ == 1.0
    assert np.isfinite(model.predict(X[20:25])).all()


def test_xtbml_atoms_are_their_columns_with_unit_spread_per_element(molecules):
    from skqm7x import GaussianProcessKernelRidge, tight_binding_atoms
    from skqm7x.representations import AtomicEnvironments, xtbml_feature_names

    X, r = molecules
    gamma = 0.3 / 39
    model = LocalKernelRidge(representation="xtbml", gammas=gamma, alphas=1e-3)
    model.fit(X[:40], r[:40])
    Z, _ = unpack_molecules(X[:40])
    columns = tight_binding_atoms(X[:40], ["xtbml"])
    scaled = np.zeros_like(columns)
    for element in model.elements_:
        of_element = columns[Z == element]
        spread = of_element.std(axis=0)
        varies = spread > 1e-12 * np.maximum(np.abs(of_element).max(axis=0), 1)
        factors = np.divide(1.0, spread, out=np.zeros_like(spread), where=varies)
        scaled[Z == element] = of_element * factors
    np.testing.assert_allclose(model.tight_binding_fit_, scaled, rtol=1e-12)
    # Hydrogen has no p shell: its p columns count nothing.
    hydrogen = model.tight_binding_fit_[Z == 1]
    assert not hydrogen[:, xtbml_feature_names().tolist().index("p_p")].any()
    # The kernel is the local Gaussian kernel of those vectors, and the model
    # is kernel ridge regression on it.
    present = Z > 0
    atoms = AtomicEnvironments(scaled[present], Z[present], np.nonzero(present)[0], 40)
    (K,) = local_kernels(atoms, None, [gamma])
    same = GaussianProcessKernelRidge(kernel="precomputed", alpha=1e-3).fit(K, r[:40])
    np.testing.assert_allclose(model.dual_coef_, same.dual_coef_, rtol=1e-8)
    np.testing.assert_allclose(
        model.loo_predictions_, same.loo_predictions_, rtol=1e-8, atol=1e-12
    )
    assert_invariant(model.predict, X[60:70], seeds=(1,), atol=1e-8)
    mean, std = model.predict(X[60:70], return_std=True)
    np.testing.assert_array_equal(mean, model.predict(X[60:70]))
    assert np.all(std > 0)


def test_xtbml_column_weights_multiply_the_scaled_columns(molecules):
    from skqm7x.representations import xtbml_feature_names

    X, r = molecules
    weights = {"dipm_A": 4.0, "q_A": 0.0, "E_tot": 0.5}
    plain = LocalKernelRidge(representation="xtbml", gammas=0.01, alphas=1e-3)
    weighted = clone(plain).set_params(representation_params=weights)
    plain.fit(X[:30], r[:30])
    weighted.fit(X[:30], r[:30])
    factors = np.ones(len(xtbml_feature_names()))
    for column, weight in weights.items():
        factors[xtbml_feature_names().tolist().index(column)] = weight
    np.testing.assert_allclose(
        weighted.tight_binding_fit_, plain.tight_binding_fit_ * factors, rtol=1e-12
    )
    np.testing.assert_array_equal(
        weighted.tight_binding_scales_, plain.tight_binding_scales_
    )
    # Different atoms to the kernel, so a different model.
    assert not np.allclose(weighted.predict(X[40:45]), plain.predict(X[40:45]))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"representation_params": {"rcut": 6.0}}, r"\['rcut'\] are not columns"),
        ({"representation_params": {"q_A": -1.0}}, "'q_A' .* must be a number >= 0"),
        ({"representation_params": {"q_A": np.nan}}, "'q_A' .* must be a number >= 0"),
        ({"tight_binding_features": {"charges": 1.0}}, "takes no tight_binding_feat"),
        ({"tight_binding_scaling": "per_element"}, "leave tight_binding_scaling=N"),
        ({"representation": "soap"}, "'representation' parameter"),
    ],
)
def test_what_xtbml_atoms_cannot_take_is_refused(molecules, params, message):
    X, r = molecules
    model = LocalKernelRidge(representation="xtbml").set_params(**params)
    with pytest.raises(ValueError, match=message):
        model.fit(X[:10], r[:10])
