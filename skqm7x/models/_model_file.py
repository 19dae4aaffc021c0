"""Model files: a fitted model kept on disk, loaded without running code.

A model file is a skops archive (``skops.io``): arrays as ``.npy`` members
read without pickle, and a schema that names each object's type. Loading
builds only the types that skqm7x, scikit-learn and numpy define, so a file
from a stranger cannot run code; any other type is refused by name. Beside
the schema, the archive holds ``skqm7x-model.json``: the versions it was
written with, the model's name and a summary of its training molecules,
read and checked before the model itself.
"""

# SPDX-License-Identifier: BSD-3-Clause

import json
import os
import platform
import stat
import sys
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from skqm7x._molecules import ATOMIC_NUMBERS, element_symbol
from skqm7x._utils._atomic_file import atomic_open
from skqm7x._utils._docstrings import shared_parameters

FORMAT = "skqm7x model file"
FORMAT_VERSION = 1
INFO_MEMBER = "skqm7x-model.json"
# The summary is a few lines: a larger member is not this format's.
_MAX_INFO_BYTES = 2**20


class ModelFileError(ValueError):
    """A model file that cannot or must not be loaded; the message says why.

    Raised by :func:`load_model` for a file that is not a model file, is
    damaged, was written by another skqm7x or scikit-learn version, or holds
    a type that skqm7x does not load.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skqm7x import ModelFileError, load_model
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.skqm7x"
    >>> _ = path.write_text("not a model")
    >>> try:
    ...     load_model(path)
    ... except ModelFileError as error:
    ...     print(str(error).split(": ", 1)[1])
    not a skqm7x model file (not a zip archive).
    """


def save_model(model, path, *, training_molecules, name=None):
    """Write a fitted model to one file, atomically.

    The file records the skqm7x, scikit-learn, numpy, torch, skops and
    Python versions it was written with, the model's name and a summary of
    its training molecules (how many, their elements, the largest). It
    carries none of the settings of the machine that fitted the model:
    every ``memory`` of the model is written as ``None``, every ``n_jobs`` as
    ``None`` and every ``verbose`` as 0 (the model in this process keeps its
    own), since a cache folder belongs to the user and machine that made it,
    and the cores and the screen are the loading machine's
    (:func:`load_model` sets ``n_jobs`` and ``verbose``).

    Parameters
    ----------
    model : estimator
        A fitted model whose parts are types that skqm7x, scikit-learn and
        numpy define (every ready-made model is).
    path : str or os.PathLike
        The file to write (by convention ``.skqm7x``); it appears whole or
        not at all.
    training_molecules : array-like of shape (n_molecules, 4 * n_atoms_max)
        The packed molecules the model was fitted on, for the summary.
    name : str, default=None
        The model's name, such as a ready-made model's; ``None`` records its
        class name.

    Returns
    -------
    info : dict
        What the file records besides the model (as :func:`load_model`
        returns it).

    See Also
    --------
    load_model : Read a model file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skqm7x import load_qm7x, make_model, save_model, load_model
    >>> X, y = load_qm7x(return_X_y=True)
    >>> model = make_model("reference").fit(X[:100], y[:100])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "reference.skqm7x"
    >>> info = save_model(model, path, training_molecules=X[:100], name="reference")
    >>> info["training_set"]["elements"]
    ['H', 'C', 'N', 'O']
    >>> loaded = load_model(path)
    >>> bool((loaded.predict(X[100:105]) == model.predict(X[100:105])).all())
    True
    """
    check_is_fitted(model)
    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": name or type(model).__name__,
        "versions": _versions(),
        "training_set": training_summary(training_molecules),
    }
    import skops.io

    with _machine_settings_cleared(model), atomic_open(path, "w+b") as file:
        skops.io.dump(model, file)
        file.seek(0)
        with zipfile.ZipFile(file, "a") as archive:
            archive.writestr(INFO_MEMBER, json.dumps(info, indent=2))
    return info


@shared_parameters
def load_model(path, *, n_jobs=None, verbose=0, return_info=False):
    """Read a model file written by :func:`save_model`.

    Nothing in the file runs code: the model is rebuilt only from types that
    skqm7x, scikit-learn and numpy define, and a file holding any other type
    is refused, with the types named. Before the model is read, the file's
    versions are checked: it must come from this skqm7x and this
    scikit-learn (the same major and minor versions), whose types it holds.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.
    n_jobs : int, default=None
        {n_jobs}
        Set on every part of the model that takes it.
    verbose : int, default=0
        {verbose}
        Set on every part of the model that takes it.
    return_info : bool, default=False
        Also return what the file records besides the model.

    Returns
    -------
    model : estimator
        The fitted model, with no cache (``memory=None`` throughout) and the
        ``n_jobs`` and ``verbose`` given.
    info : dict
        If ``return_info``: ``format``, ``format_version``, ``model`` (its
        name), ``versions`` (those it was written with) and
        ``training_set`` (``molecules``, ``elements``, ``largest_molecule``
        in atoms, ``atom_slots``: the most atoms the model takes).

    Raises
    ------
    ModelFileError
        If the file is not a model file, is damaged, comes from another
        skqm7x or scikit-learn version, or holds an untrusted type.

    See Also
    --------
    save_model : Write a model file.
    read_model_info : The recorded information alone, without the model.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skqm7x import load_qm7x, make_model, save_model, load_model
    >>> X, y = load_qm7x(return_X_y=True)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "reference.skqm7x"
    >>> model = make_model("reference").fit(X, y)
    >>> _ = save_model(model, path, training_molecules=X, name="reference")
    >>> loaded, info = load_model(path, return_info=True)
    >>> info["model"], info["training_set"]["molecules"]
    ('reference', 3792)
    """
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    path = Path(path)
    with _open_regular(path) as file:
        info = _read_info(file, path)
        _check_versions(info, path)
        file.seek(0)
        try:
            model = skops.io.load(file, trusted=trusted_types())
        except UntrustedTypesFoundException as error:
            raise ModelFileError(
                f"{path}: holds types that skqm7x does not load ({error}); a model "
                "file is rebuilt only from types that skqm7x, scikit-learn and "
                "numpy define."
            ) from None
        except Exception as error:  # a damaged archive fails anywhere in skops
            raise ModelFileError(
                f"{path}: a damaged model file ({type(error).__name__}: {error})."
            ) from None
    for estimator in _estimators_in(model):
        params = estimator.get_params(deep=False)
        for name, value in (("n_jobs", n_jobs), ("verbose", verbose)):
            if name in params:
                setattr(estimator, name, value)
    return (model, info) if return_info else model


def read_model_info(path, *, check_versions=False):
    """What a model file records besides the model, without reading the model.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.
    check_versions : bool, default=False
        Refuse a file from another skqm7x or scikit-learn version, as
        :func:`load_model` does (to refuse it before other work). ``False``
        reads any version's file.

    Returns
    -------
    info : dict
        As :func:`load_model` returns it with ``return_info=True``.

    Raises
    ------
    ModelFileError
        If the file is not a model file, or, with ``check_versions``, comes
        from another version.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skqm7x import load_qm7x, make_model, save_model, read_model_info
    >>> X, y = load_qm7x(return_X_y=True)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "reference.skqm7x"
    >>> _ = save_model(make_model("reference").fit(X, y), path, training_molecules=X)
    >>> summary = read_model_info(path)["training_set"]
    >>> summary["molecules"], summary["elements"], summary["atom_slots"]
    (3792, ['H', 'C', 'N', 'O', 'S', 'Cl'], 23)
    """
    path = Path(path)
    with _open_regular(path) as file:
        info = _read_info(file, path)
    if check_versions:
        _check_versions(info, path)
    return info


def training_summary(X):
    """How many molecules, which elements, the largest, and the atom slots."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] % 4 or not len(X):
        raise ValueError(
            "training_molecules must be packed molecules, a 2D array with "
            f"4 * n_atoms_max columns (pack_molecules), got shape {X.shape}."
        )
    Z = X[:, ::4]
    return {
        "molecules": len(X),
        "elements": [element_symbol(z) for z in np.unique(Z[Z > 0])],
        "largest_molecule": int((Z > 0).sum(axis=1).max()),
        "atom_slots": X.shape[1] // 4,
    }


def _check_versions(info, path):
    """Refuse a file from another skqm7x or scikit-learn major.minor version."""
    import sklearn

    import skqm7x

    written = info["versions"]
    for package, running in (
        ("skqm7x", skqm7x.__version__),
        ("scikit-learn", sklearn.__version__),
    ):
        if _major_minor(written.get(package)) != _major_minor(running):
            raise ModelFileError(
                f"{path} was written with {package} {written.get(package)}, and "
                f"this is {package} {running}: a model file loads only in the "
                f"{package} version (major.minor) that wrote it. Fit the model "
                f"again here, or install {package} {written.get(package)}."
            )


# Where the base classes of a trusted skqm7x class may come from.
_TRUSTED_BASE_PACKAGES = {"skqm7x", "sklearn", "builtins", "abc", "numbers"}


def trusted_types():
    """The names of the types a model file may hold beyond skops' own.

    Every class that skqm7x defines outside its private utilities (the
    caches, which a model file never holds) and whose every base class is
    skqm7x's, scikit-learn's or Python's own, and scikit-learn's splitters,
    scorers, metrics and ``Bunch``, which searches keep. A class built on
    torch or skorch is never trusted, whether or not its module was
    imported: restoring a skorch net unpickles bytes.
    """
    import sklearn.metrics
    import sklearn.metrics._scorer
    import sklearn.model_selection

    names = set()
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith("skqm7x.") or module is None:
            continue
        if module_name.startswith(("skqm7x._utils", "skqm7x.__main__")):
            continue
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and value.__module__ == module_name
                and all(
                    base.__module__.split(".")[0] in _TRUSTED_BASE_PACKAGES
                    for base in value.__mro__
                )
            ):
                names.add(f"{module_name}.{value.__qualname__}")
    for namespace in (sklearn.metrics, sklearn.model_selection):
        for public in namespace.__all__:
            try:
                value = getattr(namespace, public)
            except ImportError:  # an experimental name, not enabled
                continue
            if callable(value):
                names.add(f"{value.__module__}.{value.__qualname__}")
    for value in vars(sklearn.metrics._scorer).values():
        if isinstance(value, type) and value.__module__ == "sklearn.metrics._scorer":
            names.add(f"sklearn.metrics._scorer.{value.__qualname__}")
    names.add("sklearn.utils._bunch.Bunch")
    return sorted(names)


def _versions():
    import sklearn
    import skops
    import torch

    import skqm7x

    return {
        "skqm7x": skqm7x.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "torch": torch.__version__,
        "skops": skops.__version__,
        "python": platform.python_version(),
    }


def _major_minor(version):
    return tuple(str(version).split(".")[:2])


@contextmanager
def _open_regular(path):
    """``path`` opened for reading, refused unless a regular file."""
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such model file.") from None
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        raise ModelFileError(f"{path}: not a regular file; not read.")
    with os.fdopen(handle, "rb") as file:
        yield file


def _read_info(file, path):
    try:
        archive = zipfile.ZipFile(file)
    except zipfile.BadZipFile:
        raise ModelFileError(
            f"{path}: not a skqm7x model file (not a zip archive)."
        ) from None
    try:
        member = archive.getinfo(INFO_MEMBER)
    except KeyError:
        raise ModelFileError(
            f"{path}: not a skqm7x model file (no {INFO_MEMBER})."
        ) from None
    if member.file_size > _MAX_INFO_BYTES:
        raise ModelFileError(f"{path}: {INFO_MEMBER} is too large for a summary.")
    try:
        info = json.loads(archive.read(member))
    except (ValueError, zipfile.BadZipFile, OSError) as error:
        raise ModelFileError(f"{path}: {INFO_MEMBER} is damaged ({error}).") from None
    if (
        not isinstance(info, dict)
        or info.get("format") != FORMAT
        or not isinstance(info.get("versions"), dict)
        or not isinstance(info.get("training_set"), dict)
    ):
        raise ModelFileError(f"{path}: not a skqm7x model file ({INFO_MEMBER}).")
    if info.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model file format {info.get('format_version')!r}; this "
            f"skqm7x reads format {FORMAT_VERSION}."
        )
    summary = info["training_set"]
    whole = {key: summary.get(key) for key in _WHOLE_NUMBERS}
    elements = summary.get("elements")
    if (
        not all(isinstance(value, int) and value >= 1 for value in whole.values())
        or not isinstance(elements, list)
        or not elements
        or not all(symbol in ATOMIC_NUMBERS for symbol in elements)
    ):
        raise ModelFileError(
            f"{path}: {INFO_MEMBER} has no valid training_set (molecules, "
            "elements, largest_molecule, atom_slots)."
        )
    return info


# The training_set entries that are counts.
_WHOLE_NUMBERS = ("molecules", "largest_molecule", "atom_slots")


# What a model file writes for the settings that belong to a machine.
_CLEARED_SETTINGS = {"memory": None, "n_jobs": None, "verbose": 0}


@contextmanager
def _machine_settings_cleared(model):
    """Every part of ``model`` without its machine's settings, for a while."""
    changed = []
    for estimator in _estimators_in(model):
        params = estimator.get_params(deep=False)
        for name, cleared in _CLEARED_SETTINGS.items():
            if name in params and params[name] is not cleared:
                changed.append((estimator, name, params[name]))
                setattr(estimator, name, cleared)
    try:
        yield
    finally:
        for estimator, name, value in changed:
            setattr(estimator, name, value)


def _estimators_in(model):
    """Every estimator reachable from ``model``: parameters, fitted parts."""
    found, seen = [], set()

    def visit(value):
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, BaseEstimator):
            found.append(value)
            for attribute in vars(value).values():
                visit(attribute)
        elif isinstance(value, list | tuple):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)

    visit(model)
    return found
