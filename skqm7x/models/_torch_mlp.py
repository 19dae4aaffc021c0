"""The torch pieces of :class:`SigmoidMLPRegressor`, imported only when training."""

# SPDX-License-Identifier: BSD-3-Clause

from contextlib import contextmanager

import numpy as np
import torch
from skorch import NeuralNetRegressor
from skorch.callbacks import Callback


class SigmoidMLP(torch.nn.Module):
    """Linear layers with sigmoid-shaped activations between them, one linear output.

    ``activation="tanh"`` is Montavon et al.'s ``1.5 tanh(x / 1.5)``. Given
    ``input_mean`` and ``input_scale``, the inputs are standardized first.
    """

    def __init__(self, sizes, activation="sigmoid", input_mean=None, input_scale=None):
        super().__init__()
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(n_in, n_out)
            for n_in, n_out in zip(sizes, [*sizes[1:], 1], strict=True)
        )
        self.activation = activation
        self.standardize = input_mean is not None
        if self.standardize:
            self.register_buffer("input_mean", torch.as_tensor(input_mean))
            self.register_buffer("input_scale", torch.as_tensor(input_scale))

    def forward(self, X):
        if self.standardize:
            X = (X - self.input_mean) / self.input_scale
        for layer in self.layers[:-1]:
            X = layer(X)
            X = torch.sigmoid(X) if self.activation == "sigmoid" else _scaled_tanh(X)
        return self.layers[-1](X)


class PenalizedNeuralNetRegressor(NeuralNetRegressor):
    """skorch's regressor with scikit-learn's L2 penalty on the weights.

    As in :class:`sklearn.neural_network.MLPRegressor`, the training loss of
    a batch of ``n`` samples gains ``alpha / (2 n)`` times the sum of the
    squared weights of ``module_.layers`` (not their biases); the validation
    loss does not.
    """

    def __init__(self, *args, alpha=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.alpha = alpha

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if training and self.alpha > 0:
            squared = sum(layer.weight.square().sum() for layer in self.module_.layers)
            loss = loss + 0.5 * self.alpha * squared / len(y_pred)
        return loss


def _scaled_tanh(X):
    return 1.5 * torch.tanh(X / 1.5)


class ViewDataset(torch.utils.data.Dataset):
    """Each molecule seen through one of its views, re-chosen by :meth:`new_views`."""

    def __init__(self, views, y, seed):
        self.views = views
        self.y = y
        self._rng = np.random.default_rng(seed)
        self.new_views()

    def new_views(self):
        self._choice = self._rng.integers(self.views.shape[1], size=len(self.views))

    def __len__(self):
        return len(self.views)

    def __getitem__(self, i):
        return self.views[i, self._choice[i]], self.y[i]


class FreshDrawDataset(torch.utils.data.Dataset):
    """Each molecule seen through a new random matrix, drawn by :meth:`new_views`."""

    def __init__(self, expander, X, y, seed):
        self.expander = expander
        self.X = X
        self.y = y
        self._random_state = np.random.RandomState(seed)
        self.new_views()

    def new_views(self):
        draws = self.expander.draw(self.X, random_state=self._random_state)
        self._views = draws.astype(np.float32)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self._views[i], self.y[i]


def warmup_factor(step, warmup_steps):
    """The learning-rate factor at an SGD step: Montavon et al.'s rising stages.

    A tenth of the rate for the first 4 % of ``warmup_steps``, a quarter
    until 20 %, half until the end, then the full rate (their code: 500,
    2500 and 12500 steps). With ``warmup_steps=0``, the full rate throughout.
    """
    for end, value in ((0.04, 0.1), (0.2, 0.25), (1.0, 0.5)):
        if step < end * warmup_steps:
            return value
    return 1.0


def cosine_factor(epoch, n_epochs):
    """The learning-rate factor in an epoch: half a cosine from 1 towards 0.

    Loshchilov and Hutter's annealing without restarts: the steps shrink as
    training ends, so that the final weights settle instead of rattling
    around a minimum at the full rate.
    """
    return 0.5 * (1.0 + np.cos(np.pi * epoch / n_epochs))


class LearningRateSchedule(Callback):
    """Scales every layer's own learning rate before each SGD step: the
    warm-up's factor at the step, times, given ``cosine_epochs``, the cosine's
    factor at the epoch (steps and epochs counted from 0).

    Module-level factors rather than closures, so that the fitted network,
    which keeps its callbacks, pickles.
    """

    def __init__(self, warmup_steps=0, cosine_epochs=None):
        self.warmup_steps = warmup_steps
        self.cosine_epochs = cosine_epochs

    def on_train_begin(self, net, **kwargs):
        self.base_rates_ = [group["lr"] for group in net.optimizer_.param_groups]
        self.step_ = 0

    def on_batch_begin(self, net, training, **kwargs):
        if not training:
            return
        factor = warmup_factor(self.step_, self.warmup_steps)
        if self.cosine_epochs is not None:
            factor *= cosine_factor(len(net.history) - 1, self.cosine_epochs)
        for group, rate in zip(
            net.optimizer_.param_groups, self.base_rates_, strict=True
        ):
            group["lr"] = rate * factor
        self.step_ += 1


class WeightAverage(Callback):
    """Polyak averaging: the final network is the mean of the weights after
    every SGD step past ``start`` (the first steps of a run are far from any
    minimum)."""

    def __init__(self, start=0):
        self.start = start

    def on_train_begin(self, net, **kwargs):
        self.averaged_ = torch.optim.swa_utils.AveragedModel(net.module_)
        self.step_ = 0

    def on_batch_end(self, net, training, **kwargs):
        if not training:
            return
        self.step_ += 1
        if self.step_ > self.start:
            self.averaged_.update_parameters(net.module_)

    def on_train_end(self, net, **kwargs):
        if int(self.averaged_.n_averaged):
            net.module_.load_state_dict(self.averaged_.module.state_dict())
        del self.averaged_  # a copy of the network, of no use after training


class NewViewsEachEpoch(Callback):
    """Draws a new view of every molecule at the start of each epoch."""

    def __init__(self, dataset):
        self.dataset = dataset

    def on_epoch_begin(self, net, **kwargs):
        if self.dataset is not None:
            self.dataset.new_views()

    def on_train_end(self, net, **kwargs):
        # The fitted estimator is pickled with its callbacks: drop the data.
        self.dataset = None


class EpochProgressBar(Callback):
    """A tqdm bar over epochs, showing the latest losses."""

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self._bar = tqdm(total=net.max_epochs, desc="training MLP", unit="epoch")

    def on_epoch_end(self, net, **kwargs):
        last = net.history[-1]
        losses = {
            key: f"{last[key]:.4f}"
            for key in ("train_loss", "valid_loss")
            if key in last
        }
        self._bar.set_postfix(losses, refresh=False)
        self._bar.update()

    def on_train_end(self, net, **kwargs):
        self._bar.close()
        del self._bar  # tqdm objects do not pickle


@contextmanager
def flush_denormals():
    """Treat subnormal floats as zero, on one thread, while the network runs.

    Saturated sigmoids send gradients into the subnormal range, where CPU
    arithmetic is many times slower (measured: 6x on 10 epochs of the
    Coulomb MLP). The flag only reaches the calling thread, not torch's
    existing worker threads, so the small per-batch products run on this
    thread alone. torch has no getter for the flag: it is off by default and
    is switched off again afterwards.
    """
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(n_threads)
