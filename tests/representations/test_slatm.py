import numpy as np
import pytest
from qmllib import representations as qmllib_representations

from skqm7x import SlatmTransformer, pack_molecules, unpack_molecules
from tests.helpers import assert_invariant


def test_matches_qmllib(qm7x_train):
    X = qm7x_train.data[:40]
    slatm = SlatmTransformer().fit(X)
    Z, R = unpack_molecules(X)
    atoms = [(z[z > 0].astype(int), r[z > 0]) for z, r in zip(Z, R, strict=True)]
    # The same many-body types as qmllib's, each read from its smaller end.
    theirs = qmllib_representations.get_slatm_mbtypes([z for z, _ in atoms])
    canonical = sorted(min(list(map(int, t)), list(map(int, t[::-1]))) for t in theirs)
    assert sorted(slatm.mbtypes_) == canonical
    expected = np.array(
        [qmllib_representations.generate_slatm(z, r, slatm.mbtypes_) for z, r in atoms]
    )
    np.testing.assert_allclose(slatm.transform(X), expected, rtol=1e-12)
    assert slatm.get_feature_names_out().shape == (expected.shape[1],)


def test_columns_do_not_depend_on_the_order_of_the_training_molecules(qm7x_train):
    X = qm7x_train.data[:40]
    forward = SlatmTransformer().fit(X)
    backward = SlatmTransformer().fit(X[::-1])
    assert forward.mbtypes_ == backward.mbtypes_
    np.testing.assert_array_equal(forward.transform(X), backward.transform(X))


def test_invariant_to_rotation_translation_and_atom_order(qm7x_train):
    X = qm7x_train.data[:15]
    slatm = SlatmTransformer().fit(X)
    assert_invariant(slatm.transform, X, seeds=(0, 1), atol=1e-9)


def test_in_parallel_with_a_progress_bar(qm7x_train, capsys):
    # 150 molecules make three chunks, computed by two processes.
    X = qm7x_train.data[:150]
    serial = SlatmTransformer().fit_transform(X)
    assert capsys.readouterr().err == ""
    parallel = SlatmTransformer(n_jobs=2, verbose=1).fit_transform(X)
    assert "SLATM" in capsys.readouterr().err
    np.testing.assert_array_equal(parallel, serial)


def test_cache_computes_each_molecule_once(qm7x_train, tmp_path, monkeypatch):
    from skqm7x.representations import _slatm

    computed = []
    compute = _slatm._slatm_rows

    def counting(Z, *args, **kwargs):
        computed.append(len(Z))
        return compute(Z, *args, **kwargs)

    monkeypatch.setattr(_slatm, "_slatm_rows", counting)
    X = qm7x_train.data[:30]
    fresh = SlatmTransformer().fit(X).transform(X)
    # fit sizes the output on one molecule; the counts start after it.
    cached = SlatmTransformer(memory=tmp_path).fit(X)
    computed.clear()
    np.testing.assert_array_equal(cached.transform(X[:20]), fresh[:20])
    assert sum(computed) == 20
    # Any other selection reads the molecules seen before.
    np.testing.assert_array_equal(cached.transform(X[::-1]), fresh[::-1])
    assert sum(computed) == 30
    again = SlatmTransformer(memory=str(tmp_path)).fit(X)
    computed.clear()
    np.testing.assert_array_equal(again.transform(X), fresh)
    assert computed == []
    # Other settings, or other learned types, are other vectors.
    other_settings = SlatmTransformer(memory=tmp_path, rcut=4.0).fit(X)
    other_types = SlatmTransformer(memory=tmp_path).fit(X[:3])
    computed.clear()
    other_settings.transform(X[:5])
    other_types.transform(X[:5])
    assert sum(computed) == 10


def test_parameters_reach_qmllib(qm7x_train):
    X = qm7x_train.data[:10]
    Z, R = unpack_molecules(X[:1])
    z, r = Z[0][Z[0] > 0].astype(int), R[0][Z[0] > 0]
    slatm = SlatmTransformer(
        distance_width=0.1,
        distance_spacing=0.05,
        angle_width=0.2,
        angle_spacing=0.04,
        rcut=6.0,
        rpower=3,
    ).fit(X)
    # qmllib takes each pair of settings as [distances, angles].
    expected = qmllib_representations.generate_slatm(
        z, r, slatm.mbtypes_, sigmas=[0.1, 0.2], dgrids=[0.05, 0.04], rcut=6.0, rpower=3
    )
    np.testing.assert_allclose(slatm.transform(X[:1])[0], expected, rtol=1e-12)
    assert (
        slatm.transform(X).shape[1] != SlatmTransformer().fit(X).transform(X).shape[1]
    )


def test_unknown_element(water):
    methane = pack_molecules(
        [(["C", "H", "H"], [[0, 0, 0], [1.09, 0, 0], [-0.36, 1.03, 0]])]
    )
    with pytest.raises(ValueError, match="Z=6"):
        SlatmTransformer().fit(water).transform(methane)
    ignored = SlatmTransformer(handle_unknown="ignore").fit(water)
    # The carbon atom is left out: the two hydrogens alone.
    hydrogens = pack_molecules(
        [(["H", "H"], [[1.09, 0, 0], [-0.36, 1.03, 0]])], n_atoms_max=3
    )
    np.testing.assert_allclose(
        ignored.transform(methane), ignored.transform(hydrogens), atol=1e-12
    )


def test_fractional_charges_are_refused(water):
    X = water.copy()
    X[0, 0] = 7.5
    with pytest.raises(ValueError, match="SLATM needs atomic numbers"):
        SlatmTransformer().fit(X)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"distance_width": 0.0}, "'distance_width' parameter"),
        ({"angle_spacing": -1.0}, "'angle_spacing' parameter"),
    ],
)
def test_bad_parameters_are_named(water, params, message):
    with pytest.raises(ValueError, match=f"{message} of SlatmTransformer"):
        SlatmTransformer(**params).fit(water)
