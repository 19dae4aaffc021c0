import pickle

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline

from skqm7x import CoulombMatrixTransformer, RandomCoulombExpander, SigmoidMLPRegressor
from tests.helpers import assert_search_chose_its_best

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU"),
    ),
]


def rmse(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


@pytest.fixture(scope="module")
def split(qm7x_train):
    rng = np.random.RandomState(0)
    order = rng.permutation(len(qm7x_train.target))
    train, test = order[:1200], order[1200:1600]
    X, y = qm7x_train.data, qm7x_train.target
    return X[train], y[train], X[test], y[test]


def coulomb_mlp(device="cpu", **mlp_params):
    params = dict(base_learning_rate=0.3, max_epochs=25, random_state=0, device=device)
    return make_pipeline(
        CoulombMatrixTransformer(),
        SigmoidMLPRegressor(
            expander=RandomCoulombExpander(n_draws=4, theta=10.0, random_state=0),
            **{**params, **mlp_params},
        ),
    )


@pytest.mark.parametrize("device", DEVICES)
def test_pipeline_learns_real_energies(split, device):
    X_train, y_train, X_test, y_test = split
    model = coulomb_mlp(device).fit(X_train, y_train)
    held_out = rmse(model.predict(X_test), y_test)
    predict_the_mean = rmse(np.mean(y_train), y_test)
    # Measured on this split: held-out RMSE 2.15 eV, mean predictor 11.13 eV.
    assert predict_the_mean > 11.0
    assert held_out < 0.35 * predict_the_mean
    loss = model[-1].loss_curve_
    assert loss[-1] < 0.2 * loss[0]


def test_same_random_state_same_predictions(split):
    X_train, y_train, X_test, _ = split
    first = coulomb_mlp(max_epochs=3).fit(X_train[:300], y_train[:300]).predict(X_test)
    again = coulomb_mlp(max_epochs=3).fit(X_train[:300], y_train[:300]).predict(X_test)
    np.testing.assert_array_equal(first, again)
    other = coulomb_mlp(max_epochs=3, random_state=1).fit(X_train[:300], y_train[:300])
    assert not np.array_equal(other.predict(X_test), first)


def test_validation_curve_and_pickle(split):
    X_train, y_train, X_test, _ = split
    mlp = coulomb_mlp(max_epochs=4, validation_fraction=0.25).fit(
        X_train[:400], y_train[:400]
    )
    regressor = mlp[-1]
    assert regressor.loss_curve_.shape == regressor.validation_loss_curve_.shape == (4,)
    dumped = pickle.dumps(mlp)
    assert len(dumped) < 20e6, "the training data must not be pickled with the model"
    np.testing.assert_array_equal(
        pickle.loads(dumped).predict(X_test), mlp.predict(X_test)
    )


def test_per_layer_learning_rates():
    X = np.random.RandomState(0).normal(size=(30, 16))
    mlp = SigmoidMLPRegressor(n_draws=1, max_epochs=1, device="cpu", random_state=0)
    mlp.fit(X, X[:, 0])
    rates = [group["lr"] for group in mlp.net_.optimizer_.param_groups]
    np.testing.assert_allclose(rates, 0.01 / np.sqrt([16, 400, 100]))
    assert all(group["momentum"] == 0.9 for group in mlp.net_.optimizer_.param_groups)


def test_predict_averages_over_views():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 6))
    mlp = SigmoidMLPRegressor(n_draws=2, max_epochs=2, device="cpu", random_state=0)
    mlp.fit(X, rng.normal(size=40))
    first, second = np.hstack([X[:, :3], X[:, :3]]), np.hstack([X[:, 3:], X[:, 3:]])
    np.testing.assert_allclose(
        mlp.predict(X), (mlp.predict(first) + mlp.predict(second)) / 2, rtol=1e-5
    )


def test_grid_search_tunes_expander_and_mlp(split):
    X_train, y_train, _, _ = split
    search = GridSearchCV(
        coulomb_mlp(max_epochs=2),
        {
            "sigmoidmlpregressor__expander__noise": [0.5, 2.0],
            "sigmoidmlpregressor__momentum": [0.5],
        },
        cv=KFold(2),
        scoring="neg_root_mean_squared_error",
    ).fit(X_train[:200], y_train[:200])
    assert_search_chose_its_best(search)


def test_an_expander_inside_reads_its_own_views(split):
    """The network counts the expander's draws: the pipeline that lays them out
    before it, with the matching n_draws, trains the same network."""
    X_train, y_train, X_test, _ = split
    inside = coulomb_mlp(max_epochs=2).fit(X_train[:200], y_train[:200])
    outside = make_pipeline(
        CoulombMatrixTransformer(),
        RandomCoulombExpander(n_draws=4, theta=10.0, random_state=0),
        SigmoidMLPRegressor(
            n_draws=4,
            base_learning_rate=0.3,
            max_epochs=2,
            device="cpu",
            random_state=0,
        ),
    )
    outside.fit(X_train[:200], y_train[:200])
    assert inside[-1].n_draws_ == 4
    assert inside[-1].expander_.n_draws == 4
    np.testing.assert_allclose(
        inside.predict(X_test[:50]), outside.predict(X_test[:50]), rtol=1e-6
    )


def test_the_expander_is_seeded_by_the_network_when_unseeded(split):
    X_train, y_train, X_test, _ = split

    def fitted(random_state):
        return make_pipeline(
            CoulombMatrixTransformer(),
            SigmoidMLPRegressor(
                expander=RandomCoulombExpander(n_draws=2),
                max_epochs=1,
                device="cpu",
                random_state=random_state,
            ),
        ).fit(X_train[:100], y_train[:100])

    first, again, other = fitted(0), fitted(0), fitted(1)
    assert first[-1].expander_.random_state == again[-1].expander_.random_state
    assert first[-1].expander_.random_state != other[-1].expander_.random_state
    assert first[-1].expander.random_state is None  # the parameter is untouched
    np.testing.assert_array_equal(first.predict(X_test), again.predict(X_test))


def test_n_draws_beside_an_expander_is_refused():
    coulomb = np.eye(3).reshape(1, -1).repeat(5, axis=0)
    mlp = SigmoidMLPRegressor(
        expander=RandomCoulombExpander(n_draws=4), n_draws=4, device="cpu"
    )
    with pytest.raises(ValueError, match="n_draws=4 counts views laid side by side"):
        mlp.fit(coulomb, np.arange(5.0))


def test_an_expander_without_draws_is_refused():
    from sklearn.preprocessing import StandardScaler

    mlp = SigmoidMLPRegressor(expander=StandardScaler(), device="cpu")
    with pytest.raises(ValueError, match="expander=StandardScaler has no n_draws"):
        mlp.fit(np.ones((5, 4)), np.arange(5.0))


def test_default_n_draws_reads_ordinary_features():
    X = np.random.RandomState(0).normal(size=(20, 30))
    mlp = SigmoidMLPRegressor(max_epochs=1, device="cpu").fit(X, X[:, 0])
    assert mlp.n_draws_ == 1
    assert mlp.net_.module_.layers[0].in_features == 30


def test_n_draws_must_divide_features():
    message = "n_draws=4 must divide the number of features"
    with pytest.raises(ValueError, match=message):
        SigmoidMLPRegressor(n_draws=4, device="cpu").fit(np.ones((5, 6)), np.ones(5))


def test_bad_hidden_layer_sizes():
    with pytest.raises(ValueError, match="hidden_layer_sizes must be positive"):
        SigmoidMLPRegressor(hidden_layer_sizes=(0,), n_draws=1, device="cpu").fit(
            np.ones((5, 2)), np.ones(5)
        )


def test_divergence_is_reported():
    X = np.random.RandomState(0).normal(size=(50, 2)) * 1e6
    mlp = SigmoidMLPRegressor(
        base_learning_rate=1e6, n_draws=1, max_epochs=3, device="cpu"
    )
    with pytest.raises(ValueError, match="Training diverged"):
        mlp.fit(X, X[:, 0] * 1e3)


def test_cuda_without_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    mlp = SigmoidMLPRegressor(n_draws=1, device="cuda")
    with pytest.raises(ValueError, match="device='cuda' was requested, but torch"):
        mlp.fit(np.ones((5, 2)), np.ones(5))


def test_auto_device_falls_back_to_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    mlp = SigmoidMLPRegressor(n_draws=1, max_epochs=1, device="auto")
    assert mlp.fit(np.ones((5, 2)), np.arange(5.0)).device_ == "cpu"


def test_adam_solver_learns_with_per_layer_rates(split):
    X_train, y_train, X_test, y_test = split
    model = coulomb_mlp(solver="adam", base_learning_rate=0.03, max_epochs=15)
    model.fit(X_train, y_train)
    optimizer = model[-1].net_.optimizer_
    assert type(optimizer).__name__ == "Adam"
    np.testing.assert_allclose(
        [group["lr"] for group in optimizer.param_groups],
        0.03 / np.sqrt([3 * 23 * 23, 400, 100]),  # one view: 3 channels of 23 x 23
    )
    assert rmse(model.predict(X_test), y_test) < 0.35 * rmse(np.mean(y_train), y_test)


def test_absolute_error_loss_fits_the_bulk_and_not_the_outliers():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(300, 4))
    y = X @ [1.0, -2.0, 0.5, 0.0]
    y[:15] += 20.0  # far-off points drag a squared-error fit, hardly an absolute one
    params = dict(hidden_layer_sizes=(32,), base_learning_rate=1.0, n_draws=1)
    params.update(max_epochs=60, device="cpu", random_state=0)

    def bulk_error(loss):
        mlp = SigmoidMLPRegressor(loss=loss, **params).fit(X, y)
        return mlp, np.median(np.abs(mlp.predict(X[15:]) - y[15:]))

    squared, squared_error = bulk_error("squared_error")
    absolute, absolute_error = bulk_error("absolute_error")
    assert isinstance(squared.net_.criterion_, torch.nn.MSELoss)
    assert isinstance(absolute.net_.criterion_, torch.nn.L1Loss)
    assert absolute_error < 0.6 * squared_error


def test_alpha_adds_scikit_learns_l2_penalty_on_the_weights():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(200, 4))
    y = X @ [1.0, -2.0, 0.5, 0.0]
    params = dict(hidden_layer_sizes=(32,), base_learning_rate=1.0, n_draws=1)
    params.update(max_epochs=60, device="cpu", random_state=0)

    def squared_weights(mlp):
        layers = mlp.net_.module_.layers
        return sum(float(layer.weight.detach().square().sum()) for layer in layers)

    free = SigmoidMLPRegressor(**params).fit(X, y)
    penalized = SigmoidMLPRegressor(alpha=0.1, **params).fit(X, y)
    assert squared_weights(penalized) < 0.5 * squared_weights(free)
    assert penalized.score(X, y) > 0.99
    # A batch of n views pays alpha / (2 n) times the squared weights, in
    # training only, as in sklearn's MLPRegressor.
    net = penalized.net_
    y_pred = net.infer(torch.as_tensor(X[:10], dtype=torch.float32))
    y_true = torch.zeros((10, 1))
    with torch.no_grad():
        training = net.get_loss(y_pred, y_true, training=True)
        validation = net.get_loss(y_pred, y_true, training=False)
    penalty = 0.5 * 0.1 * squared_weights(penalized) / 10
    assert float(training - validation) == pytest.approx(penalty, rel=1e-4)


def test_progress_bar_only_when_verbose(capsys):
    X = np.random.RandomState(0).normal(size=(30, 4))
    SigmoidMLPRegressor(n_draws=1, max_epochs=3, device="cpu").fit(X, X[:, 0])
    assert capsys.readouterr().err == ""
    SigmoidMLPRegressor(n_draws=1, max_epochs=3, device="cpu", verbose=1).fit(
        X, X[:, 0]
    )
    assert "training MLP" in capsys.readouterr().err


def numpy_forward(mlp, X):
    """The network's output on standardized targets, computed by hand."""
    state = {key: value.numpy() for key, value in mlp.net_.module_.state_dict().items()}
    if mlp.standardize_inputs:
        X = (X - state["input_mean"]) / state["input_scale"]
    n_layers = len(mlp.hidden_layer_sizes) + 1
    for i in range(n_layers):
        X = X @ state[f"layers.{i}.weight"].T + state[f"layers.{i}.bias"]
        if i < n_layers - 1:
            X = (
                1 / (1 + np.exp(-X))
                if mlp.activation == "sigmoid"
                else 1.5 * np.tanh(X / 1.5)
            )
    return X[:, 0]


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
@pytest.mark.parametrize("standardize_inputs", [False, True])
def test_activation_and_input_standardization(activation, standardize_inputs):
    rng = np.random.RandomState(0)
    X = rng.normal(3.0, 5.0, size=(60, 5)).astype(np.float32)
    mlp = SigmoidMLPRegressor(
        hidden_layer_sizes=(7, 4),
        activation=activation,
        standardize_inputs=standardize_inputs,
        n_draws=1,
        max_epochs=2,
        device="cpu",
        random_state=0,
    ).fit(X, X[:, 0])
    expected = numpy_forward(mlp, X) * mlp.target_scale_ + mlp.target_mean_
    np.testing.assert_allclose(mlp.predict(X), expected, rtol=1e-5, atol=1e-5)
    if standardize_inputs:
        np.testing.assert_allclose(mlp.input_mean_, X.mean(axis=0), rtol=1e-5)
        np.testing.assert_allclose(mlp.input_scale_, X.std(axis=0), rtol=1e-5)
    else:
        assert mlp.input_mean_ is None and mlp.input_scale_ is None


def test_standardized_inputs_make_the_scale_of_each_column_irrelevant():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 4))
    y = X @ [1.0, -1.0, 0.5, 2.0]
    scale, shift = np.array([0.01, 1.0, 30.0, 500.0]), np.array([5.0, 0.0, -2.0, 100])

    def fitted(features):
        params = dict(n_draws=1, max_epochs=5, device="cpu", random_state=0)
        return SigmoidMLPRegressor(standardize_inputs=True, **params).fit(features, y)

    np.testing.assert_allclose(
        fitted(X * scale + shift).predict(X * scale + shift),
        fitted(X).predict(X),
        rtol=1e-3,
        atol=1e-3,
    )


def test_warmup_lowers_the_learning_rate_in_montavons_stages():
    from skqm7x.models._torch_mlp import warmup_factor

    assert [
        warmup_factor(step, 12500) for step in (0, 499, 500, 2499, 2500, 12499, 12500)
    ] == [
        0.1,
        0.1,
        0.25,
        0.25,
        0.5,
        0.5,
        1.0,
    ]
    X = np.random.RandomState(0).normal(size=(50, 8))
    mlp = SigmoidMLPRegressor(
        warmup_steps=1000, n_draws=1, max_epochs=1, device="cpu", random_state=0
    ).fit(X, X[:, 0])
    rates = [group["lr"] for group in mlp.net_.optimizer_.param_groups]
    np.testing.assert_allclose(rates, 0.1 * 0.01 / np.sqrt([8, 400, 100]))


def test_cosine_schedule_lowers_the_rate_every_epoch_after_the_warmup():
    from skqm7x.models._torch_mlp import cosine_factor

    factors = [cosine_factor(epoch, 4) for epoch in range(5)]
    np.testing.assert_allclose(factors, [1.0, 0.8536, 0.5, 0.1464, 0.0], atol=1e-4)
    X = np.random.RandomState(0).normal(size=(50, 8))

    def last_rates(**params):
        # Two steps of 25 molecules per epoch: the rates of the last step.
        mlp = SigmoidMLPRegressor(
            n_draws=1, max_epochs=4, device="cpu", random_state=0, **params
        ).fit(X, X[:, 0])
        return [group["lr"] for group in mlp.net_.optimizer_.param_groups]

    layer_rates = 0.01 / np.sqrt([8, 400, 100])
    np.testing.assert_allclose(last_rates(), layer_rates)
    np.testing.assert_allclose(
        last_rates(learning_rate_schedule="cosine"), factors[3] * layer_rates
    )
    # Warm-up stages and cosine multiply: step 7 of a 1000-step warm-up.
    np.testing.assert_allclose(
        last_rates(learning_rate_schedule="cosine", warmup_steps=1000),
        0.1 * factors[3] * layer_rates,
    )


@pytest.mark.parametrize(
    "schedule",
    [
        {"warmup_steps": 10, "average_weights": True},
        {"learning_rate_schedule": "cosine"},
    ],
)
def test_a_network_trained_on_a_schedule_pickles(schedule):
    # The schedule's callback stays with the fitted network.
    X = np.random.RandomState(0).normal(size=(50, 8))
    mlp = SigmoidMLPRegressor(
        n_draws=1, max_epochs=2, device="cpu", random_state=0, **schedule
    ).fit(X, X[:, 0])
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(mlp)).predict(X), mlp.predict(X)
    )


def test_averaged_weights_are_the_mean_over_the_steps():
    X = np.random.RandomState(0).normal(size=(40, 6))
    y = X[:, 0] - X[:, 1]

    def fitted(max_epochs, average_weights=False):
        # One batch per epoch: one SGD step per epoch.
        return SigmoidMLPRegressor(
            hidden_layer_sizes=(5,),
            batch_size=40,
            base_learning_rate=1.0,
            momentum=0.0,
            max_epochs=max_epochs,
            average_weights=average_weights,
            n_draws=1,
            device="cpu",
            random_state=0,
        ).fit(X, y)

    def weights(mlp):
        return mlp.net_.module_.layers[0].weight.detach().numpy()

    one, two, averaged = fitted(1), fitted(2), fitted(2, average_weights=True)
    assert not np.allclose(weights(one), weights(two))
    np.testing.assert_allclose(
        weights(averaged), (weights(one) + weights(two)) / 2, rtol=1e-5, atol=1e-7
    )
    assert "average" in dict(averaged.net_.callbacks)
    assert not hasattr(dict(averaged.net_.callbacks)["average"], "averaged_")


def test_fresh_draws_show_new_matrices_every_pass(split):
    from skqm7x.models._torch_mlp import FreshDrawDataset

    X_train, y_train, X_test, _ = split
    coulomb = CoulombMatrixTransformer().fit(X_train).transform(X_train[:50])
    expander = RandomCoulombExpander(noise=5.0, random_state=0).fit(coulomb)
    dataset = FreshDrawDataset(expander, coulomb, y_train[:50, None], seed=0)
    first = np.stack([dataset[i][0] for i in range(50)])
    dataset.new_views()
    second = np.stack([dataset[i][0] for i in range(50)])
    assert first.shape == (50, 3 * expander.n_atoms_**2)
    assert not np.array_equal(first, second)
    # The same molecules, only reordered: every draw has the same entries.
    np.testing.assert_allclose(np.sort(first, axis=1), np.sort(second, axis=1))

    model = coulomb_mlp(max_epochs=2, fresh_draws=True)
    again = coulomb_mlp(max_epochs=2, fresh_draws=True)
    predicted = model.fit(X_train[:200], y_train[:200]).predict(X_test[:20])
    np.testing.assert_array_equal(
        again.fit(X_train[:200], y_train[:200]).predict(X_test[:20]), predicted
    )
    assert np.all(np.isfinite(predicted))


def test_draw_without_noise_is_the_sorted_matrix(split):
    X_train = split[0]
    coulomb = CoulombMatrixTransformer().fit(X_train).transform(X_train[:20])
    expander = RandomCoulombExpander(noise=0.0, n_draws=2).fit(coulomb)
    np.testing.assert_allclose(
        expander.draw(coulomb, random_state=3),
        expander.transform(coulomb)[:, : 3 * expander.n_atoms_**2],
    )


def test_fresh_draws_need_an_expander_that_draws():
    with pytest.raises(ValueError, match="fresh_draws=True draws a new view"):
        SigmoidMLPRegressor(fresh_draws=True, n_draws=1, device="cpu").fit(
            np.ones((5, 4)), np.arange(5.0)
        )
