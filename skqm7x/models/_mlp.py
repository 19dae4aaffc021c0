"""A sigmoid multilayer perceptron trained with skorch (Montavon et al., 2012)."""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skqm7x._utils._defaults import DEFAULT_N_DRAWS
from skqm7x._utils._device import resolve_device

# Rows per forward pass in predict: bounds memory whatever the input size.
_PREDICT_BATCH = 8192


class SigmoidMLPRegressor(RegressorMixin, BaseEstimator):
    """Multilayer perceptron with sigmoid hidden units, trained by SGD.

    The network of Montavon et al. (2012): two sigmoid hidden layers (400 and
    100 units by default) and a linear output, trained on the mean squared
    error by SGD with momentum, each layer with learning rate
    ``base_learning_rate / sqrt(m)`` where ``m`` is its number of inputs. The
    target is standardized inside; computations run in float32 with skorch.

    The input may hold ``n_draws`` views of each molecule side by side, as
    :class:`RandomCoulombExpander` lays out its random Coulomb matrices. Each
    epoch then shows every molecule through a new random choice among its
    views (data augmentation), and :meth:`predict` averages the network's
    output over all views. Use ``n_draws=1`` for ordinary features.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(400, 100)
        Units of each sigmoid hidden layer.
    base_learning_rate : float, default=0.01
        ``gamma_0``: a layer with ``m`` inputs learns at
        ``base_learning_rate / sqrt(m)``.
    momentum : float, default=0.9
        Momentum of SGD (ignored by Adam).
    solver : {"sgd", "adam"}, default="sgd"
        The optimizer: SGD with momentum, as in Montavon et al., or Adam
        (Kingma and Ba, 2015), which converges in far fewer epochs. Both use
        the per-layer learning rates above.
    max_epochs : int, default=80
        Passes over the training molecules.
    batch_size : int, default=25
        Molecules per SGD step.
    n_draws : int, default=10
        Views per molecule in ``X``; must divide the number of columns and
        match ``RandomCoulombExpander(n_draws=...)``.
    validation_fraction : float, default=None
        Hold out this fraction of the training molecules to record a
        validation loss every epoch (in ``validation_loss_curve_``); they are
        not used for training. ``None`` trains on everything.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where torch computes; ``"auto"`` takes a CUDA GPU when one is visible.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the batches, the views and the validation split.
    verbose : int, default=0
        0 is silent; 1 shows a progress bar over epochs with the current
        losses; 2 prints skorch's table, one line per epoch.

    Attributes
    ----------
    net_ : skorch.NeuralNetRegressor
        The trained network (on standardized targets).
    loss_curve_ : ndarray of shape (n_epochs,)
        Training loss (MSE on the standardized target) after each epoch.
    validation_loss_curve_ : ndarray of shape (n_epochs,) or None
        Validation loss after each epoch, when ``validation_fraction`` is set.
    target_mean_ : float
        Mean of the training targets.
    target_scale_ : float
        Standard deviation of the training targets.
    device_ : str
        The device used.
    n_features_in_ : int
        Number of input columns.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen in :meth:`fit`, when ``X`` has string column
        names.

    See Also
    --------
    RandomCoulombExpander : Produces the views this network trains on.
    sklearn.neural_network.MLPRegressor : scikit-learn's own perceptron.

    References
    ----------
    .. [1] G. Montavon, K. Hansen, S. Fazli, M. Rupp, F. Biegler, A. Ziehe,
       A. Tkatchenko, O. A. von Lilienfeld and K.-R. Müller, "Learning
       invariant representations of molecules for atomization energy
       prediction", NIPS 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x import SigmoidMLPRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(200, 4))
    >>> y = X @ [1.0, -2.0, 0.5, 0.0]
    >>> mlp = SigmoidMLPRegressor(hidden_layer_sizes=(32,), base_learning_rate=1.0,
    ...                           n_draws=1, max_epochs=60, device="cpu",
    ...                           random_state=0).fit(X, y)
    >>> bool(mlp.score(X, y) > 0.9)
    True
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [tuple, list],
        "base_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "solver": [StrOptions({"sgd", "adam"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_draws": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "device": [StrOptions({"auto", "cpu", "cuda"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(400, 100),
        base_learning_rate=0.01,
        momentum=0.9,
        solver="sgd",
        max_epochs=80,
        batch_size=25,
        n_draws=DEFAULT_N_DRAWS,
        validation_fraction=None,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.base_learning_rate = base_learning_rate
        self.momentum = momentum
        self.solver = solver
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.n_draws = n_draws
        self.validation_fraction = validation_fraction
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the network.

        Parameters
        ----------
        X : array-like of shape (n_molecules, n_draws * n_view_features)
            Features, ``n_draws`` equal-width views per row.
        y : array-like of shape (n_molecules,)
            Targets (atomization energies in eV).

        Returns
        -------
        self : object
            The fitted regressor.
        """
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float32)
        if any(int(units) < 1 for units in self.hidden_layer_sizes):
            raise ValueError(
                f"hidden_layer_sizes must be positive, got {self.hidden_layer_sizes}."
            )
        views = self._views(X)
        # torch and skorch are hard dependencies, imported here so that
        # `import skqm7x` stays light for users who only load data.
        import skorch
        import torch

        from skqm7x.models._torch_mlp import (
            EpochProgressBar,
            NewViewsEachEpoch,
            SigmoidMLP,
            ViewDataset,
            flush_denormals,
        )

        self.device_ = resolve_device(self.device)
        self.target_mean_ = float(np.mean(y))
        self.target_scale_ = float(np.std(y)) or 1.0
        y_scaled = ((y - self.target_mean_) / self.target_scale_).astype(np.float32)

        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        dataset = ViewDataset(views, y_scaled[:, None], seed)
        sizes = [views.shape[2], *map(int, self.hidden_layer_sizes)]
        # Montavon et al.: a layer with m inputs learns at gamma_0 / sqrt(m).
        param_groups = [
            (f"layers.{i}.*", {"lr": self.base_learning_rate / np.sqrt(fan_in)})
            for i, fan_in in enumerate(sizes)
        ]
        train_split = None
        if self.validation_fraction is not None:
            train_split = skorch.dataset.ValidSplit(
                self.validation_fraction, stratified=False, random_state=seed
            )
        callbacks = [("new_views", NewViewsEachEpoch(dataset))]
        if self.verbose == 1:
            callbacks.append(("progress", EpochProgressBar()))
        if self.solver == "sgd":
            optimizer = {
                "optimizer": torch.optim.SGD,
                "optimizer__momentum": self.momentum,
            }
        else:
            optimizer = {"optimizer": torch.optim.Adam}
        devices = [torch.device(self.device_)] if self.device_ != "cpu" else []
        with torch.random.fork_rng(devices=devices), flush_denormals():
            torch.manual_seed(seed)
            self.net_ = skorch.NeuralNetRegressor(
                SigmoidMLP,
                module__sizes=sizes,
                criterion=torch.nn.MSELoss,
                optimizer__param_groups=param_groups,
                **optimizer,
                lr=self.base_learning_rate,
                max_epochs=self.max_epochs,
                batch_size=self.batch_size,
                iterator_train__shuffle=True,
                train_split=train_split,
                callbacks=callbacks,
                device=self.device_,
                verbose=int(self.verbose >= 2),
            )
            self.net_.fit(dataset, y=None)
        history = self.net_.history
        self.loss_curve_ = np.array(history[:, "train_loss"])
        self.validation_loss_curve_ = (
            np.array(history[:, "valid_loss"]) if train_split is not None else None
        )
        if not np.all(np.isfinite(self.loss_curve_)):
            raise ValueError(
                "Training diverged (non-finite loss); lower base_learning_rate."
            )
        return self

    def predict(self, X):
        """Predict, averaging the network's output over the views of each row.

        Parameters
        ----------
        X : array-like of shape (n_molecules, n_draws * n_view_features)
            Features, as in :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_molecules,)
            Predicted targets.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        from skqm7x.models._torch_mlp import flush_denormals

        views = self._views(X)
        flat = views.reshape(-1, views.shape[2])
        with flush_denormals():
            outputs = np.concatenate(
                [
                    self.net_.predict(flat[start : start + _PREDICT_BATCH])
                    for start in range(0, len(flat), _PREDICT_BATCH)
                ]
            )
        mean_output = outputs.reshape(len(X), self.n_draws).mean(axis=1)
        return mean_output.astype(np.float64) * self.target_scale_ + self.target_mean_

    def _views(self, X):
        if X.shape[1] % self.n_draws:
            raise ValueError(
                f"n_draws={self.n_draws} must divide the number of features, got "
                f"n_features = {X.shape[1]}; match RandomCoulombExpander(n_draws=...)"
                " or use n_draws=1 for ordinary features."
            )
        # torch warns on (and must not write to) read-only arrays.
        X = X if X.flags.writeable else X.copy()
        return X.reshape(len(X), self.n_draws, -1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
