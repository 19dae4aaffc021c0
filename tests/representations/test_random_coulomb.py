import numpy as np
import pytest

from skqm7x import CoulombMatrixTransformer, RandomCoulombExpander


@pytest.fixture(scope="module")
def coulomb(small_molecules):
    X, _ = small_molecules
    return CoulombMatrixTransformer().fit_transform(X)


def draws_of(output, n_draws, size):
    return output.reshape(len(output), n_draws, 3, size, size)


def test_shape_and_feature_names(coulomb):
    expander = RandomCoulombExpander(n_draws=3, random_state=0).fit(coulomb)
    output = expander.transform(coulomb)
    assert output.shape == (len(coulomb), 3 * 3 * 23 * 23)
    names = expander.get_feature_names_out()
    assert len(names) == output.shape[1]
    assert names[0] == "draw0_minus_theta_0_0"
    assert names[23 * 23] == "draw0_zero_0_0"
    assert names[-1] == "draw2_plus_theta_22_22"


def test_binarization_channels(coulomb):
    theta = 2.5
    expander = RandomCoulombExpander(noise=0, theta=theta, n_draws=1).fit(coulomb)
    channels = draws_of(expander.transform(coulomb), 1, 23)[:, 0]
    C = coulomb.reshape(-1, 23, 23)
    np.testing.assert_allclose(channels[:, 0], np.tanh((C - theta) / theta))
    np.testing.assert_allclose(channels[:, 1], np.tanh(C / theta))
    np.testing.assert_allclose(channels[:, 2], np.tanh((C + theta) / theta))


def test_each_draw_is_one_permutation_of_rows_and_columns(coulomb):
    theta = 100.0  # keeps tanh far from saturation, so C can be read back
    expander = RandomCoulombExpander(noise=5.0, theta=theta, n_draws=8, random_state=0)
    middle = draws_of(expander.fit(coulomb).transform(coulomb), 8, 23)[:, :, 1]
    random_matrices = theta * np.arctanh(middle)
    C = coulomb.reshape(-1, 23, 23)
    n_distinct = 0
    for molecule, draws in zip(C, random_matrices, strict=True):
        for draw in draws:
            # The diagonal of P C P^T is the permuted diagonal; recover P from
            # the norms of the rows, which the permutation carries along.
            order = [
                int(np.argmin(np.abs(np.linalg.norm(molecule, axis=1) - norm)))
                for norm in np.linalg.norm(draw, axis=1)
            ]
            np.testing.assert_allclose(draw, molecule[np.ix_(order, order)], atol=1e-6)
            n_distinct += order != sorted(order)
    assert n_distinct > 0, "noise=5 should reorder some rows"


def test_zero_noise_gives_the_sorted_matrix_every_draw(coulomb):
    output = RandomCoulombExpander(noise=0, n_draws=4).fit(coulomb).transform(coulomb)
    draws = draws_of(output, 4, 23)
    for d in range(1, 4):
        np.testing.assert_array_equal(draws[:, d], draws[:, 0])


def test_reproducible_and_seeded(coulomb):
    first = RandomCoulombExpander(random_state=3).fit(coulomb).transform(coulomb)
    again = RandomCoulombExpander(random_state=3).fit(coulomb).transform(coulomb)
    other = RandomCoulombExpander(random_state=4).fit(coulomb).transform(coulomb)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_draws_do_not_depend_on_the_batch(coulomb):
    expander = RandomCoulombExpander(random_state=0).fit(coulomb)
    full = expander.transform(coulomb)
    np.testing.assert_array_equal(expander.transform(coulomb[5:9]), full[5:9])
    np.testing.assert_array_equal(expander.transform(coulomb[::-1]), full[::-1])


def test_draws_differ_between_molecules_and_draws(coulomb):
    output = (
        RandomCoulombExpander(noise=20, random_state=0).fit(coulomb).transform(coulomb)
    )
    draws = draws_of(output, 10, 23)
    assert len({draws[0, d].tobytes() for d in range(10)}) > 1


def test_rejects_non_square_input():
    with pytest.raises(ValueError, match="expects full Coulomb matrices"):
        RandomCoulombExpander().fit(np.ones((3, 10)))


def test_float32_is_preserved(coulomb):
    output = RandomCoulombExpander(random_state=0).fit_transform(
        coulomb.astype(np.float32)
    )
    assert output.dtype == np.float32
