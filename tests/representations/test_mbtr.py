import numpy as np
import pytest
from sklearn.metrics.pairwise import euclidean_distances

from skqm7x import ManyBodyTensorTransformer, pack_molecules, unpack_molecules
from tests.helpers import assert_invariant


def mbtr_python(Z, R, distance_grid, angle_grid, p=2.0, q=2.0, sd=0.1, sa=0.15):
    """Both terms of one molecule as dicts {element tuple: curve}, from the formulas."""
    pairs, triples = {}, {}
    n = len(Z)
    for i in range(n):
        for j in range(i + 1, n):
            r = np.linalg.norm(R[i] - R[j])
            key = tuple(sorted((Z[i], Z[j])))
            curve = np.exp(-0.5 * ((distance_grid - r) / sd) ** 2) / r**p
            pairs[key] = pairs.get(key, 0) + curve
    for b in range(n):
        for a in range(n):
            for c in range(a + 1, n):
                if b in (a, c):
                    continue
                u, v = R[a] - R[b], R[c] - R[b]
                ru, rv = np.linalg.norm(u), np.linalg.norm(v)
                angle = np.arccos(np.clip(u @ v / (ru * rv), -1, 1))
                key = (min(Z[a], Z[c]), Z[b], max(Z[a], Z[c]))
                curve = np.exp(-0.5 * ((angle_grid - angle) / sa) ** 2) / (ru * rv) ** q
                triples[key] = triples.get(key, 0) + curve
    return pairs, triples


def split(mbtr, row):
    """One output row as the two terms, in the transformer's own units."""
    n_r = len(mbtr.pairs_) * 53
    pair_part = row[:n_r].reshape(len(mbtr.pairs_), -1) * mbtr.scales_[0]
    angle_part = row[n_r:].reshape(len(mbtr.triples_), -1) * mbtr.scales_[1]
    return dict(zip(mbtr.pairs_, pair_part, strict=True)), dict(
        zip(mbtr.triples_, angle_part, strict=True)
    )


def test_matches_python_reference_on_real_molecules(qm7x_train):
    X = qm7x_train.data[:12]
    mbtr = ManyBodyTensorTransformer(distance_power=3.0, angle_power=4.0).fit(X)
    out = mbtr.transform(X)
    Z, R = unpack_molecules(X)
    for i in range(len(X)):
        present = Z[i] > 0
        pairs, triples = mbtr_python(
            Z[i][present],
            R[i][present],
            np.linspace(0.8, 6.0, 53),
            np.linspace(0, np.pi, 25),
            p=3.0,
            q=4.0,
        )
        got_pairs, got_triples = split(mbtr, out[i])
        for key, curve in got_pairs.items():
            np.testing.assert_allclose(curve, pairs.get(key, 0.0), atol=1e-12)
        for key, curve in got_triples.items():
            np.testing.assert_allclose(curve, triples.get(key, 0.0), atol=1e-12)
        assert set(pairs) <= set(got_pairs) and set(triples) <= set(got_triples)


def test_one_training_molecule_is_not_scaled(water):
    mbtr = ManyBodyTensorTransformer().fit(water)
    np.testing.assert_array_equal(mbtr.scales_, [1.0, 1.0])
    assert mbtr.pairs_ == [(1.0, 1.0), (1.0, 8.0)]
    # H-O-H (vertex O) and O-H-H (vertex H, twice).
    assert mbtr.triples_ == [(1.0, 1.0, 8.0), (1.0, 8.0, 1.0)]


def test_scales_make_the_terms_weigh_as_asked(qm7x_train):
    X = qm7x_train.data[:300]
    for weight in (1.0, 4.0):
        mbtr = ManyBodyTensorTransformer(angle_weight=weight).fit(X)
        out = mbtr.transform(X)
        n_r = len(mbtr.pairs_) * 53
        upper = np.triu_indices(len(X), k=1)
        pair_median = np.median(euclidean_distances(out[:, :n_r], squared=True)[upper])
        angle_median = np.median(euclidean_distances(out[:, n_r:], squared=True)[upper])
        assert pair_median == pytest.approx(1.0, rel=1e-9)
        assert angle_median == pytest.approx(weight, rel=1e-9)


def test_no_angles(qm7x_train):
    X = qm7x_train.data[:20]
    mbtr = ManyBodyTensorTransformer(angle_weight=0.0).fit(X)
    assert mbtr.triples_ == []
    assert mbtr.transform(X).shape == (20, len(mbtr.pairs_) * 53)


def test_invariant_to_rotation_translation_and_atom_order(qm7x_train):
    X = qm7x_train.data[:15]
    mbtr = ManyBodyTensorTransformer().fit(X)
    assert_invariant(mbtr.transform, X, rtol=1e-8, atol=1e-10)


def test_smooth_in_the_positions(qm7x_train):
    X = qm7x_train.data[:5]
    mbtr = ManyBodyTensorTransformer().fit(X)
    moved = X.copy()
    moved[:, 1] += 1e-4  # x of the first atom
    change = np.abs(mbtr.transform(moved) - mbtr.transform(X)).max()
    assert 0 < change < 1e-2


def test_unknown_element(water):
    methane = pack_molecules([(["C", "H"], [[0, 0, 0], [1.09, 0, 0]])], n_atoms_max=3)
    with pytest.raises(ValueError, match="Z=6"):
        ManyBodyTensorTransformer().fit(water).transform(methane)
    ignored = ManyBodyTensorTransformer(handle_unknown="ignore").fit(water)
    # Only one hydrogen is left: no pair, no angle.
    np.testing.assert_array_equal(ignored.transform(methane), 0.0)


def test_float32_is_preserved(qm7x_train):
    X = qm7x_train.data[:10]
    out32 = ManyBodyTensorTransformer().fit_transform(X.astype(np.float32))
    assert out32.dtype == np.float32
    out64 = ManyBodyTensorTransformer().fit_transform(X)
    np.testing.assert_allclose(out32, out64, rtol=1e-4, atol=1e-6)


def test_fit_transform_computes_the_terms_once(qm7x_train, monkeypatch):
    from skqm7x.representations import _mbtr

    X = qm7x_train.data[:50]
    # A sample of every fifth molecule sets the scales, as in fit.
    monkeypatch.setattr(_mbtr, "_SCALE_SAMPLE", 10)
    expected = ManyBodyTensorTransformer().fit(X).transform(X)
    transformer = ManyBodyTensorTransformer()
    calls = []
    original = transformer._raw
    monkeypatch.setattr(
        transformer, "_raw", lambda X: calls.append(len(X)) or original(X)
    )
    np.testing.assert_array_equal(transformer.fit_transform(X), expected)
    assert calls == [50]
