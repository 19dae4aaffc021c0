import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.model_selection import KFold, cross_val_predict

from skqm7x import (
    AtomicReferenceRegressor,
    TightBindingEnergyTransformer,
    make_model,
    pack_molecules,
    tight_binding_atoms,
    unpack_molecules,
)
from tests.helpers import assert_invariant, molecules_computed


@pytest.fixture(scope="module")
def X(qm7x_train):
    return qm7x_train.data[:30]


def tblite_energy(numbers, bohr):
    from tblite.interface import Calculator

    calculator = Calculator("GFN2-xTB", numbers, bohr, uhf=int(sum(numbers) % 2))
    calculator.set("verbosity", 0)
    return calculator.singlepoint().get("energy")


def test_energy_in_ev_matches_tblite_in_atomic_units(X):
    Z, R = unpack_molecules(X[:3])
    expected = []
    for charges, positions in zip(Z, R, strict=True):
        numbers = charges[charges > 0].astype(int)
        # Written out here rather than taken from the library's own constants.
        bohr = positions[charges > 0] / 0.529177210903
        free_atoms = sum(tblite_energy([z], np.zeros((1, 3))) for z in numbers)
        hartree = tblite_energy(numbers, bohr) - free_atoms
        expected.append(hartree * 27.211386245988)
    energies = TightBindingEnergyTransformer().fit_transform(X[:3])
    assert energies.shape == (3, 1)
    np.testing.assert_allclose(energies[:, 0], expected, rtol=1e-10)


def test_atomization_energy_of_hydrogen():
    def hydrogen(distance):
        return pack_molecules([(["H", "H"], [[0, 0, 0], [distance, 0, 0]])])

    xtb = TightBindingEnergyTransformer().fit(hydrogen(0.74))
    at_bond, stretched, apart = (
        xtb.transform(hydrogen(d))[0, 0] for d in (0.74, 1.2, 10.0)
    )
    assert at_bond < stretched < apart
    # Experiment: -4.75 eV. Far apart, the atoms are free again (up to the
    # missing spin polarization of the stretched bond).
    assert -6.0 < at_bond < -3.5
    assert abs(apart) < 1.0


def test_atomization_energies_follow_the_challenge_target(qm7x_train):
    X, y = qm7x_train.data[:200], qm7x_train.target[:200]
    energies = TightBindingEnergyTransformer().fit_transform(X)[:, 0]
    # Measured: 0.983. Most of the rest is a per-element offset (the free
    # atoms lack spin polarization), which the reference energies absorb.
    assert np.corrcoef(energies, y)[0, 1] > 0.98


def test_odd_electron_count_is_a_doublet():
    hydroxyl = pack_molecules([(["O", "H"], [[0, 0, 0], [0.97, 0, 0]])])
    energy = TightBindingEnergyTransformer().fit_transform(hydroxyl)
    assert np.isfinite(energy).all()


def test_invariance_to_translation_rotation_permutation(X):
    xtb = TightBindingEnergyTransformer().fit(X)
    assert_invariant(xtb.transform, X[:5], atol=1e-6)


def test_parallel_jobs_give_the_same_energies(qm7x_train):
    X = qm7x_train.data[:150]  # more than two chunks
    serial = TightBindingEnergyTransformer().fit_transform(X)
    parallel = TightBindingEnergyTransformer(n_jobs=2).fit_transform(X)
    # Every process runs tblite on one OpenMP thread: the same sums.
    np.testing.assert_array_equal(parallel, serial)


# In a fresh process: the thread limit must hold from the first molecule,
# before tblite's OpenMP runtime is loaded.
_ONE_THREAD_SCRIPT = """
import numpy as np
from threadpoolctl import threadpool_info
from skqm7x import load_qm7x
from skqm7x.representations import _tight_binding, tight_binding_atoms

threads, compute = [], _tight_binding._single_point

def spy(*args, **kwargs):
    info = threadpool_info()
    threads.extend(pool["num_threads"] for pool in info if pool["user_api"] == "openmp")
    return compute(*args, **kwargs)

_tight_binding._single_point = spy
X = load_qm7x().data[:40]
first, second = tight_binding_atoms(X), tight_binding_atoms(X)
assert threads and set(threads) == {1}, f"OpenMP threads: {sorted(set(threads))}"
assert np.array_equal(first, second), "the first call sums otherwise"
"""


def test_tblite_runs_on_one_openmp_thread_from_the_first_molecule():
    environment = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    result = subprocess.run(
        [sys.executable, "-c", _ONE_THREAD_SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )
    assert result.returncode == 0, result.stderr


def test_feature_names_follow_the_method(X):
    xtb = TightBindingEnergyTransformer(method="GFN1-xTB").fit(X[:2])
    assert xtb.get_feature_names_out().tolist() == ["gfn1_xtb_atomization_energy"]
    gfn2 = TightBindingEnergyTransformer().fit_transform(X[:2])
    assert not np.allclose(xtb.transform(X[:2]), gfn2)


def test_progress_bar(X, capsys):
    TightBindingEnergyTransformer(verbose=True).fit_transform(X[:3])
    assert "GFN2-xTB" in capsys.readouterr().err
    TightBindingEnergyTransformer().fit_transform(X[:3])
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "charge, message",
    [
        (87.0, r"charge of 87; GFN2-xTB needs atomic numbers from 1 \(H\) to 86"),
        (6.5, "charge of 6.5; GFN2-xTB needs"),
    ],
)
def test_unsupported_charges_are_refused(water, charge, message):
    bad = water.copy()
    bad[0, 0] = charge
    with pytest.raises(ValueError, match=f"molecule 0 has a nuclear {message}"):
        TightBindingEnergyTransformer().fit(bad)


def test_failures_name_the_molecule(X):
    xtb = TightBindingEnergyTransformer(max_iterations=1).fit(X[:2])
    with pytest.raises(
        ValueError, match="failed on molecule 0: SCF not converged.*max_iterations"
    ):
        xtb.transform(X[:2])


def test_empty_molecule_is_refused(water):
    empty = np.hstack([water, np.zeros((1, 12))])
    empty[0] = 0.0
    with pytest.raises(ValueError, match="molecule 0 has no atoms"):
        TightBindingEnergyTransformer().fit(np.vstack([empty, empty]))


def test_delta_learning_nearly_halves_the_reference_error(qm7x_train, tmp_path):
    X, y = qm7x_train.data[:1000], qm7x_train.target[:1000]
    cv = KFold(5, shuffle=True, random_state=0)
    # handle_unknown: a sulphur molecule can miss a training fold.
    alone = cross_val_predict(
        AtomicReferenceRegressor(handle_unknown="ignore"), X, y, cv=cv
    )
    delta = cross_val_predict(
        AtomicReferenceRegressor(
            # Cached: each molecule's calculation runs once, not once a fold.
            baseline=TightBindingEnergyTransformer(memory=tmp_path),
            handle_unknown="ignore",
        ),
        X,
        y,
        cv=cv,
    )

    def rmse(prediction):
        return np.sqrt(np.mean((prediction - y) ** 2))

    # Measured: 0.305 eV with the baseline, against 0.586 eV without.
    assert rmse(delta) < 0.6 * rmse(alone)


def test_xtb_fchl_krr_beats_fchl_krr_on_few_molecules(qm7x_train):
    X, y = qm7x_train.data, qm7x_train.target
    train, test = slice(0, 150), slice(3000, 3100)

    def rmse(name):
        model = make_model(name).set_params(handle_unknown="ignore")
        errors = model.fit(X[train], y[train]).predict(X[test]) - y[test]
        return np.sqrt(np.mean(errors**2))

    # Measured: 0.059 eV with the baseline, 0.156 eV without.
    assert rmse("xtb-fchl-krr") < 0.6 * rmse("fchl-krr")


def test_xtb_coulomb_mlp_is_the_coulomb_mlp_on_a_baseline(qm7x_train):
    X, y = qm7x_train.data[:40], qm7x_train.target[:40]
    model = make_model("xtb-coulomb-mlp")
    assert isinstance(model.baseline, TightBindingEnergyTransformer)
    plain = make_model("coulomb-mlp")
    assert repr(model.regressor) == repr(plain.regressor)
    model.set_params(regressor__sigmoidmlpregressor__max_epochs=2)
    assert model.fit(X, y).predict(X).shape == (40,)


def test_memory_computes_each_molecule_once(X, tmp_path, monkeypatch):
    from skqm7x.representations import _tight_binding

    computed = molecules_computed(monkeypatch, _tight_binding, "_atom_quantities")
    uncached = TightBindingEnergyTransformer().fit_transform(X[:8])
    xtb = TightBindingEnergyTransformer(memory=tmp_path).fit(X)
    first = xtb.transform(X[:6])
    # Other molecules around them are reused.
    second = TightBindingEnergyTransformer(memory=str(tmp_path)).fit_transform(X[2:8])
    assert sum(computed) == 8 + 6 + 2
    np.testing.assert_array_equal(first, uncached[:6])
    np.testing.assert_array_equal(second, uncached[2:8])
    # Another method is another cache, and so is another padding width.
    TightBindingEnergyTransformer(method="GFN1-xTB", memory=tmp_path).fit_transform(
        X[:2]
    )
    padded = np.hstack([X[:2], np.zeros((2, 8))])
    TightBindingEnergyTransformer(memory=tmp_path).fit_transform(padded)
    assert sum(computed) == 8 + 6 + 2 + 2 + 2


def test_energies_and_atoms_share_one_calculation(X, tmp_path, monkeypatch):
    from skqm7x.representations import _tight_binding, tight_binding_atoms

    computed = molecules_computed(monkeypatch, _tight_binding, "_atom_quantities")
    energies = TightBindingEnergyTransformer(memory=tmp_path).fit_transform(X[:4])
    atoms = tight_binding_atoms(X[2:6], memory=tmp_path)
    assert sum(computed) == 4 + 2
    again = TightBindingEnergyTransformer(memory=tmp_path).fit_transform(X[:6])
    assert sum(computed) == 4 + 2
    np.testing.assert_array_equal(again[:4], energies)
    np.testing.assert_array_equal(atoms, tight_binding_atoms(X[2:6]))


def test_a_failure_behind_cached_molecules_names_its_own_place(
    X, tmp_path, monkeypatch
):
    from tblite.exceptions import TBLiteRuntimeError

    from skqm7x.representations import _tight_binding

    xtb = TightBindingEnergyTransformer(memory=tmp_path).fit(X)
    xtb.transform(X[:2])  # cached; molecules 2 and 3 are computed below

    def failing(*args, **kwargs):
        raise TBLiteRuntimeError("SCF not converged")

    monkeypatch.setattr(_tight_binding, "_single_point", failing)
    with pytest.raises(ValueError, match="failed on molecule 2: SCF not converged"):
        xtb.transform(X[:4])


def test_atoms_share_out_the_molecule(X):
    from skqm7x.representations import tight_binding_atoms
    from skqm7x.representations._tight_binding import _total_energy

    quantities = tight_binding_atoms(X[:4])
    assert quantities.shape == (4, X.shape[1] // 4, 3)
    np.testing.assert_array_equal(
        tight_binding_atoms(X[:4], ["energies", "charges"]), quantities[..., [2, 0]]
    )
    charges, valences, energies = np.moveaxis(quantities, -1, 0)
    Z, R = unpack_molecules(X[:4])
    np.testing.assert_array_equal(quantities[Z == 0], 0.0)
    for z, r, charge, valence, energy in zip(
        Z, R, charges, valences, energies, strict=True
    ):
        atoms = z > 0
        total = _total_energy(z[atoms].astype(int), r[atoms], "GFN2-xTB", 1.0, 250)
        # Neutral molecules: the partial charges cancel, the atoms' energies
        # add up to the molecule's.
        assert abs(charge.sum()) < 1e-10
        np.testing.assert_allclose(energy.sum(), total, rtol=1e-12)
        # Hydrogen makes one bond, carbon about four.
        np.testing.assert_allclose(valence[z == 1], 1.0, atol=0.15)
        np.testing.assert_allclose(valence[z == 6], 4.0, atol=0.5)


def test_atom_quantities_follow_their_atoms(X):
    from skqm7x.representations import tight_binding_atoms

    def per_slot(X):
        return tight_binding_atoms(X).reshape(len(X), -1)

    def per_molecule(X):
        # Sorted within each molecule: the order of the atoms drops out.
        return np.sort(tight_binding_atoms(X), axis=1).reshape(len(X), -1)

    assert_invariant(per_slot, X[:6], motions=("translation", "rotation"), atol=1e-6)
    assert_invariant(per_molecule, X[:6], atol=1e-6)


def test_atoms_memory_computes_each_molecule_once(X, tmp_path, monkeypatch):
    from skqm7x.representations import _tight_binding, tight_binding_atoms

    computed = molecules_computed(monkeypatch, _tight_binding, "_atom_quantities")
    uncached = tight_binding_atoms(X[:6])
    first = tight_binding_atoms(X[:4], memory=tmp_path)
    second = tight_binding_atoms(X[2:6], memory=str(tmp_path))
    assert sum(computed) == 6 + 4 + 2
    np.testing.assert_array_equal(first, uncached[:4])
    np.testing.assert_array_equal(second, uncached[2:6])
    # A molecule's rows are as long as the padding: another width is computed.
    padded = tight_binding_atoms(np.hstack([X[:2], np.zeros((2, 8))]), memory=tmp_path)
    assert sum(computed) == 6 + 4 + 2 + 2
    np.testing.assert_array_equal(padded[:, : X.shape[1] // 4], uncached[:2])


def test_atoms_in_parallel_with_a_progress_bar(X, capsys):
    from skqm7x.representations import tight_binding_atoms

    serial = tight_binding_atoms(X[:6])
    assert "GFN2-xTB" not in capsys.readouterr().err
    parallel = tight_binding_atoms(X[:6], n_jobs=2, verbose=1)
    assert "GFN2-xTB" in capsys.readouterr().err
    np.testing.assert_array_equal(parallel, serial)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"method": "GFN3-xTB"}, "'method' parameter of tight_binding_atoms"),
        ({"quantities": ["dipoles"]}, r"quantities must be some of \['charges',"),
        ({"quantities": []}, "quantities must be some of"),
        ({"quantities": "charges"}, "'quantities' parameter of tight_binding_atoms"),
        ({"accuracy": 0.0}, "'accuracy' parameter of tight_binding_atoms"),
        ({"max_iterations": 0}, "'max_iterations' parameter of tight_binding_atoms"),
    ],
)
def test_atoms_bad_parameters_are_named(X, params, message):
    from skqm7x.representations import tight_binding_atoms

    with pytest.raises(ValueError, match=message):
        tight_binding_atoms(X[:2], **params)


def test_atoms_bad_molecules_are_named(water, monkeypatch):
    from tblite.exceptions import TBLiteRuntimeError

    from skqm7x.representations import _tight_binding, tight_binding_atoms

    heavy = water.copy()
    heavy[0, 0] = 92
    with pytest.raises(ValueError, match="tight_binding_atoms: molecule 0 has a"):
        tight_binding_atoms(heavy)
    with pytest.raises(ValueError, match="tight_binding_atoms: molecule 0 has no"):
        tight_binding_atoms(np.zeros_like(water))

    original, calls = _tight_binding._single_point, []

    def second_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise TBLiteRuntimeError("SCF not converged")
        return original(*args, **kwargs)

    monkeypatch.setattr(_tight_binding, "_single_point", second_fails)
    with pytest.raises(
        ValueError, match="molecule 1: SCF not converged. Raise max_iterations"
    ):
        tight_binding_atoms(np.vstack([water, water]))


def test_atoms_of_a_radical():
    from skqm7x.representations import tight_binding_atoms

    methyl = pack_molecules(
        [
            (
                ["C", "H", "H", "H"],
                [[0, 0, 0], [1.08, 0, 0], [-0.54, 0.935, 0], [-0.54, -0.935, 0]],
            )
        ]
    )
    charges, valences, _ = tight_binding_atoms(methyl)[0].T
    # Three C-H bonds, whatever the spin channels tblite reports.
    np.testing.assert_allclose(valences, [3.0, 1.0, 1.0, 1.0], atol=0.05)
    assert abs(charges.sum()) < 1e-10


def test_xtbml_columns_come_from_the_same_single_point(qm7x_train):
    from tblite.interface import Calculator

    from skqm7x.representations import xtbml_feature_names

    XTBML_FEATURES = xtbml_feature_names().tolist()

    # The first molecule with sulphur, whose d shells are not empty, and one
    # without: its d-shell columns are zero.
    Z = qm7x_train.data[:, ::4]
    with_sulphur = int(np.nonzero((Z == 16).any(axis=1))[0][0])
    X = qm7x_train.data[[0, with_sulphur]]
    atoms = tight_binding_atoms(X, ["charges", "xtbml", "energies"])
    assert atoms.shape == (2, X.shape[1] // 4, 1 + len(XTBML_FEATURES) + 1)
    numbers, positions = unpack_molecules(X)
    for i in range(2):
        present = numbers[i] > 0
        calculator = Calculator(
            "GFN2-xTB",
            numbers[i][present].astype(int),
            positions[i][present] / 0.529177210903,
            charge=0.0,
            uhf=int(numbers[i][present].sum() % 2),
        )
        calculator.set("verbosity", 0)
        calculator.add("xtbml")
        expected = calculator.singlepoint().get("post-processing-dict")
        for column, name in enumerate(XTBML_FEATURES, start=1):
            want = np.ravel(expected.get(name, np.zeros(present.sum())))
            np.testing.assert_allclose(
                atoms[i, present, column], want, rtol=1e-6, atol=1e-9, err_msg=name
            )
        assert not atoms[i, ~present].any()
    d_shells = [1 + XTBML_FEATURES.index(name) for name in ("p_d", "dipm_d", "qm_d")]
    assert not atoms[0][:, d_shells].any()
    assert atoms[1][:, d_shells].any()
    # The other columns are those asked for alone.
    np.testing.assert_array_equal(
        atoms[..., [0, -1]], tight_binding_atoms(X, ["charges", "energies"])
    )


def test_xtbml_is_one_more_known_quantity():
    with pytest.raises(
        ValueError,
        match=r"some of \['charges', 'valences', "
        r"'energies', 'xtbml'\], got \['orbitals'\]",
    ):
        tight_binding_atoms(np.zeros((1, 4)), ["orbitals"])
