"""The torch pieces of :class:`SigmoidMLPRegressor`, imported only when training."""

# SPDX-License-Identifier: BSD-3-Clause

from contextlib import contextmanager

import numpy as np
import torch
from skorch.callbacks import Callback


class SigmoidMLP(torch.nn.Module):
    """Linear layers with sigmoid activations between them, one linear output."""

    def __init__(self, sizes):
        super().__init__()
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(n_in, n_out)
            for n_in, n_out in zip(sizes, [*sizes[1:], 1], strict=True)
        )

    def forward(self, X):
        for layer in self.layers[:-1]:
            X = torch.sigmoid(layer(X))
        return self.layers[-1](X)


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
