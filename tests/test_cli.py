"""The command line (skqm7x submit / cv / models), end to end."""

import csv
import errno
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

import skqm7x
from skqm7x.__main__ import main
from tests.helpers import write_challenge_layout

SUBMIT = Path(__file__).parents[1] / "examples" / "submit.py"


@pytest.fixture(scope="module")
def small_data_dir(tmp_path_factory):
    """40 labelled and 8 test molecules in the challenge layout."""
    return write_challenge_layout(tmp_path_factory.mktemp("qm7x_small"))


def run(*args, script=None):
    command = [sys.executable, *([script] if script else ["-m", "skqm7x"])]
    return subprocess.run(
        [*command, *map(str, args)], capture_output=True, text=True, timeout=600
    )


def read_rows(path):
    with open(path) as file:
        return list(csv.reader(file))


def test_submit_writes_a_valid_csv(small_data_dir, tmp_path, capsys):
    out = tmp_path / "submission.csv"
    status = main(
        [
            "submit",
            "--data-dir",
            str(small_data_dir),
            "--model",
            "bob-krr",
            "--out",
            str(out),
            "--cv",
            "2",
            "--quiet",
        ]
    )
    stdout = capsys.readouterr().out
    assert status == 0
    assert "2-fold CV: RMSE" in stdout and "fit on all labelled" in stdout
    assert "2-fold CV over the" in stdout and "test-like molecules: RMSE" in stdout
    rows = read_rows(out)
    assert rows[0] == ["id", "energy"]
    assert [int(row[0]) for row in rows[1:]] == list(range(3793, 3801))
    assert all(-150 < float(row[1]) < 0 for row in rows[1:])


def test_submit_best_with_uncertainty(small_data_dir, tmp_path):
    out, std_out = tmp_path / "submission.csv", tmp_path / "std.csv"
    result = run(
        "submit",
        "--data-dir",
        small_data_dir,
        "--out",
        out,
        "--uncertainty",
        std_out,
        "--cv",
        2,
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert "2-fold CV: RMSE" in result.stdout
    rows = read_rows(out)
    assert rows[0] == ["id", "energy"]
    assert [int(row[0]) for row in rows[1:]] == list(range(3793, 3801))
    assert all(-150 < float(row[1]) < 0 for row in rows[1:])
    std_rows = read_rows(std_out)
    assert std_rows[0] == ["id", "std"]
    assert [row[0] for row in std_rows[1:]] == [row[0] for row in rows[1:]]
    assert all(0 < float(row[1]) < 10 for row in std_rows[1:])


def test_submit_without_data_dir_uses_the_shipped_set(tmp_path, capsys):
    out = tmp_path / "submission.csv"
    assert main(["submit", "--model", "reference", "--out", str(out)]) == 0
    assert "3792 labelled molecules, 947 to predict" in capsys.readouterr().out
    rows = read_rows(out)
    assert len(rows) == 948
    assert [int(row[0]) for row in rows[1:]] == list(range(3793, 4740))


def test_submit_reads_the_environment_variable(
    small_data_dir, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("SKQM7X_DATA", str(small_data_dir))
    out = tmp_path / "submission.csv"
    assert main(["submit", "--model", "reference", "--out", str(out)]) == 0
    assert "40 labelled molecules, 8 to predict" in capsys.readouterr().out
    assert len(read_rows(out)) == 9


def test_examples_submit_is_the_same_command(small_data_dir, tmp_path):
    out = tmp_path / "submission.csv"
    result = run(
        "--data-dir",
        small_data_dir,
        "--model",
        "reference",
        "--out",
        out,
        script=SUBMIT,
    )
    assert result.returncode == 0, result.stderr
    assert len(read_rows(out)) == 9
    help_text = run("--help", script=SUBMIT).stdout
    assert help_text.startswith("usage: skqm7x submit")
    for name in skqm7x.available_models():
        assert name in help_text
    assert "alias of the best measured pipeline" in help_text


def test_cv_prints_one_row_per_model(small_data_dir, capsys):
    status = main(
        [
            "cv",
            "reference",
            "coulomb-krr",
            "--data-dir",
            str(small_data_dir),
            "--folds",
            "3",
            "--quiet",
        ]
    )
    stdout = capsys.readouterr().out
    assert status == 0
    assert "40 labelled molecules, 3-fold CV" in stdout
    rows = {
        line.split()[0]: line.split()[1:]
        for line in stdout.splitlines()
        if line.split()[:1] in (["reference"], ["coulomb-krr"])
    }
    assert set(rows) == {"reference", "coulomb-krr"}
    rmse, mae, like_rmse, like_mae, largest = map(float, rows["coulomb-krr"][:5])
    assert 0 < mae <= rmse <= largest
    assert 0 < like_mae <= like_rmse <= largest
    assert rows["reference"][-2:] == ["-", "-"]  # no std, no coverage
    assert 0 <= float(rows["coulomb-krr"][-1]) <= 1
    assert "coulomb-krr: alpha=" in stdout  # the hyperparameters of each fold


@pytest.mark.parametrize(
    "name", sorted(set(skqm7x.available_models()) - {"best", "reference"})
)
def test_cv_runs_every_ready_made_model(
    name, small_data_dir, tmp_path, monkeypatch, capsys
):
    # Each model's own choices (a blend's weights, a search's parameters) are
    # printed per fold; the networks train 5 epochs to stay quick, and a cache
    # computes each molecule's features once for both folds.
    from skqm7x import recipes

    for constants in ("TUNED_COULOMB_MLP", "MONTAVON_MLP"):
        tuned = dict(getattr(recipes, constants))
        tuned["sigmoidmlpregressor__max_epochs"] = 5
        monkeypatch.setattr(recipes, constants, tuned)
    # 20 molecules: 10 to fit each fold, the fewest the command takes.
    args = ["cv", name, "--data-dir", str(small_data_dir), "--folds", "2"]
    args += ["--n-molecules", "20", "--cache-dir", str(tmp_path / "cache"), "--quiet"]
    assert main(args) == 0
    stdout = capsys.readouterr().out
    row = next(line for line in stdout.splitlines() if line.startswith(name + " "))
    assert np.isfinite(float(row.split()[1]))
    assert f"{name}: fit seconds per fold" in stdout


def test_cv_matches_scikit_learn(capsys):
    from sklearn.model_selection import KFold, cross_val_predict

    assert main(["cv", "reference", "--folds", "4", "--random-state", "3"]) == 0
    row = next(
        line for line in capsys.readouterr().out.splitlines() if line.startswith("ref")
    )
    train = skqm7x.load_qm7x()
    model = skqm7x.make_model("reference").set_params(handle_unknown="ignore")
    folds = KFold(4, shuffle=True, random_state=3)
    errors = cross_val_predict(model, train.data, train.target, cv=folds) - train.target
    assert float(row.split()[1]) == pytest.approx(np.sqrt(np.mean(errors**2)), 1e-3)
    assert float(row.split()[2]) == pytest.approx(np.mean(np.abs(errors)), 1e-3)
    like = skqm7x.molecules_like(train.data, skqm7x.load_qm7x(subset="test").data)
    assert float(row.split()[3]) == pytest.approx(
        np.sqrt(np.mean(errors[like] ** 2)), 1e-3
    )
    assert float(row.split()[4]) == pytest.approx(np.mean(np.abs(errors[like])), 1e-3)


def test_cv_set_changes_a_parameter_of_the_models(capsys):
    from sklearn.model_selection import KFold, cross_val_predict

    grid = {
        "gaussianprocesskernelridge__kernel": ["laplacian"],
        "gaussianprocesskernelridge__gamma": [1e-4],
        "gaussianprocesskernelridge__alpha": [1e-6],
    }
    args = ["cv", "coulomb-krr", "--folds", "2", "--n-molecules", "200", "--quiet"]
    assert main([*args, "--set", f"regressor__param_grid={json.dumps(grid)}"]) == 0
    stdout = capsys.readouterr().out
    assert f"set: regressor__param_grid={json.dumps(grid)}" in stdout
    row = next(line for line in stdout.splitlines() if line.startswith("coulomb"))
    train = skqm7x.load_qm7x()
    X, y = train.data[:200], train.target[:200]
    model = skqm7x.make_model("coulomb-krr").set_params(
        handle_unknown="ignore", regressor__param_grid=grid
    )
    errors = cross_val_predict(model, X, y, cv=KFold(2, shuffle=True, random_state=0))
    assert float(row.split()[1]) == pytest.approx(
        np.sqrt(np.mean((errors - y) ** 2)), 1e-3
    )


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "no_such_parameter=1",
            "--set no_such_parameter: reference: Invalid parameter",
        ),
        ("=1", "expected PARAM=VALUE, got '=1'"),
        ("handle_unknown", "expected PARAM=VALUE, got 'handle_unknown'"),
    ],
)
def test_cv_set_refuses_what_a_model_does_not_take(setting, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["cv", "reference", "--set", setting])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_cv_lists_the_worst_molecules_with_their_formulas(capsys):
    args = ["cv", "reference", "--folds", "2", "--n-molecules", "300", "--worst", "3"]
    assert main([*args, "--quiet"]) == 0
    stdout = capsys.readouterr().out
    assert "and the worst 3 molecules:" in stdout
    worst = [line for line in stdout.splitlines() if ": error " in line]
    assert len(worst) == 3
    sizes = [abs(float(line.split()[2])) for line in worst]
    assert sizes == sorted(sizes, reverse=True)
    assert all(line.rstrip().endswith(")") and "(C" in line for line in worst)


def test_cv_without_test_molecules_says_so(small_data_dir, tmp_path, capsys):
    import shutil

    labelled_only = tmp_path / "labelled_only"
    shutil.copytree(small_data_dir, labelled_only)
    shutil.rmtree(labelled_only / "atoms" / "test")
    args = ["cv", "reference", "--data-dir", str(labelled_only), "--folds", "2"]
    assert main([*args, "--quiet"]) == 0
    stdout = capsys.readouterr().out
    assert "has no atoms/test: no test-like columns" in stdout
    row = next(line for line in stdout.splitlines() if line.startswith("reference"))
    assert row.split()[3:5] == ["-", "-"]
    assert "not test-like" not in stdout  # nothing to compare with


def test_models_lists_one_line_each():
    result = run("models")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(skqm7x.available_models())
    with_std = run("models", "--with-std").stdout.splitlines()
    assert [line.split()[0] for line in with_std] == list(
        skqm7x.available_models(with_std=True)
    )


@pytest.mark.parametrize(
    "command", [[], ["submit"], ["fit"], ["predict"], ["cv"], ["models"]]
)
def test_help_everywhere(command):
    result = run(*command, "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: skqm7x")


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "the following arguments are required: --out"),
        (["--cv", "1"], "argument --cv: needs K >= 2 folds, got 1"),
        (["--n-jobs", "0"], "argument --n-jobs: must be a positive number or -1"),
        (["--random-state", "-1"], "argument --random-state: must be between 0"),
        (["--model", "nope"], "argument --model: invalid choice: 'nope'"),
        (
            ["--data-dir", "{tmp}/missing"],
            "argument --data-dir: {tmp}/missing: no such",
        ),
        (["--data-dir", "{tmp}"], "has no atoms/ folder"),
        (["--uncertainty", "{tmp}/s.csv", "--model", "reference"], "predicts no std"),
    ],
)
def test_usage_errors_exit_with_2(tmp_path, args, message, capsys):
    args = [arg.format(tmp=tmp_path) for arg in args]
    if "--out" not in message:
        args += ["--out", str(tmp_path / "out.csv")]
    with pytest.raises(SystemExit) as exit_info:
        main(["submit", *args])
    assert exit_info.value.code == 2
    assert message.format(tmp=tmp_path) in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


def test_a_model_runs_without_the_options_it_has_no_use_for(tmp_path, capsys):
    cache = tmp_path / "cache"
    command = ["cv", "reference", "coulomb-krr", "--n-molecules", "40", "--quiet"]
    assert main([*command, "--cache-dir", str(cache), "--n-jobs", "2"]) == 0
    assert "reference: runs without --cache-dir and --n-jobs, of no use to it" in (
        capsys.readouterr().out
    )
    assert any(cache.iterdir())  # coulomb-krr's


def test_a_cache_gives_the_same_submission(small_data_dir, tmp_path):
    # Each run a fresh process, as a user starts them: the GFN2-xTB
    # calculations, the atoms' features and the kernels from the cache give
    # the same file as without it, to the last digit.
    outputs = []
    for cache in (
        [],
        ["--cache-dir", tmp_path / "cache"],
        ["--cache-dir", tmp_path / "cache"],
    ):
        out = tmp_path / f"submission-{len(outputs)}.csv"
        result = run(
            "submit",
            "--model",
            "xtb-atoms-fchl-krr",
            "--data-dir",
            small_data_dir,
            "--out",
            out,
            "--quiet",
            *cache,
        )
        assert result.returncode == 0, result.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]


def test_bad_environment_variable_is_a_usage_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "skqm7x", "submit", "--out", tmp_path / "out.csv"],
        capture_output=True,
        text=True,
        env={"SKQM7X_DATA": str(tmp_path / "missing"), "PATH": ""},
    )
    assert result.returncode == 2
    assert f"{tmp_path}/missing: no such folder" in result.stderr


@pytest.mark.parametrize(
    "out, uncertainty, message",
    [
        ("{tmp}", None, "--out {tmp} is a folder"),
        ("", None, "--out: give a file name"),
        ("{tmp}/pipe", None, "--out {tmp}/pipe is not a regular file"),
        ("{tmp}/missing/out.csv", None, "no folder {tmp}/missing"),
        ("{tmp}/same.csv", "{tmp}/./same.csv", "--uncertainty and --out name the same"),
        ("{data}/energies/train.csv", None, "would overwrite an input"),
        ("{tmp}/out.csv", "{data}/atoms/test/id_3793.xyz", "overwrite an input"),
    ],
)
def test_outputs_are_checked_before_any_work(
    small_data_dir, tmp_path, out, uncertainty, message, capsys
):
    def fill(text):
        return text.format(tmp=tmp_path, data=small_data_dir)

    os.mkfifo(tmp_path / "pipe")  # never a device of the machine's own
    args = ["submit", "--data-dir", str(small_data_dir), "--out", fill(out)]
    if uncertainty:
        args += ["--uncertainty", fill(uncertainty), "--model", "coulomb-krr"]
    before = (small_data_dir / "energies" / "train.csv").read_bytes()
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert fill(message) in captured.err
    assert "load data" not in captured.out
    assert (small_data_dir / "energies" / "train.csv").read_bytes() == before


def test_a_full_disk_at_the_end_is_one_line(
    small_data_dir, tmp_path, monkeypatch, capsys
):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "o.csv"))

    monkeypatch.setattr(skqm7x, "write_submission", no_space)
    args = ["--data-dir", str(small_data_dir), "--model", "reference", "--quiet"]
    assert main(["submit", *args, "--out", str(tmp_path / "o.csv")]) == 1
    assert capsys.readouterr().err == (
        f"skqm7x submit: error: [Errno 28] No space left on device: "
        f"'{tmp_path / 'o.csv'}'\n"
    )


def test_failure_is_one_line_with_status_1(small_data_dir, tmp_path):
    broken = write_challenge_layout(tmp_path / "data")
    (broken / "atoms" / "test" / "id_9999.xyz").write_text("2\n\nH 0 0 0\n")
    out = tmp_path / "submission.csv"
    result = run("submit", "--data-dir", broken, "--out", out, "--quiet")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"skqm7x submit: error: {broken}/atoms/test/id_9999.xyz: line 1 announces "
        "2 atoms but the file has 1 atom lines."
    ]
    assert not out.exists()
    debug = run("submit", "--data-dir", broken, "--out", out, "--quiet", "--debug")
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_a_cache_others_can_write_is_one_line(small_data_dir, tmp_path, capsys):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    out = tmp_path / "out.csv"
    args = ["submit", "--data-dir", str(small_data_dir), "--out", str(out)]
    assert main([*args, "--model", "bob-krr", "--cache-dir", str(shared)]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [
        f"skqm7x submit: error: cache folder {shared} is writable by group or "
        f"others (mode 0o777): only its owner may write where skqm7x reads back "
        f"its work (chmod go-w {shared}, or give a private folder)"
    ]
    assert not out.exists()


def test_a_cache_inside_the_data_folder_is_a_usage_error(tmp_path, capsys):
    data = write_challenge_layout(tmp_path / "data")
    inside = data / "atoms" / "train"
    with pytest.raises(SystemExit) as exit:
        main(["cv", "reference", "--data-dir", str(data), "--cache-dir", str(inside)])
    assert exit.value.code == 2
    assert "is inside the data folder" in capsys.readouterr().err
    assert sorted(p.name for p in inside.iterdir() if not p.name.endswith(".xyz")) == []


def test_folder_without_labelled_molecules_is_one_line(tmp_path):
    data = write_challenge_layout(tmp_path / "data")
    for path in (data / "atoms" / "train").iterdir():
        path.unlink()
    result = run("submit", "--data-dir", data, "--out", tmp_path / "out.csv")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"skqm7x submit: error: {data}/atoms/train: no id_N.xyz file found."
    ]


def test_element_no_labelled_molecule_has_is_named_before_the_fit(tmp_path):
    # Test molecule 4034 has sulphur; the first 40 labelled molecules do not.
    data = write_challenge_layout(tmp_path / "data", test_ids=[3793, 4034])
    result = run("submit", "--data-dir", data, "--out", tmp_path / "out.csv", "--quiet")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"skqm7x submit: error: {data}/atoms/test/id_4034.xyz (molecule 4034) has "
        "S, which no labelled molecule has: the models learn each element's "
        "energy from the labelled molecules (1 of the 2 molecules have such "
        "elements)."
    ]
    assert "load data" in result.stdout and "fit on all" not in result.stdout


@pytest.mark.parametrize(
    "n_labelled, folds, message",
    [
        (5, 0, "5 labelled molecules; the models need at least 10"),
        (5, 2, "5 labelled molecules; the models need at least 10"),
        (15, 2, "--cv 2: 15 labelled molecules leave 7 to fit each fold"),
    ],
)
def test_too_few_molecules_for_the_folds(tmp_path, n_labelled, folds, message, capsys):
    data = write_challenge_layout(tmp_path, train_ids=range(1, n_labelled + 1))
    args = ["submit", "--data-dir", str(data), "--out", str(tmp_path / "out.csv")]
    assert main([*args, "--cv", str(folds)]) == 1
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["folder", "symlink loop"])
def test_unreadable_molecule_file_is_one_line(tmp_path, kind):
    data = write_challenge_layout(tmp_path / "data")
    path = data / "atoms" / "test" / "id_9999.xyz"
    if kind == "folder":
        path.mkdir()
    else:
        path.symlink_to(path)
    result = run("submit", "--data-dir", data, "--out", tmp_path / "out.csv", "--quiet")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("skqm7x submit: error: ") and "id_9999.xyz" in line


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")
def test_sigterm_cleans_up_like_ctrl_c(tmp_path):
    """No temporary cache, worker or resource tracker outlives a SIGTERM."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    marker = f"skqm7x-sigterm-{uuid.uuid4().hex}"
    process = subprocess.Popen(
        [sys.executable, "-m", "skqm7x", "cv", "mbtr-krr", "--n-molecules", "1000"]
        + ["--n-jobs", "2", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(temporary), "SKQM7X_TEST": marker},
    )

    def marked():
        processes = []
        for environ in Path("/proc").glob("[0-9]*/environ"):
            try:
                if marker.encode() in environ.read_bytes():
                    processes.append(int(environ.parent.name))
            except OSError:
                pass  # ended, or not ours to read
        return processes

    deadline = time.monotonic() + 120
    # Until the search's workers run and the model's temporary cache exists.
    while len(marked()) < 3 or not any(temporary.glob("skqm7x-mbtr-*")):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    assert stderr.strip().splitlines()[-1] == "skqm7x: terminated"
    assert list(temporary.glob("skqm7x-*")) == []
    deadline = time.monotonic() + 30
    while marked():
        assert time.monotonic() < deadline, f"still running: {marked()}"
        time.sleep(0.2)


def test_cv_names_each_blended_models_weight_and_choice(qm7x_train):
    from skqm7x.__main__ import _chosen_hyperparameters

    X, y = qm7x_train.data[:60], qm7x_train.target[:60]
    model = skqm7x.make_model("xtb-blend-krr").fit(X, y)
    blend = model.regressor_
    atoms, molecules = blend.estimators_[0], blend.estimators_[1][-1]
    assert _chosen_hyperparameters(model) == (
        f"atoms {blend.weights_[0]:.2f} (gamma={atoms.gamma_:.3g}, "
        f"alpha={atoms.alpha_:.3g}) + molecules {blend.weights_[1]:.2f} "
        f"(gamma={molecules.gamma_:.3g}, alpha={molecules.alpha_:.3g})"
    )


def test_out_dash_writes_the_csv_to_standard_output(small_data_dir, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "skqm7x", "submit", "--data-dir", str(small_data_dir)]
        + ["--model", "bob-krr", "--quiet", "--out", "-"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 0
    rows = result.stdout.splitlines()
    assert rows[0] == "id,energy" and len(rows) == 9
    assert "wrote 8 predictions" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no file named "-"


def test_out_to_redirected_standard_output_appends(small_data_dir, tmp_path):
    log = tmp_path / "log.txt"
    log.write_text("previous\n")
    inode = log.stat().st_ino
    with open(log, "a") as appended:
        result = subprocess.run(
            [sys.executable, "-m", "skqm7x", "submit", "--data-dir"]
            + [str(small_data_dir), "--model", "bob-krr", "--quiet"]
            + ["--out", "/dev/stdout"],
            stdout=appended,
            stderr=subprocess.PIPE,
            text=True,
            timeout=600,
        )
    assert result.returncode == 0, result.stderr
    assert log.stat().st_ino == inode  # written to, not replaced
    lines = log.read_text().splitlines()
    assert lines[:2] == ["previous", "id,energy"] and len(lines) == 10


def test_both_outputs_on_standard_output_is_a_usage_error(small_data_dir):
    result = run(
        "submit",
        "--data-dir",
        small_data_dir,
        "--model",
        "bob-krr",
        "--out",
        "-",
        "--uncertainty",
        "-",
    )
    assert result.returncode == 2
    assert "--uncertainty and --out both name standard output" in result.stderr
