"""MPS/LP reading: data of good files, errors for bad ones naming the file and the entry."""
import pytest

import optkit as ok
from optkit.errors import DataError, ReadError, UnsupportedProblemError


def test_sizes_and_classes(mps_dir):
    p = ok.read(mps_dir / "afiro.mps")
    assert (p.form.n, p.form.m, p.problem_class) == (32, 27, "lp")
    assert ok.read(mps_dir / "qjh.mps").problem_class == "qp"
    assert ok.read(mps_dir / "lseu.mps").problem_class == "milp"


@pytest.mark.parametrize("name,entry", [("nan0.mps", "P1/INCOME"), ("nan1.mps", "P2/FINISHNG"),
                                        ("nan2.mps", "RESOURCES/ASSEMBLY")])
def test_nan_files_name_file_and_entry(mps_dir, name, entry):
    with pytest.raises(DataError) as err:
        ok.read(mps_dir / name)
    assert name in str(err.value) and entry in str(err.value) and "nan" in str(err.value)


def test_garbage_and_missing_files(mps_dir, tmp_path):
    with pytest.raises(ReadError, match="garbage.mps"):
        ok.read(mps_dir / "garbage.mps")
    with pytest.raises(ReadError, match="no such file"):
        ok.read(tmp_path / "missing.mps")


def test_quadratic_constraints_unsupported(mps_dir):
    with pytest.raises(UnsupportedProblemError, match="qcqp.lp.*unsupported"):
        ok.read(mps_dir / "qcqp.lp")
