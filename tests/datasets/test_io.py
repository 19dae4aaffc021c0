import csv
import os
import stat

import numpy as np
import pytest

from skqm7x import (
    DataFormatError,
    load_qm7x,
    read_xyz,
    unpack_molecules,
    write_submission,
)
from tests.helpers import write_challenge_layout

WATER = "3\nwater\nO 0.0 0.0 0.1173\nH 0.0 0.7572 -0.4692\nH 0.0 -0.7572 -0.4692\n"


def write(tmp_path, text, name="molecule.xyz"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_a_challenge_file(tmp_path):
    layout = write_challenge_layout(tmp_path, train_ids=[1], test_ids=[3793])
    path = layout / "atoms" / "train" / "id_1.xyz"
    assert path.read_text().splitlines()[2] == (
        "C        -2.14396100        0.47599400       -0.00343200"
    )
    Z, R = read_xyz(path)
    assert Z.tolist() == [6] * 7 + [1] * 10
    np.testing.assert_array_equal(R[0], [-2.143961, 0.475994, -0.003432])


def test_read_plain_xyz(tmp_path):
    Z, R = read_xyz(write(tmp_path, WATER))
    assert Z.tolist() == [8, 1, 1]
    np.testing.assert_allclose(R[1], [0.0, 0.7572, -0.4692])


def test_read_extended_xyz_with_other_columns(tmp_path):
    text = (
        "2\nProperties=id:I:1:pos:R:3:species:S:1 energy=-1.0\n"
        "0 0.0 0.0 0.0 H\n1 0.74 0.0 0.0 H\n"
    )
    Z, R = read_xyz(write(tmp_path, text))
    assert Z.tolist() == [1, 1]
    np.testing.assert_allclose(R[1], [0.74, 0, 0])


def test_read_any_element_and_atomic_numbers(tmp_path):
    Z, _ = read_xyz(write(tmp_path, "3\n\nOg 0 0 0\nfe 1 0 0\n79 2 0 0\n"))
    assert Z.tolist() == [118, 26, 79]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
        ("two\n\nH 0 0 0\n", "line 1: expected the number of atoms"),
        ("3\n\nH 0 0 0\nH 1 0 0\n", "line 1 announces 3 atoms but the file has 2"),
        ("1\n\nH 0 0 0\nH 1 0 0\n", "line 1 announces 1 atoms but the file has 2"),
        ("2\n\nH 0 0 0\nQq 1 0 0\n", "line 4: unknown element symbol 'Qq'"),
        ("2\n\nH 0 0 0\n\u00b2 1 0 0\n", "line 4: unknown element symbol '\u00b2'"),
        ("1_0\n\nH 0 0 0\n", "line 1: expected the number of atoms"),
        ("1001\n\nH 0 0 0\n", "line 1: 1001 atoms, more than the 1000"),
        ("2\n\nH 0 0 0\nH 1 zero 0\n", "line 4: coordinates must be numbers"),
        ("2\n\nH 0 0 0\nH 1 nan 0\n", "line 4: coordinates must be finite"),
        ("2\n\nH 0 0 0\nH 1 inf 0\n", "line 4: coordinates must be finite"),
        ("2\n\nH 0 0 0\nH 1 0\n", "line 4: expected an element and three"),
        ("2\n\nH 1 1 1\nH 1 1 1\n", "lines 3 and 4: the atoms share the same position"),
        ("1\nProperties=pos:R:3\n0 0 0\n", "line 2: the Properties line must name"),
        ("1\nProperties=species:S\nH 0 0 0\n", "line 2: malformed Properties"),
        ("1\nProperties=species:S:x\nH 0 0 0\n", "line 2: malformed Properties"),
    ],
)
def test_read_bad_file(tmp_path, text, message):
    path = write(tmp_path, text, "bad.xyz")
    with pytest.raises(DataFormatError, match=message) as error:
        read_xyz(path)
    assert str(path) in str(error.value)


def test_load_reads_the_labels_of_each_file(tmp_path):
    layout = write_challenge_layout(tmp_path, train_ids=[3, 1, 2], test_ids=[3793])
    labels = layout / "energies" / "train.csv"
    labels.write_text("id,energy\n2,-2.5\n3,-3.5\n1,-1.5\n")
    train = load_qm7x(layout)
    np.testing.assert_array_equal(train.ids, [1, 2, 3])
    np.testing.assert_array_equal(train.target, [-1.5, -2.5, -3.5])
    for row, filename in zip(train.data, train.filenames, strict=True):
        Z, R = unpack_molecules(row[None])
        expected_Z, expected_R = read_xyz(filename)
        np.testing.assert_array_equal(Z[0, : len(expected_Z)], expected_Z)
        np.testing.assert_array_equal(R[0, : len(expected_Z)], expected_R)
    assert load_qm7x(layout, "test").target is None


def test_load_test_shares_the_width_of_train(tmp_path):
    # ids 2 and 4 have 14 and 16 atoms, test ids 3793 and 3801 have 14 and 21.
    layout = write_challenge_layout(tmp_path / "a", train_ids=[2, 4], test_ids=[3801])
    assert load_qm7x(layout).data.shape == (2, 4 * 21)
    assert load_qm7x(layout, "test").data.shape == (1, 4 * 21)
    layout = write_challenge_layout(tmp_path / "b", train_ids=[2, 4], test_ids=[3793])
    assert load_qm7x(layout, "test").data.shape == (1, 4 * 16)


def test_load_reads_environment_variable(small_layout, monkeypatch):
    monkeypatch.setenv("SKQM7X_DATA", str(small_layout))
    assert load_qm7x().data.shape == (3, 12)
    monkeypatch.setenv("SKQM7X_DATA", "")
    assert load_qm7x().data.shape == (3792, 92)


@pytest.fixture
def small_layout(tmp_path):
    """A copy of the challenge layout with three labelled and one test molecule."""
    for subset in ("train", "test"):
        (tmp_path / "atoms" / subset).mkdir(parents=True)
    for i in (1, 2, 3):
        write(tmp_path / "atoms" / "train", WATER, f"id_{i}.xyz")
    write(tmp_path / "atoms" / "test", WATER, "id_4.xyz")
    (tmp_path / "energies").mkdir()
    (tmp_path / "energies" / "train.csv").write_text("id,energy\n1,-10\n2,-11\n3,-12\n")
    return tmp_path


def test_load_small_layout(small_layout):
    train = load_qm7x(small_layout)
    assert train.data.shape == (3, 12)
    np.testing.assert_array_equal(train.target, [-10, -11, -12])


def test_load_label_without_xyz(small_layout):
    (small_layout / "atoms" / "train" / "id_2.xyz").unlink()
    with pytest.raises(DataFormatError, match="train.csv: id 2 has no xyz file"):
        load_qm7x(small_layout)


def test_load_xyz_without_label(small_layout):
    write(small_layout / "atoms" / "train", WATER, "id_7.xyz")
    with pytest.raises(DataFormatError, match="id_7.xyz has no label"):
        load_qm7x(small_layout)


def test_load_duplicate_id(small_layout):
    labels = small_layout / "energies" / "train.csv"
    labels.write_text(labels.read_text() + "2,-13\n")
    with pytest.raises(DataFormatError, match="train.csv, line 5: duplicate id 2"):
        load_qm7x(small_layout)


@pytest.mark.parametrize(
    "row, message", [("4,abc", "line 5: expected 'id,energy'"), ("4,nan", "finite")]
)
def test_load_bad_label(small_layout, row, message):
    labels = small_layout / "energies" / "train.csv"
    labels.write_text(labels.read_text() + row + "\n")
    with pytest.raises(DataFormatError, match=message):
        load_qm7x(small_layout)


def test_load_molecule_larger_than_n_atoms_max(small_layout):
    with pytest.raises(
        DataFormatError, match="id_1.xyz has more atoms than n_atoms_max=2"
    ):
        load_qm7x(small_layout, n_atoms_max=2)


def test_load_bad_xyz_names_file(small_layout):
    write(small_layout / "atoms" / "test", "2\n\nH 0 0 0\n", "id_5.xyz")
    with pytest.raises(DataFormatError, match="id_5.xyz: line 1 announces 2 atoms"):
        load_qm7x(small_layout, "test")


def test_load_bad_subset(small_layout):
    with pytest.raises(ValueError, match="subset must be 'train' or 'test'"):
        load_qm7x(small_layout, "validation")


def test_write_submission(tmp_path):
    path = tmp_path / "submission.csv"
    write_submission(path, np.array([3793, 3794]), np.array([-70.123456789012, -80.0]))
    with open(path) as file:
        rows = list(csv.reader(file))
    assert rows == [["id", "energy"], ["3793", "-70.123456789012"], ["3794", "-80.0"]]
    assert os.listdir(tmp_path) == ["submission.csv"]


@pytest.mark.parametrize(
    "ids, energies, message",
    [
        ([1, 2], [1.0, np.nan], "molecule 2 is not finite"),
        ([1, 1], [1.0, 2.0], "ids must be unique"),
        ([1, 2], [1.0], "same length"),
        (["a", "b"], [1.0, 2.0], "ids must be whole numbers, got 'a'"),
        ([1.2, 1.7], [1.0, 2.0], "ids must be whole numbers, got 1.2"),
        (["007", "7"], [1.0, 2.0], "'007', '7' are all molecule 7"),
        ([1.0, np.nan], [1.0, 2.0], "ids must be whole numbers, got nan"),
    ],
)
def test_write_submission_leaves_no_partial_file(tmp_path, ids, energies, message):
    path = tmp_path / "submission.csv"
    path.write_text("previous\n")
    with pytest.raises(ValueError, match=message):
        write_submission(path, ids, energies)
    assert path.read_text() == "previous\n"
    assert os.listdir(tmp_path) == ["submission.csv"]


def test_progress_bar_only_when_verbose(small_layout, capsys):
    load_qm7x(small_layout)
    assert capsys.readouterr().err == ""
    load_qm7x(small_layout, verbose=True)
    assert "reading train molecules" in capsys.readouterr().err


def test_write_submission_takes_whole_numbers_in_any_form(tmp_path):
    path = tmp_path / "submission.csv"
    for ids in (["3793", "3794"], [3793.0, 3794.0], np.array([3793, 3794], np.int32)):
        write_submission(path, ids, [1.0, 2.0])
        assert [row[0] for row in csv.reader(path.open())] == ["id", "3793", "3794"]


def test_write_submission_keeps_the_mode_a_user_expects(tmp_path):
    path = tmp_path / "submission.csv"
    previous = os.umask(0o022)
    try:
        write_submission(path, [1], [1.0])
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # the umask's
        path.chmod(0o664)
        write_submission(path, [1], [2.0])
        assert stat.S_IMODE(path.stat().st_mode) == 0o664  # the replaced file's
        os.umask(0o077)
        write_submission(tmp_path / "private.csv", [1], [1.0])
        assert stat.S_IMODE((tmp_path / "private.csv").stat().st_mode) == 0o600
    finally:
        os.umask(previous)


def test_write_submission_through_a_symbolic_link(tmp_path):
    target = tmp_path / "target.csv"
    target.write_text("previous\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    write_submission(link, [1], [1.5])
    assert link.is_symlink()
    assert target.read_text() == "id,energy\n1,1.5\n"


@pytest.mark.parametrize("other", ["id_05.xyz", "id_\u0665.xyz", "id_+5.xyz"])
def test_one_spelling_per_id(small_layout, other):
    # id_05 beside id_5 would be two files for one molecule, and int() reads
    # an Arabic-Indic five as 5.
    write(small_layout / "atoms" / "train", WATER, other)
    with pytest.raises(
        DataFormatError, match="1 files are not named id_N.xyz"
    ) as error:
        load_qm7x(small_layout)
    assert other in str(error.value)


def test_misnamed_test_files_are_named_not_skipped(small_layout):
    for name in ("id_3793.XYZ", "mol_id_3794.xyz"):
        write(small_layout / "atoms" / "test", WATER, name)
    write(small_layout / "atoms" / "test", "", ".DS_Store")  # hidden: ignored
    with pytest.raises(
        DataFormatError, match="2 files are not named id_N.xyz .*: id_3793.XYZ, mol_"
    ):
        load_qm7x(small_layout, "test")


def test_an_implausible_atom_count_in_the_other_subset(small_layout):
    # The widths of both subsets come from both: one count line must not make
    # the other subset's array huge.
    write(small_layout / "atoms" / "test", "1000000000\n\nH 0 0 0\n", "id_5.xyz")
    with pytest.raises(
        DataFormatError, match=r"id_5.xyz, line 1: 1000000000 atoms, mo"
    ):
        load_qm7x(small_layout)
    write(small_layout / "atoms" / "test", "500\n\nH 0 0 0\n", "id_5.xyz")
    with pytest.raises(DataFormatError, match="id_5.xyz: line 1 announces 500 atoms"):
        load_qm7x(small_layout)


def test_byte_order_marks_are_not_text(small_layout):
    labels = small_layout / "energies" / "train.csv"
    labels.write_bytes(b"\xef\xbb\xbf" + labels.read_bytes())
    path = small_layout / "atoms" / "train" / "id_1.xyz"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    train = load_qm7x(small_layout)
    np.testing.assert_array_equal(train.target, [-10, -11, -12])
    np.testing.assert_array_equal(train.data[0], train.data[1])


@pytest.mark.parametrize(
    "comment",
    [
        'Properties="species:S:1:pos:R:3"',
        "Properties='species:S:1:pos:R:3' energy=-1.0",
        'myProperties=id:I:1 pbc="F F F"',
        "made by hand (Properties=none)",
        "",
    ],
)
def test_extended_xyz_comment_lines(tmp_path, comment):
    Z, R = read_xyz(write(tmp_path, f"2\n{comment}\nH 0 0 0\nO 0.97 0 0\n"))
    assert Z.tolist() == [1, 8]
    np.testing.assert_array_equal(R[1], [0.97, 0, 0])


def test_atoms_too_far_apart_name_the_lines(tmp_path):
    path = write(tmp_path, "3\n\nO 0 0 0\nH 0.96 0 0\nH 1e6 0 0\n")
    with pytest.raises(DataFormatError, match="lines 3 and 5: the atoms are 1e.06 An"):
        read_xyz(path)


def test_write_submission_never_replaces_what_is_not_a_file(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(FileExistsError, match="not a regular file"):
        write_submission(fifo, [1], [1.0])
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(os.listdir(tmp_path)) == ["pipe"]


@pytest.mark.parametrize(
    "row, message",
    [
        ("4,-7_0.5", "line 5: expected 'id,energy'"),
        ("4," + "1" * 140_000, r"line 5: field larger than field limit"),
        ("99999999999999999999,-1", "line 5: id 99999999999999999999 is larger"),
    ],
    ids=["underscore", "huge field", "beyond int64"],
)
def test_load_labels_read_strictly(small_layout, row, message):
    labels = small_layout / "energies" / "train.csv"
    labels.write_text(labels.read_text() + row + "\n")
    with pytest.raises(DataFormatError, match=f"train.csv, {message}"):
        load_qm7x(small_layout)


def test_load_labels_that_are_not_utf8(small_layout):
    labels = small_layout / "energies" / "train.csv"
    labels.write_bytes(labels.read_bytes() + b"4,-1\xff\n")
    with pytest.raises(DataFormatError, match=r"train.csv, line 5: not UTF-8 text"):
        load_qm7x(small_layout)


def test_special_files_are_refused_unread(small_layout, tmp_path):
    import os
    import threading

    folder = small_layout / "atoms" / "test"
    pipe = folder / "id_8.xyz"
    os.mkfifo(pipe)
    # A pipe would block a plain open until a writer came: it must not.
    result = []
    reader = threading.Thread(
        target=lambda: result.append(_error(lambda: load_qm7x(small_layout, "test")))
    )
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "a named pipe blocked the loader"
    assert "id_8.xyz: not a regular file (a device, a pipe or a socket)" in result[0]
    pipe.unlink()
    (folder / "id_8.xyz").symlink_to("/dev/zero")
    with pytest.raises(DataFormatError, match="id_8.xyz: not a regular file"):
        load_qm7x(small_layout, "test")


def test_a_file_that_is_no_molecule_is_not_shown(small_layout, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password=hunter2\nmore\n")
    target = small_layout / "atoms" / "test" / "id_8.xyz"
    target.symlink_to(secret)
    with pytest.raises(DataFormatError) as error:
        load_qm7x(small_layout, "test")
    assert "hunter2" not in str(error.value)
    assert "id_8.xyz, line 1: expected the number of atoms" in str(error.value)


def test_a_huge_file_is_not_read_whole(small_layout):
    from skqm7x.datasets._xyz import MAX_FILE_BYTES

    huge = small_layout / "atoms" / "test" / "id_8.xyz"
    huge.write_bytes(b"1\n\n" + b" " * MAX_FILE_BYTES)
    with pytest.raises(DataFormatError, match="id_8.xyz: larger than 4 MiB"):
        load_qm7x(small_layout, "test")


def test_an_id_beyond_int64_is_refused_at_load(small_layout):
    name = "id_99999999999999999999.xyz"
    write(small_layout / "atoms" / "test", WATER, name)
    with pytest.raises(DataFormatError, match="larger than the largest id"):
        load_qm7x(small_layout, "test")


def _error(load):
    try:
        load()
    except DataFormatError as error:
        return str(error)
    return "no error"
