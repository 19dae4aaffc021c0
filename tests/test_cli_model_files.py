"""skqm7x fit and skqm7x predict: a model file written once, used later."""

import csv
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import skqm7x
from skqm7x.__main__ import main
from skqm7x._molecules import ELEMENT_SYMBOLS
from tests.helpers import write_challenge_layout


@pytest.fixture(scope="module")
def small_data_dir(tmp_path_factory):
    """40 labelled and 8 test molecules in the challenge layout."""
    return write_challenge_layout(tmp_path_factory.mktemp("qm7x_small"))


@pytest.fixture(scope="module")
def model_file(small_data_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "fchl.skqm7x"
    command = ["fit", "--data-dir", str(small_data_dir), "--model", "fchl-krr"]
    assert main([*command, "--out", str(path), "--quiet"]) == 0
    return path


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "skqm7x", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def rows(path):
    with open(path) as file:
        return list(csv.reader(file))


def xyz(Z, R):
    lines = [str(len(Z)), ""]
    lines += [
        f"{ELEMENT_SYMBOLS[z - 1]} {x} {y} {w}"
        for z, (x, y, w) in zip(Z, R, strict=True)
    ]
    return "\n".join(lines) + "\n"


def test_predict_in_a_new_process_is_submit(model_file, small_data_dir, tmp_path):
    predicted, submitted = tmp_path / "predicted.csv", tmp_path / "submitted.csv"
    result = run(
        "predict", model_file, small_data_dir / "atoms" / "test", "--out", predicted
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 8 predictions" in result.stdout
    command = ["submit", "--data-dir", str(small_data_dir), "--model", "fchl-krr"]
    assert main([*command, "--out", str(submitted), "--quiet"]) == 0
    assert predicted.read_bytes() == submitted.read_bytes()


def test_predict_with_uncertainty_to_standard_output(model_file, small_data_dir):
    test_folder = small_data_dir / "atoms" / "test"
    result = run("predict", model_file, test_folder, "--uncertainty", "--out", "-")
    assert result.returncode == 0, result.stderr
    table = list(csv.reader(result.stdout.splitlines()))
    assert table[0] == ["id", "energy", "std"]
    assert [row[0] for row in table[1:]] == [str(i) for i in range(3793, 3801)]
    assert all(float(row[2]) > 0 for row in table[1:])
    assert "wrote 8 predictions" in result.stderr


def test_a_model_file_of_another_version_is_refused_before_any_work(
    model_file, small_data_dir, tmp_path
):
    edited = tmp_path / "edited.skqm7x"
    with zipfile.ZipFile(model_file) as source, zipfile.ZipFile(edited, "w") as copy:
        for name in source.namelist():
            data = source.read(name)
            if name == "skqm7x-model.json":
                info = json.loads(data)
                info["versions"]["skqm7x"] = "0.9.0"
                data = json.dumps(info)
            copy.writestr(name, data)
    out = tmp_path / "out.csv"
    result = run("predict", edited, small_data_dir / "atoms" / "test", "--out", out)
    assert result.returncode == 1
    assert f"skqm7x 0.9.0, and this is skqm7x {skqm7x.__version__}" in result.stderr
    assert "read molecules" not in result.stdout and not out.exists()


def test_an_element_the_model_never_saw_is_refused(model_file, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "fluoromethane.xyz").write_text(
        xyz(
            [6, 9, 1, 1, 1],
            [
                [0, 0, 0],
                [1.38, 0, 0],
                [-0.4, 1, 0],
                [-0.4, -0.5, 0.9],
                [-0.4, -0.5, -0.9],
            ],
        )
    )
    out = tmp_path / "out.csv"
    command = ["predict", str(model_file), str(tmp_path / "in"), "--out", str(out)]
    assert main(command) == 1
    assert not out.exists()


def test_an_element_message_names_the_molecule_and_the_elements(
    model_file, tmp_path, capsys
):
    (tmp_path / "hf.xyz").write_text(xyz([9, 1], [[0, 0, 0], [0.92, 0, 0]]))
    main(
        [
            "predict",
            str(model_file),
            str(tmp_path / "hf.xyz"),
            "--out",
            str(tmp_path / "o.csv"),
        ]
    )
    output = capsys.readouterr()
    error = output.err
    assert "load model" not in output.out  # refused before the model is read
    assert "hf.xyz (molecule hf) has F, which the model in" in error
    assert "fitted on H, C, N, O" in error


def test_a_molecule_larger_than_the_model_takes_is_refused(
    model_file, tmp_path, capsys
):
    slots = skqm7x.read_model_info(model_file)["training_set"]["atom_slots"]
    n_atoms = slots + 1
    chain = [[1.5 * i, 0.0, 0.0] for i in range(n_atoms)]
    (tmp_path / "long.xyz").write_text(xyz([6] * n_atoms, chain))
    out = tmp_path / "out.csv"
    assert (
        main(
            ["predict", str(model_file), str(tmp_path / "long.xyz"), "--out", str(out)]
        )
        == 1
    )
    output = capsys.readouterr()
    error = output.err
    assert "load model" not in output.out
    assert f"has {n_atoms} atoms, and the model in" in error
    assert f"takes at most {slots}" in error and "no skqm7x model takes more" in error
    assert not out.exists()


def test_uncertainty_from_a_model_without_std_is_a_usage_error(
    small_data_dir, tmp_path, capsys
):
    path = tmp_path / "reference.skqm7x"
    command = ["fit", "--data-dir", str(small_data_dir), "--model", "reference"]
    assert main([*command, "--out", str(path), "--quiet"]) == 0
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "predict",
                str(path),
                str(small_data_dir / "atoms" / "test"),
                "--uncertainty",
                "--out",
                str(tmp_path / "o.csv"),
            ]
        )
    assert exit_info.value.code == 2
    assert "model 'reference' predicts no std" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command, message",
    [
        (
            ["predict", "{model}", "{test}", "--out", "{model}"],
            "would overwrite an input",
        ),
        (
            ["predict", "{model}", "{test}", "--out", "{test}"],
            "would overwrite an input",
        ),
        (["fit", "--out", "-"], "a model file goes to a file"),
        (
            ["fit", "--energies", "{tmp}/e.csv", "--out", "{tmp}/m"],
            "go with --molecules",
        ),
        (
            [
                "fit",
                "--molecules",
                "{test}",
                "--data-dir",
                "{data}",
                "--out",
                "{tmp}/m",
            ],
            "not both",
        ),
    ],
)
def test_usage_errors(command, message, model_file, small_data_dir, tmp_path, capsys):
    names = {
        "model": model_file,
        "test": small_data_dir / "atoms" / "test",
        "data": small_data_dir,
        "tmp": tmp_path,
    }
    with pytest.raises(SystemExit) as exit_info:
        main([part.format(**names) for part in command])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_fit_on_molecule_files_with_energies(small_data_dir, tmp_path):
    """The labels in each file's comment line, or in a CSV beside the files."""
    train = skqm7x.load_qm7x(small_data_dir)
    Z, R = skqm7x.unpack_molecules(train.data)
    frames = tmp_path / "labelled.xyz"
    with open(frames, "w") as file:
        for z, r, energy in zip(Z, R, train.target.tolist(), strict=True):
            lines = xyz(z[z > 0].astype(int), r[z > 0]).split("\n")
            lines[1] = f"energy={energy!r}"
            file.write("\n".join(lines))
    from_key, from_csv = tmp_path / "key.skqm7x", tmp_path / "csv.skqm7x"
    command = ["fit", "--model", "reference", "--molecules", str(frames), "--quiet"]
    assert main([*command, "--out", str(from_key)]) == 0
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "id,energy\n"
        + "".join(f"{i},{e!r}\n" for i, e in enumerate(train.target.tolist()))
    )
    assert main([*command, "--energies", str(labels), "--out", str(from_csv)]) == 0
    fitted = skqm7x.make_model("reference").fit(train.data, train.target)
    for path in (from_key, from_csv):
        model = skqm7x.load_model(path)
        np.testing.assert_allclose(
            model.predict(train.data), fitted.predict(train.data)
        )
    assert skqm7x.read_model_info(from_key)["training_set"]["molecules"] == 40


def test_molecules_replace_the_environments_data_folder(
    small_data_dir, tmp_path, monkeypatch, capsys
):
    """$SKQM7X_DATA is a default: --molecules replaces it, and says so."""
    monkeypatch.setenv("SKQM7X_DATA", str(small_data_dir))
    path = tmp_path / "reference.skqm7x"
    folder = small_data_dir / "atoms" / "train"
    labels = small_data_dir / "energies" / "train.csv"
    command = ["fit", "--model", "reference", "--molecules", str(folder)]
    assert main([*command, "--energies", str(labels), "--out", str(path)]) == 0
    assert "$SKQM7X_DATA is not read" in capsys.readouterr().out
    assert skqm7x.read_model_info(path)["training_set"]["molecules"] == 40
