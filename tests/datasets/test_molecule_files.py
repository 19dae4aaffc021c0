"""read_molecules: xyz files of one or many frames, folders, and what ASE reads."""

import sys

import ase
import ase.io
import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator

from skqm7x import DataFormatError, load_qm7x, read_molecules, unpack_molecules
from skqm7x._molecules import ELEMENT_SYMBOLS


def xyz_frame(Z, R, comment=""):
    lines = [str(len(Z)), comment]
    lines += [
        f"{ELEMENT_SYMBOLS[z - 1]} {x!r} {y!r} {w!r}"
        for z, (x, y, w) in zip(Z, R, strict=True)
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def shipped():
    """Five labelled molecules of the shipped set, as (Z, R) and energies."""
    train = load_qm7x()
    Z, R = unpack_molecules(train.data[:5])
    molecules = [
        (z[z > 0].astype(int), r[z > 0].tolist()) for z, r in zip(Z, R, strict=True)
    ]
    return molecules, train.target[:5].tolist(), train.data[:5]


def test_a_file_of_frames_gives_frame_numbers(shipped, tmp_path):
    molecules, energies, X = shipped
    path = tmp_path / "frames.xyz"
    path.write_text(
        "".join(
            xyz_frame(Z, R, f"energy={e!r} Properties=species:S:1:pos:R:3")
            for (Z, R), e in zip(molecules, energies, strict=True)
        )
    )
    read = read_molecules(path, energy_key="energy", n_atoms_max=X.shape[1] // 4)
    assert read.ids.tolist() == ["0", "1", "2", "3", "4"]
    np.testing.assert_array_equal(read.data, X)
    np.testing.assert_array_equal(read.target, energies)
    assert read.frames.tolist() == [0, 1, 2, 3, 4]
    assert read.filenames == [str(path)] * 5


def test_ids_from_names_and_frames_of_several_files(shipped, tmp_path):
    molecules, _, _ = shipped
    (tmp_path / "id_12.xyz").write_text(xyz_frame(*molecules[0]))
    (tmp_path / "ethanol.xyz").write_text(xyz_frame(*molecules[1]))
    (tmp_path / "traj.extxyz").write_text(
        xyz_frame(*molecules[2]) + xyz_frame(*molecules[3])
    )
    read = read_molecules(
        [tmp_path / "traj.extxyz", tmp_path / "ethanol.xyz", tmp_path / "id_12.xyz"]
    )
    assert read.ids.tolist() == ["traj:0", "traj:1", "ethanol", "12"]


def test_a_folder_reads_its_xyz_files_in_id_order(shipped, tmp_path):
    molecules, _, X = shipped
    for i, molecule in zip([10, 9, 100], molecules, strict=False):
        (tmp_path / f"id_{i}.xyz").write_text(xyz_frame(*molecule))
    (tmp_path / "b.xyz").write_text(xyz_frame(*molecules[3]))
    (tmp_path / ".hidden.swp").write_text("an editor's")
    read = read_molecules(tmp_path)
    assert read.ids.tolist() == ["9", "10", "100", "b"]
    np.testing.assert_array_equal(read.data[0], X[1, : read.data.shape[1]])


def test_a_folder_with_other_files_is_refused(shipped, tmp_path):
    (tmp_path / "id_1.xyz").write_text(xyz_frame(*shipped[0][0]))
    (tmp_path / "notes.txt").write_text("not a molecule")
    with pytest.raises(DataFormatError, match="1 entries are not xyz files.*notes"):
        read_molecules(tmp_path)


def test_two_molecules_with_one_id_are_refused(shipped, tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "water.xyz").write_text(xyz_frame(*shipped[0][0]))
    with pytest.raises(DataFormatError, match="both get the id 'water'"):
        read_molecules([tmp_path / "a", tmp_path / "b"])


def test_a_truncated_frame_names_its_line(shipped, tmp_path):
    path = tmp_path / "frames.xyz"
    frame = xyz_frame(*shipped[0][0])
    path.write_text(frame + frame.rsplit("\n", 3)[0] + "\n")
    n_lines = frame.count("\n")
    with pytest.raises(DataFormatError, match=f"line {n_lines + 1} announces"):
        read_molecules(path)


def test_a_missing_energy_names_its_line(shipped, tmp_path):
    path = tmp_path / "frames.xyz"
    path.write_text(
        xyz_frame(*shipped[0][0], "energy=-1.5") + xyz_frame(*shipped[0][1])
    )
    n_lines = len(shipped[0][0][0]) + 2
    with pytest.raises(DataFormatError, match=f"line {n_lines + 2}: no energy="):
        read_molecules(path, energy_key="energy")


def test_energies_from_a_csv_by_id(shipped, tmp_path):
    molecules, energies, _ = shipped
    for name, molecule in zip(["a", "b"], molecules, strict=False):
        (tmp_path / f"{name}.xyz").write_text(xyz_frame(*molecule))
    labels = tmp_path / "energies.csv"
    labels.write_text(f"id,energy\nb,{energies[1]!r}\na,{energies[0]!r}\n")
    read = read_molecules([tmp_path / "a.xyz", tmp_path / "b.xyz"], energies=labels)
    np.testing.assert_array_equal(read.target, energies[:2])
    labels.write_text(f"id,energy\na,{energies[0]!r}\n")
    with pytest.raises(DataFormatError, match=r"b.xyz has no label in .*energies.csv"):
        read_molecules([tmp_path / "a.xyz", tmp_path / "b.xyz"], energies=labels)
    labels.write_text("id,energy\na,1.0\nb,2.0\nc,3.0\n")
    with pytest.raises(DataFormatError, match="id 'c' has no molecule read"):
        read_molecules([tmp_path / "a.xyz", tmp_path / "b.xyz"], energies=labels)


def test_what_ase_reads_gives_the_same_molecules(shipped, tmp_path):
    """An ASE database file, energies from its stored calculator results."""
    molecules, energies, X = shipped
    frames = []
    for (Z, R), energy in zip(molecules, energies, strict=True):
        atoms = ase.Atoms(numbers=Z, positions=R)
        atoms.calc = SinglePointCalculator(atoms, energy=energy)
        frames.append(atoms)
    path = tmp_path / "molecules.json"
    ase.io.write(path, frames)
    read = read_molecules(path, energy_key="energy", n_atoms_max=X.shape[1] // 4)
    np.testing.assert_array_equal(read.data, X)
    np.testing.assert_array_equal(read.target, energies)
    assert read.ids.tolist() == ["0", "1", "2", "3", "4"]


def test_a_stored_energy_that_is_not_finite_is_named(tmp_path):
    atoms = ase.Atoms("H2", positions=[[0, 0, 0], [0.74, 0, 0]])
    atoms.calc = SinglePointCalculator(atoms, energy=float("nan"))
    path = tmp_path / "h2.json"
    ase.io.write(path, atoms)
    with pytest.raises(DataFormatError, match="frame 0: the energy must be a finite"):
        read_molecules(path, energy_key="energy")


def test_a_periodic_structure_is_refused(tmp_path):
    path = tmp_path / "crystal.json"
    ase.io.write(
        path,
        ase.Atoms("H2", positions=[[0, 0, 0], [0.74, 0, 0]], cell=[3, 3, 3], pbc=True),
    )
    with pytest.raises(DataFormatError, match="frame 0: a periodic structure"):
        read_molecules(path)


def test_a_file_ase_cannot_read_is_named(tmp_path):
    path = tmp_path / "broken.sdf"
    path.write_text("this is no SDF\n")
    with pytest.raises(DataFormatError, match="broken.sdf: ASE cannot read it"):
        read_molecules(path)


def test_without_ase_other_formats_say_what_is_needed(tmp_path, monkeypatch):
    path = tmp_path / "molecule.sdf"
    path.write_text("anything\n")
    monkeypatch.setitem(sys.modules, "ase.io", None)  # import fails
    with pytest.raises(DataFormatError, match=r"needs ASE \(pip install ase\)"):
        read_molecules(path)


def test_a_missing_path_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.xyz: no such file"):
        read_molecules(tmp_path / "missing.xyz")
