"""Model files: what they record, and everything they refuse to load."""

import json
import os
import pickle
import zipfile

import numpy as np
import pytest
import sklearn
import skops.io
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import skqm7x
from skqm7x import (
    CoulombMatrixTransformer,
    ModelFileError,
    SigmoidMLPRegressor,
    load_model,
    read_model_info,
    save_model,
)


@pytest.fixture(scope="module")
def molecules(qm7x_train):
    return qm7x_train.data[:40], qm7x_train.target[:40]


@pytest.fixture
def saved(molecules, tmp_path):
    X, y = molecules
    model = skqm7x.make_model("reference").fit(X, y)
    path = tmp_path / "reference.skqm7x"
    save_model(model, path, training_molecules=X, name="reference")
    return model, path


def rewrite_info(path, versions=None, training_set=None):
    """The same archive with recorded versions, or the summary, changed."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    info = json.loads(members["skqm7x-model.json"])
    info["versions"].update(versions or {})
    if training_set is not None:
        info["training_set"] = training_set
    members["skqm7x-model.json"] = json.dumps(info).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_the_file_records_versions_name_and_training_set(saved, molecules):
    _, path = saved
    info = read_model_info(path)
    assert info["model"] == "reference"
    assert info["versions"]["skqm7x"] == skqm7x.__version__
    assert info["versions"]["scikit-learn"] == sklearn.__version__
    assert set(info["versions"]) == {
        "skqm7x", "scikit-learn", "numpy", "torch", "skops", "python"
    }  # fmt: skip
    X, _ = molecules
    largest = int((X[:, ::4] > 0).sum(axis=1).max())
    assert info["training_set"] == {
        "molecules": 40,
        "elements": ["H", "C", "N", "O"],
        "largest_molecule": largest,
        "atom_slots": X.shape[1] // 4,
    }


@pytest.mark.parametrize(
    "package, version", [("skqm7x", "0.2.0"), ("scikit-learn", "1.5.2")]
)
def test_another_version_is_refused_naming_both(saved, package, version):
    _, path = saved
    rewrite_info(path, {package: version})
    running = skqm7x.__version__ if package == "skqm7x" else sklearn.__version__
    with pytest.raises(ModelFileError, match=f"{package} {version}.*{running}"):
        load_model(path)


def test_the_summary_alone_checks_versions_when_asked(saved):
    _, path = saved
    rewrite_info(path, {"skqm7x": "0.2.0"})
    assert read_model_info(path)["versions"]["skqm7x"] == "0.2.0"
    with pytest.raises(ModelFileError, match="skqm7x 0.2.0"):
        read_model_info(path, check_versions=True)


def test_a_patch_release_is_accepted(saved):
    model, path = saved
    major, minor, *_ = sklearn.__version__.split(".")
    rewrite_info(path, {"scikit-learn": f"{major}.{minor}.99"})
    assert type(load_model(path)) is type(model)


def test_a_file_holding_a_function_that_runs_code_is_refused(molecules, tmp_path):
    """os.system as a pipeline's step: skops names it, and nothing runs."""
    X, y = molecules
    model = make_pipeline(FunctionTransformer(os.system), Ridge())
    model.steps[-1] = ("ridge", Ridge().fit(X, y))
    path = tmp_path / "planted.skqm7x"
    save_model(model, path, training_molecules=X)
    with pytest.raises(ModelFileError, match=r"system.*skqm7x, scikit-learn"):
        load_model(path)


def test_no_trusted_type_is_a_cache_or_the_command_line():
    import skqm7x.models._torch_mlp  # noqa: F401  (its classes are torch's)

    trusted = skqm7x.models._model_file.trusted_types()
    assert not [name for name in trusted if "_torch_mlp" in name]
    assert "skqm7x.models._local_kernel_ridge.LocalKernelRidge" in trusted
    assert "sklearn.model_selection._split.KFold" in trusted
    assert not [name for name in trusted if name.startswith("skqm7x._utils")]
    assert not [name for name in trusted if name.startswith(("torch", "skorch"))]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a model", "not a zip archive"),
        (None, "no skqm7x-model.json"),  # a skops file of our own, no summary
    ],
)
def test_what_is_no_model_file_is_refused(molecules, tmp_path, content, message):
    path = tmp_path / "model.skqm7x"
    if content is None:
        X, y = molecules
        skops.io.dump(Ridge().fit(X, y), path)
    else:
        path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


@pytest.mark.parametrize(
    "summary",
    [
        {"molecules": 40, "elements": ["Xx"], "largest_molecule": 5, "atom_slots": 5},
        {"molecules": 40, "elements": ["H"], "largest_molecule": 5},
        {"molecules": "40", "elements": ["H"], "largest_molecule": 5, "atom_slots": 5},
    ],
)
def test_a_summary_that_is_not_one_is_refused(saved, summary):
    _, path = saved
    rewrite_info(path, training_set=summary)
    with pytest.raises(ModelFileError, match="no valid training_set"):
        read_model_info(path)


def test_a_truncated_file_is_refused(saved):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="not a zip archive|damaged"):
        load_model(path)


def test_a_folder_or_a_missing_file_is_refused(tmp_path):
    with pytest.raises(ModelFileError, match="not a regular file"):
        load_model(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such model file"):
        load_model(tmp_path / "missing.skqm7x")


def test_a_model_file_carries_no_cache(molecules, tmp_path):
    X, y = molecules
    cache = tmp_path / "cache"
    model = skqm7x.make_model("fchl-krr", memory=cache).fit(X, y)
    path = tmp_path / "fchl.skqm7x"
    save_model(model, path, training_molecules=X)
    kept = model.regressor_.memory  # the model in this process keeps its own
    assert str(cache) in str(getattr(kept, "location", kept))
    loaded = load_model(path)
    assert loaded.regressor_.memory is None and loaded.regressor.memory is None
    assert str(cache) not in path.read_bytes().decode("latin-1")
    np.testing.assert_array_equal(loaded.predict(X[:5]), model.predict(X[:5]))


def test_n_jobs_and_verbose_are_the_loading_machines(molecules, tmp_path):
    X, y = molecules
    model = skqm7x.make_model("best", n_jobs=2, verbose=1).fit(X, y)
    path = tmp_path / "best.skqm7x"
    save_model(model, path, training_molecules=X)
    assert model.regressor_.named_estimators_["atoms"].n_jobs == 2  # kept here
    settings = {
        (name, value)
        for estimator in skqm7x.models._model_file._estimators_in(load_model(path))
        for name, value in estimator.get_params(deep=False).items()
        if name in ("n_jobs", "verbose", "memory")
    }
    assert settings == {("n_jobs", None), ("verbose", 0), ("memory", None)}
    loaded = load_model(path, n_jobs=3, verbose=1)
    parts = skqm7x.models._model_file._estimators_in(loaded)
    assert {part.n_jobs for part in parts if "n_jobs" in part.get_params()} == {3}
    np.testing.assert_array_equal(loaded.predict(X[:4]), model.predict(X[:4]))


def test_an_interrupted_write_leaves_nothing(saved, molecules, monkeypatch):
    model, path = saved
    before = path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(skops.io, "dump", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_model(model, path, training_molecules=molecules[0])
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_an_unfitted_model_is_refused(tmp_path, molecules):
    with pytest.raises(sklearn.exceptions.NotFittedError):
        save_model(
            skqm7x.make_model("reference"),
            tmp_path / "m",
            training_molecules=molecules[0],
        )


def test_the_mlp_keeps_its_weights_as_arrays(molecules, tmp_path):
    """A copy holds no skorch net, whose restoring would unpickle bytes."""
    X, y = molecules
    model = make_pipeline(
        CoulombMatrixTransformer(),
        SigmoidMLPRegressor(hidden_layer_sizes=(8,), max_epochs=3, random_state=0),
    ).fit(X, y - y.mean())
    mlp = model[-1]
    n_features = model[0].transform(X[:1]).shape[1]
    assert [coef.shape for coef in mlp.coefs_] == [(n_features, 8), (8, 1)]
    copied = pickle.loads(pickle.dumps(model))
    assert not hasattr(copied[-1], "net_") and hasattr(mlp, "net_")
    np.testing.assert_array_equal(copied.predict(X), model.predict(X))
    # The rebuilt network computes what skorch's own predict did, to float32's
    # rounding.
    views = model[0].transform(X).astype(np.float32)
    output = mlp.net_.predict(views)[:, 0].astype(np.float64)
    expected = output * mlp.target_scale_ + mlp.target_mean_
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-5, atol=1e-6)
    path = tmp_path / "mlp.skqm7x"
    save_model(model, path, training_molecules=X)
    np.testing.assert_array_equal(load_model(path).predict(X), model.predict(X))
