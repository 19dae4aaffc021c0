"""The challenge set shipped in the package: what it holds, and its file."""

import hashlib
import subprocess
import sys
import textwrap
import zipfile
from importlib import resources

import numpy as np
import pytest

from skqm7x import DataFormatError, load_qm7x
from skqm7x.datasets._shipped import SHIPPED_NAME, load_shipped, write_shipped
from tests.conftest import REFERENCE_DATA_DIR
from tests.helpers import write_challenge_layout

SHIPPED = resources.files("skqm7x.datasets") / "data" / SHIPPED_NAME

# sha256 of the arrays read from the original challenge folder (data, target,
# ids, in that order), recorded when the shipped file was built: the shipped
# set must give these bytes on every machine, folder or not.
CONTENT_SHA256 = {
    "train": "1b72b18cc0250d5ad10b0ebc32a6dd24fc89ce31d4dba4977064d0d597b58a82",
    "test": "3fcacdf04c933270cf275dafb4a304c9ba51b5d93e229f0edeec26dd31fef994",
}


def content_digest(bunch):
    digest = hashlib.sha256()
    for key in ("data", "target", "ids"):
        if bunch[key] is not None:
            digest.update(np.ascontiguousarray(bunch[key]).tobytes())
    return digest.hexdigest()


def assert_bit_identical(bunch, expected):
    for key in ("data", "target", "ids"):
        if expected[key] is None:
            assert bunch[key] is None, key
            continue
        assert bunch[key].dtype == expected[key].dtype, key
        assert bunch[key].shape == expected[key].shape, key
        # Bytes, not values: -0.0 == 0.0, but they are different numbers.
        assert bunch[key].tobytes() == expected[key].tobytes(), key


@pytest.mark.parametrize("subset", ["train", "test"])
def test_shipped_set_has_the_recorded_content(subset):
    assert content_digest(load_qm7x(subset=subset)) == CONTENT_SHA256[subset]


def test_shipped_set_is_the_challenge_set():
    train, test = load_qm7x(), load_qm7x(subset="test")
    assert train.data.shape == (3792, 4 * 23) and test.data.shape == (947, 4 * 23)
    np.testing.assert_array_equal(train.ids, np.arange(1, 3793))
    np.testing.assert_array_equal(test.ids, np.arange(3793, 4740))
    assert test.target is None
    assert train.target.min() == pytest.approx(-103.4, abs=0.05)
    assert train.target.max() == pytest.approx(-19.3, abs=0.05)
    assert train.filenames[:2] == ["atoms/train/id_1.xyz", "atoms/train/id_2.xyz"]
    Z = np.concatenate([train.data, test.data])[:, ::4]
    elements, counts = np.unique(Z[Z > 0], return_counts=True)
    assert elements.tolist() == [1, 6, 7, 8, 16, 17]
    assert counts[-1] == 3  # chlorine atoms, one in each of 3 molecules
    assert "CC BY 4.0" in train.DESCR and "Hoja" in train.DESCR


def test_shipped_set_equals_its_files_written_out(tmp_path):
    shipped = {subset: load_qm7x(subset=subset) for subset in ("train", "test")}
    layout = write_challenge_layout(tmp_path, shipped["train"].ids, shipped["test"].ids)
    for subset, expected in shipped.items():
        assert_bit_identical(load_qm7x(layout, subset), expected)


@pytest.mark.skipif(
    REFERENCE_DATA_DIR is None,
    reason="no challenge folder given by SKQM7X_DATA to compare the shipped set to",
)
@pytest.mark.parametrize("subset", ["train", "test"])
def test_shipped_set_equals_the_folder_given(subset):
    folder = load_qm7x(REFERENCE_DATA_DIR, subset)
    assert_bit_identical(load_qm7x(subset=subset), folder)
    assert content_digest(folder) == CONTENT_SHA256[subset]


def test_rebuilding_gives_the_shipped_archive(tmp_path):
    shipped = {subset: load_qm7x(subset=subset) for subset in ("train", "test")}
    rebuilt = tmp_path / SHIPPED_NAME
    write_shipped(rebuilt, shipped["train"], shipped["test"])
    first_bytes = rebuilt.read_bytes()
    write_shipped(rebuilt, shipped["train"], shipped["test"])
    assert rebuilt.read_bytes() == first_bytes  # no time stamps
    # Member by member rather than the compressed bytes, which may differ
    # between zlib builds.
    with zipfile.ZipFile(rebuilt) as new, SHIPPED.open("rb") as file:
        with zipfile.ZipFile(file) as old:
            assert new.namelist() == old.namelist()
            for name in old.namelist():
                assert new.read(name) == old.read(name), name


def test_n_atoms_max(tmp_path):
    wide = load_qm7x(subset="test", n_atoms_max=30)
    assert wide.data.shape == (947, 120)
    np.testing.assert_array_equal(wide.data[:, :92], load_qm7x(subset="test").data)
    assert not wide.data[:, 92:].any()
    with pytest.raises(DataFormatError, match=r"id_1\.xyz \(shipped\) has 17 atoms"):
        load_qm7x(n_atoms_max=16)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: data[:5000] + bytes([data[5000] ^ 0xFF]) + data[5001:],
        lambda data: b"",
    ],
    ids=["truncated", "flipped byte", "empty"],
)
def test_damaged_file_says_to_reinstall(tmp_path, damage):
    damaged = tmp_path / SHIPPED_NAME
    damaged.write_bytes(damage(SHIPPED.read_bytes()))
    with pytest.raises(DataFormatError, match="damaged .*; reinstall skqm7x"):
        load_shipped("train", path=damaged)


def test_missing_file_says_to_reinstall(tmp_path):
    with pytest.raises(DataFormatError, match="missing or damaged .*reinstall"):
        load_shipped("train", path=tmp_path / SHIPPED_NAME)


def test_archive_with_arrays_that_do_not_fit_says_to_reinstall(tmp_path):
    shipped = {subset: load_qm7x(subset=subset) for subset in ("train", "test")}
    shipped["train"].target = shipped["train"].target[:-1]
    archive = tmp_path / SHIPPED_NAME
    write_shipped(archive, shipped["train"], shipped["test"])
    with pytest.raises(DataFormatError, match="do not fit together"):
        load_shipped("test", path=archive)


def test_loading_writes_nothing(tmp_path):
    # An audit hook sees every file the process opens for writing, from the
    # import of skqm7x on (bytecode caches are Python's own, switched off).
    script = textwrap.dedent(
        """
        import os, sys
        written = []
        def audit(event, args):
            if event == "open":
                path, mode, flags = args
                if (isinstance(mode, str) and set(mode) & set("wax+")) or (
                    flags or 0) & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                    written.append(path)
            elif event in ("os.mkdir", "os.rename", "os.remove"):
                written.append(args[0])
        sys.addaudithook(audit)
        import skqm7x
        skqm7x.load_qm7x()
        skqm7x.load_qm7x(subset="test")
        print(written)
        """
    )
    result = subprocess.run(
        [sys.executable, "-B", "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert result.stdout.strip() == "[]"
