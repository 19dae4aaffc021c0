"""A sigmoid multilayer perceptron trained with skorch (Montavon et al., 2012)."""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skqm7x._utils._device import resolve_device
from skqm7x._utils._docstrings import shared_parameters

# Rows per forward pass in predict: bounds memory whatever the input size.
_PREDICT_BATCH = 8192


@shared_parameters
class SigmoidMLPRegressor(RegressorMixin, BaseEstimator):
    """Multilayer perceptron with sigmoid hidden units, trained by SGD.

    The network of Montavon et al. (2012): two sigmoid hidden layers (400 and
    100 units by default) and a linear output, trained on the mean squared
    error (or, with ``loss="absolute_error"``, the mean absolute error) by SGD
    with momentum, each layer with learning rate
    ``base_learning_rate / sqrt(m)`` where ``m`` is its number of inputs. The
    target is standardized inside; computations run in float32 with skorch.

    Montavon et al.'s own training differs from these defaults in five
    parameters: ``activation="tanh"``, ``standardize_inputs=True``,
    ``fresh_draws=True``, ``warmup_steps`` and ``average_weights=True``, with
    plain SGD (``momentum=0``) for about a million steps;
    ``make_model("montavon-mlp")`` sets them.

    The network may see each molecule through several views: random Coulomb
    matrices, drawn by an ``expander`` such as :class:`RandomCoulombExpander`
    from the full Coulomb matrices in ``X``. Each epoch then shows every
    molecule through a new random choice among its views (data
    augmentation), and :meth:`predict` averages the network's output over all
    of them. The expander lives inside the regressor, rather than before it
    in a pipeline, so that the network always reads its rows as the views
    they are.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(400, 100)
        Units of each sigmoid hidden layer.
    base_learning_rate : float, default=0.01
        ``gamma_0``: a layer with ``m`` inputs learns at
        ``base_learning_rate / sqrt(m)``.
    activation : {"sigmoid", "tanh"}, default="sigmoid"
        The hidden units: the logistic sigmoid, or Montavon et al.'s
        ``1.5 * tanh(x / 1.5)``.
    momentum : float, default=0.9
        Momentum of SGD (ignored by Adam).
    solver : {"sgd", "adam"}, default="sgd"
        The optimizer: SGD with momentum, as in Montavon et al., or Adam
        (Kingma and Ba, 2015), which converges in far fewer epochs. Both use
        the per-layer learning rates above.
    loss : {"squared_error", "absolute_error"}, default="squared_error"
        What training minimizes on the standardized target: the mean squared
        error, whose minimizer is the conditional mean (and whose square
        root is the RMSE), or the mean absolute error, whose minimizer is the
        conditional median: it lowers the MAE rather than the RMSE, and a few
        molecules far off weigh less.
    alpha : float, default=0.0
        Strength of the L2 penalty on the weights (not the biases), as in
        :class:`sklearn.neural_network.MLPRegressor`: a batch of ``n`` views
        adds ``alpha / (2 n)`` times the sum of the squared weights to its
        training loss, which holds the weights small: a network that
        trains for many epochs may then fit its training molecules less
        closely and new ones better. 0 trains without a penalty.
    max_epochs : int, default=80
        Passes over the training molecules.
    batch_size : int, default=25
        Molecules per SGD step.
    warmup_steps : int, default=0
        The learning rate rises over the first ``warmup_steps`` SGD steps, in
        Montavon et al.'s stages: a tenth of each layer's rate for the first
        4 %, a quarter until 20 %, half until the end (their code: 12500
        steps). 0 trains at the full rate from the start.
    learning_rate_schedule : {"constant", "cosine"}, default="constant"
        After the warm-up, train at the full rate to the end, or lower it
        every epoch along half a cosine, from the full rate towards zero in
        the last epoch (Loshchilov and Hutter [2]_, without restarts), so
        that the final weights settle into a minimum.
    average_weights : bool, default=False
        Make the final network the running (Polyak) average of the weights
        after every SGD step past ``warmup_steps``, rather than the weights
        of the last step. The losses recorded during training are those of
        the weights of each step.
    standardize_inputs : bool, default=False
        Shift and scale each input column to zero mean and unit variance over
        the training views (constant columns are only shifted).
    expander : transformer or None, default=None
        Turns each row of ``X`` into ``n_draws`` views laid side by side, as
        ``RandomCoulombExpander(n_draws=...)`` does; a clone is fitted on the
        training molecules (``expander_``) and the number of views is its
        ``n_draws``. When its ``random_state`` is None, it is seeded from this
        regressor's. ``None`` reads ``X`` as it is.
    fresh_draws : bool, default=False
        Show each training molecule through a new random matrix on every pass
        (the expander's ``draw`` method; Montavon et al.'s protocol), rather
        than through a choice among its ``n_draws`` fixed views.
        :meth:`predict` averages over the expander's ``n_draws`` views either
        way. Needs an expander with a ``draw`` method, such as
        :class:`RandomCoulombExpander`.
    n_draws : int, default=1
        Views per molecule laid side by side in ``X`` itself (input that an
        expander outside this regressor has already expanded); must divide
        the number of columns. 1 reads ordinary features. With ``expander``
        it must stay 1: the expander's ``n_draws`` counts the views.
    validation_fraction : float, default=None
        Hold out this fraction of the training molecules to record a
        validation loss every epoch (in ``validation_loss_curve_``); they are
        not used for training. ``None`` trains on everything.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where torch computes; ``"auto"`` takes a CUDA GPU when one is visible.
    random_state : int, RandomState instance or None, default=None
        {random_state}
        It seeds the weights, the batches, the choice of views, the
        validation split, and the expander when its own ``random_state`` is
        None.
    verbose : int, default=0
        {verbose}
        The bar counts the epochs and shows the current losses; 2 or more
        prints skorch's table instead, one line per epoch.

    Attributes
    ----------
    coefs_ : list of ndarray of shape (n_inputs, n_outputs)
        The weights of each layer of the trained network (on standardized
        targets), float32, as in :class:`sklearn.neural_network.MLPRegressor`;
        :meth:`predict` computes from these and ``intercepts_``.
    intercepts_ : list of ndarray of shape (n_outputs,)
        The biases of each layer.
    net_ : skorch.NeuralNetRegressor
        The skorch net of the fit, with its optimizer and history. It stays in
        the process that fitted the model: a copy, a pickle or a model file
        (:func:`save_model`) keeps ``coefs_`` and ``intercepts_`` instead,
        because restoring a skorch net unpickles bytes, which can run code.
    loss_curve_ : ndarray of shape (n_epochs,)
        Training loss (``loss`` on the standardized target, plus the
        ``alpha`` penalty, as in scikit-learn) over each epoch.
    validation_loss_curve_ : ndarray of shape (n_epochs,) or None
        Validation loss after each epoch, when ``validation_fraction`` is set.
    target_mean_ : float
        Mean of the training targets.
    target_scale_ : float
        Standard deviation of the training targets.
    device_ : str
        The device used.
    expander_ : transformer or None
        The fitted clone of ``expander``.
    input_mean_ : ndarray of shape (n_view_features,) or None
        Mean of each input column over the training views, when
        ``standardize_inputs``.
    input_scale_ : ndarray of shape (n_view_features,) or None
        Standard deviation of each input column (1 where it is 0), when
        ``standardize_inputs``.
    n_draws_ : int
        Views per molecule.
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
    .. [2] I. Loshchilov and F. Hutter, "SGDR: Stochastic gradient descent with
       warm restarts", ICLR 2017.

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

    On molecules, with random Coulomb matrices drawn inside:

    >>> from sklearn.pipeline import make_pipeline
    >>> from skqm7x import CoulombMatrixTransformer, RandomCoulombExpander, load_qm7x
    >>> molecules = load_qm7x()
    >>> model = make_pipeline(
    ...     CoulombMatrixTransformer(),
    ...     SigmoidMLPRegressor(expander=RandomCoulombExpander(n_draws=4),
    ...                         max_epochs=2, device="cpu", random_state=0),
    ... ).fit(molecules.data[:100], molecules.target[:100])
    >>> model[-1].n_draws_
    4
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [tuple, list],
        "base_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "activation": [StrOptions({"sigmoid", "tanh"})],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "solver": [StrOptions({"sgd", "adam"})],
        "loss": [StrOptions({"squared_error", "absolute_error"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "warmup_steps": [Interval(Integral, 0, None, closed="left")],
        "learning_rate_schedule": [StrOptions({"constant", "cosine"})],
        "average_weights": ["boolean"],
        "standardize_inputs": ["boolean"],
        "expander": [HasMethods(["fit", "transform"]), None],
        "fresh_draws": ["boolean"],
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
        activation="sigmoid",
        momentum=0.9,
        solver="sgd",
        loss="squared_error",
        alpha=0.0,
        max_epochs=80,
        batch_size=25,
        warmup_steps=0,
        learning_rate_schedule="constant",
        average_weights=False,
        standardize_inputs=False,
        expander=None,
        fresh_draws=False,
        n_draws=1,
        validation_fraction=None,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.base_learning_rate = base_learning_rate
        self.activation = activation
        self.momentum = momentum
        self.solver = solver
        self.loss = loss
        self.alpha = alpha
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.warmup_steps = warmup_steps
        self.learning_rate_schedule = learning_rate_schedule
        self.average_weights = average_weights
        self.standardize_inputs = standardize_inputs
        self.expander = expander
        self.fresh_draws = fresh_draws
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
        X : array-like of shape (n_molecules, n_features)
            The expander's input (full Coulomb matrices for
            :class:`RandomCoulombExpander`), or features, ``n_draws``
            equal-width views per row.
        y : array-like of shape (n_molecules,)
            Targets (atomization energies in eV).

        Returns
        -------
        self : object
            The fitted regressor.
        """
        X, y = validate_data(self, X, y, y_numeric=True, dtype=self._input_dtype())
        if any(int(units) < 1 for units in self.hidden_layer_sizes):
            raise ValueError(
                f"hidden_layer_sizes must be positive, got {self.hidden_layer_sizes}."
            )
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        self.expander_, self.n_draws_ = self._fit_expander(X, seed)
        if self.fresh_draws and not hasattr(self.expander_, "draw"):
            raise ValueError(
                "fresh_draws=True draws a new view of each molecule on every "
                "pass, which needs an expander with a draw method, such as "
                "expander=RandomCoulombExpander(...)."
            )
        views = self._views(X)
        self.input_mean_ = self.input_scale_ = None
        if self.standardize_inputs:
            flat = views.reshape(-1, views.shape[2])
            self.input_mean_ = flat.mean(axis=0)
            scale = flat.std(axis=0)
            self.input_scale_ = np.where(scale > 0, scale, 1).astype(np.float32)
        # torch and skorch are hard dependencies, imported here so that
        # `import skqm7x` stays light for users who only load data.
        import skorch
        import torch

        from skqm7x.models._torch_mlp import (
            EpochProgressBar,
            FreshDrawDataset,
            LearningRateSchedule,
            NewViewsEachEpoch,
            PenalizedNeuralNetRegressor,
            SigmoidMLP,
            ViewDataset,
            WeightAverage,
            flush_denormals,
        )

        self.device_ = resolve_device(self.device)
        self.target_mean_ = float(np.mean(y))
        self.target_scale_ = float(np.std(y)) or 1.0
        y_scaled = ((y - self.target_mean_) / self.target_scale_).astype(np.float32)

        if self.fresh_draws:
            dataset = FreshDrawDataset(self.expander_, X, y_scaled[:, None], seed)
        else:
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
        cosine_epochs = (
            self.max_epochs if self.learning_rate_schedule == "cosine" else None
        )
        callbacks = [
            ("new_views", NewViewsEachEpoch(dataset)),
            ("learning_rate", LearningRateSchedule(self.warmup_steps, cosine_epochs)),
        ]
        if self.average_weights:
            callbacks.append(("average", WeightAverage(start=self.warmup_steps)))
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
            self.net_ = PenalizedNeuralNetRegressor(
                SigmoidMLP,
                alpha=self.alpha,
                module__sizes=sizes,
                module__activation=self.activation,
                module__input_mean=self.input_mean_,
                module__input_scale=self.input_scale_,
                criterion=(
                    torch.nn.MSELoss
                    if self.loss == "squared_error"
                    else torch.nn.L1Loss
                ),
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
        layers = self.net_.module_.layers
        self.coefs_ = [layer.weight.detach().cpu().numpy().T.copy() for layer in layers]
        self.intercepts_ = [
            layer.bias.detach().cpu().numpy().copy() for layer in layers
        ]
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
        X : array-like of shape (n_molecules, n_features)
            As in :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_molecules,)
            Predicted targets.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=self._input_dtype(), reset=False)
        import torch

        from skqm7x.models._torch_mlp import flush_denormals

        views = self._views(X)
        flat = views.reshape(-1, views.shape[2])
        network = self._network()
        device = network.layers[0].weight.device
        outputs = []
        with flush_denormals(), torch.no_grad():
            for start in range(0, len(flat), _PREDICT_BATCH):
                batch = torch.from_numpy(flat[start : start + _PREDICT_BATCH])
                outputs.append(network(batch.to(device)).cpu().numpy())
        outputs = np.concatenate(outputs)
        mean_output = outputs.reshape(len(X), self.n_draws_).mean(axis=1)
        return mean_output.astype(np.float64) * self.target_scale_ + self.target_mean_

    def _network(self):
        """The trained network, rebuilt from ``coefs_`` and ``intercepts_``."""
        import torch

        from skqm7x.models._torch_mlp import SigmoidMLP

        sizes = [len(coef) for coef in self.coefs_]
        network = SigmoidMLP(
            sizes, self.activation, self.input_mean_, self.input_scale_
        ).eval()
        with torch.no_grad():
            for layer, coef, intercept in zip(
                network.layers, self.coefs_, self.intercepts_, strict=True
            ):
                layer.weight.copy_(torch.from_numpy(coef.T))
                layer.bias.copy_(torch.from_numpy(intercept))
        device = self.device_ if self.device_ == "cpu" else resolve_device("auto")
        return network.to(device)

    def __getstate__(self):
        # A copy: scikit-learn's state may be the instance's own __dict__.
        state = dict(super().__getstate__())
        state.pop("net_", None)
        return state

    def _input_dtype(self):
        # An expander draws from the matrices as given; the network's float32
        # applies to its output.
        return [np.float64, np.float32] if self.expander is not None else np.float32

    def _fit_expander(self, X, seed):
        if self.expander is None:
            return None, self.n_draws
        if self.n_draws != 1:
            raise ValueError(
                f"n_draws={self.n_draws} counts views laid side by side in X, "
                "but with an expander each row of X is one molecule and the "
                "expander's n_draws counts the views; leave n_draws at 1."
            )
        n_draws = getattr(self.expander, "n_draws", None)
        if not isinstance(n_draws, Integral) or n_draws < 1:
            raise ValueError(
                f"expander={type(self.expander).__name__} has no n_draws, the "
                "number of views it lays side by side per row; use "
                "RandomCoulombExpander or a transformer with that parameter."
            )
        expander = clone(self.expander)
        if expander.get_params().get("random_state", "absent") is None:
            expander.set_params(random_state=seed)
        return expander.fit(X), int(n_draws)

    def _views(self, X):
        if self.expander_ is not None:
            X = self.expander_.transform(X).astype(np.float32)
        if X.shape[1] % self.n_draws_:
            raise ValueError(
                f"n_draws={self.n_draws_} must divide the number of features, got "
                f"n_features = {X.shape[1]}; pass the expander as "
                "expander=RandomCoulombExpander(...) or use n_draws=1 for "
                "ordinary features."
            )
        # torch warns on (and must not write to) read-only arrays.
        X = X if X.flags.writeable else X.copy()
        return X.reshape(len(X), self.n_draws_, -1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
