"""examples/submit.py, end to end, on a small copy of the challenge layout."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

import skqm7x

SUBMIT = Path(__file__).parents[1] / "examples" / "submit.py"


def link_small_layout(root, data_dir):
    """40 labelled and 8 test molecules, linked (not copied) from the real data."""
    for subset, ids in (("train", range(1, 41)), ("test", range(3793, 3801))):
        (root / "atoms" / subset).mkdir(parents=True)
        for i in ids:
            (root / "atoms" / subset / f"id_{i}.xyz").symlink_to(
                data_dir / "atoms" / subset / f"id_{i}.xyz"
            )
    (root / "energies").mkdir()
    lines = (data_dir / "energies" / "train.csv").read_text().splitlines()
    (root / "energies" / "train.csv").write_text("\n".join(lines[:41]) + "\n")
    return root


@pytest.fixture(scope="module")
def small_data_dir(data_dir, tmp_path_factory):
    return link_small_layout(tmp_path_factory.mktemp("qm7x_small"), data_dir)


def run_submit(*args):
    return subprocess.run(
        [sys.executable, str(SUBMIT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_submit_writes_a_valid_csv(small_data_dir, tmp_path):
    out = tmp_path / "submission.csv"
    result = run_submit(
        "--data-dir",
        small_data_dir,
        "--model",
        "coulomb-mlp",
        "--out",
        out,
        "--cv",
        2,
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert "2-fold CV: RMSE" in result.stdout
    assert "fit on all labelled" in result.stdout
    with open(out) as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["id", "energy"]
    assert [int(row[0]) for row in rows[1:]] == list(range(3793, 3801))
    energies = [float(row[1]) for row in rows[1:]]
    assert all(-150 < energy < 0 for energy in energies)


def test_submit_best_with_uncertainty(small_data_dir, tmp_path):
    out, std_out = tmp_path / "submission.csv", tmp_path / "std.csv"
    result = run_submit(
        "--data-dir",
        small_data_dir,
        "--model",
        "best",
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
    with open(out) as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["id", "energy"]
    assert [int(row[0]) for row in rows[1:]] == list(range(3793, 3801))
    assert all(-150 < float(row[1]) < 0 for row in rows[1:])
    with open(std_out) as file:
        std_rows = list(csv.reader(file))
    assert std_rows[0] == ["id", "std"]
    assert [row[0] for row in std_rows[1:]] == [row[0] for row in rows[1:]]
    assert all(0 < float(row[1]) < 10 for row in std_rows[1:])


def test_submit_uncertainty_needs_a_model_with_std(tmp_path):
    result = run_submit(
        "--model", "coulomb-mlp", "--uncertainty", tmp_path / "std.csv", "--quiet"
    )
    assert result.returncode == 2
    assert "predicts no std" in result.stderr


def test_submit_bad_data_dir_is_a_clean_error(tmp_path):
    out = tmp_path / "submission.csv"
    result = run_submit("--data-dir", tmp_path / "missing", "--out", out, "--quiet")
    assert result.returncode == 2
    assert "error:" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_submit_bad_molecule_leaves_no_csv(data_dir, tmp_path):
    broken = link_small_layout(tmp_path / "data", data_dir)
    (broken / "atoms" / "test" / "id_9999.xyz").write_text("2\n\nH 0 0 0\n")
    out = tmp_path / "submission.csv"
    result = run_submit("--data-dir", broken, "--out", out, "--quiet")
    assert result.returncode == 2
    assert "id_9999.xyz: line 1 announces 2 atoms" in result.stderr
    assert not out.exists()


def test_submit_lists_models():
    result = run_submit("--help")
    assert result.returncode == 0
    for name in skqm7x.available_models():
        assert name in result.stdout
    assert "alias of the best measured pipeline" in result.stdout
