"""Problem libraries: Instance/SimpleLibrary protocol, folder:PATH loader with manifest, discovery."""
from __future__ import annotations

import csv
import pickle

import numpy as np
import pytest

import optkit as ok
from optkit.errors import InvalidProblemError, ReadError
from optkit.problems_api import (FolderLibrary, Instance, InstanceSet, SimpleLibrary,
                                 UnknownLibraryError, instance_key, load)


def _lp(c):
    return lambda: ok.LinearProblem(c=np.array(c, float), A=np.ones((1, len(c))), rl=[1.0],
                                    ru=[np.inf], lb=np.zeros(len(c)), ub=np.full(len(c), np.inf))


def make(n=2):
    return [Instance(f"lp{k}", _lp([1.0 + k] * n), "lp", n, 1, known_objective=1.0 + k)
            for k in range(3)]


def test_simple_library_and_load_object():
    lib = SimpleLibrary("tiny", "three LPs", make)
    assert isinstance(lib, ok.problems.Library)
    s = load(lib, n=4)
    assert isinstance(s, InstanceSet) and s.names() == ["lp0", "lp1", "lp2"]
    assert s.params == {"n": 4} and s.spec == "tiny"
    res = ok.solve(s.get("lp2").build(), "highs")
    assert res.objective == pytest.approx(3.0)  # min 3·Σx s.t. Σx ≥ 1


def test_library_checks_names_and_expected():
    dup = SimpleLibrary("d", "", lambda: [Instance("a", _lp([1])), Instance("a", _lp([1]))])
    with pytest.raises(InvalidProblemError, match="duplicate instance name 'a'"):
        dup.instances()
    bad = SimpleLibrary("b", "", lambda: [Instance("a", _lp([1]), expected="solved")])
    with pytest.raises(InvalidProblemError, match="expected must be one of"):
        bad.instances()
    with pytest.raises(InvalidProblemError, match="must return Instance"):
        SimpleLibrary("c", "", lambda: ["x"]).instances()


def test_unknown_library_names_registered():
    with pytest.raises(UnknownLibraryError, match="unknown problem library 'nope'.*folder:PATH"):
        load("nope")
    assert "folder:PATH" in ok.problems.list()


def test_registered_libraries_listed():
    names = ok.problems.list()
    for n in ("hs-eq", "moo", "bilevel", "logistic", "pde-control"):
        assert n in names


def test_folder_library_reads_manifest(mps_dir):
    s = ok.problems.load(f"folder:{mps_dir}")
    with open(mps_dir / "manifest.csv") as fh:
        man = {r["name"]: r for r in csv.DictReader(fh)}
    assert set(s.names()) == set(man)  # every file in the manifest is found, nothing else
    afiro = s.get("afiro")
    assert afiro.problem_class == "lp" and (afiro.n, afiro.m) == (32, 27)
    assert afiro.known_objective == pytest.approx(-464.7531428571)
    assert s.get("garbage").expected == "read_error" and s.get("qcqp").expected == "unsupported"
    assert ok.solve(afiro.build(), "highs").objective == pytest.approx(-464.7531428571, rel=1e-9)
    with pytest.raises(ReadError):
        s.get("garbage").build()
    # builders pickle (needed by the Dask executor) and keys are content hashes
    clone = pickle.loads(pickle.dumps(afiro))
    assert instance_key(clone) == instance_key(afiro)
    assert instance_key(afiro) != instance_key(s.get("blending"))
    assert ok.problems.load(f"folder:{mps_dir}", names=["afiro", "chip"]).names() == ["afiro", "chip"]


def test_folder_without_manifest(tmp_path, mps_dir):
    (tmp_path / "a.mps").write_bytes((mps_dir / "afiro.mps").read_bytes())
    (tmp_path / "notes.txt").write_text("ignored")
    s = FolderLibrary(tmp_path).instances()
    assert [i.name for i in s] == ["a"] and s[0].expected == "optimal" and s[0].known_objective is None
    with pytest.raises(InvalidProblemError, match="is not a directory"):
        FolderLibrary(tmp_path / "missing").instances()
