"""optkit's logger tree (optkit/log.py): names, verbose → level, records on the backend's child
logger, the handler attached only when none is configured, and the docs page's example."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest

import optkit as ok
from optkit.log import ROOT, backend_logger, get_logger, level_for, verbose_scope

DOC = Path(__file__).resolve().parents[1] / "docs" / "logging.md"


def _lp():
    # min x1 + 2 x2 s.t. x1 + x2 >= 1, 0 <= x <= 10: x = (1, 0), objective 1
    return ok.LinearProblem(c=[1.0, 2.0], A=[[1.0, 1.0]], rl=[1.0], ru=[np.inf], lb=0, ub=10)


def _optkit_records(caplog, below=logging.WARNING):
    return [r for r in caplog.records if r.name.startswith(ROOT) and r.levelno < below]


def test_logger_names_form_one_tree():
    assert get_logger().name == "optkit" and get_logger(None) is get_logger("optkit")
    assert get_logger("solvers.highs").name == "optkit.solvers.highs"
    assert get_logger("optkit.batch") is get_logger("batch")
    lg = backend_logger("highs")
    assert lg is get_logger("solvers.highs")
    assert lg.parent is not None and lg.parent.name in ("optkit.solvers", "optkit")


@pytest.mark.parametrize(("verbose", "level"), [
    (False, logging.WARNING), (None, logging.WARNING), (0, logging.WARNING),
    (True, logging.INFO), (1, logging.INFO), (2, logging.DEBUG), (3, logging.DEBUG)])
def test_verbose_maps_to_levels(verbose, level):
    assert level_for(verbose) == level


def test_verbose_true_logs_the_result_on_the_backend_logger(caplog):
    caplog.set_level(logging.DEBUG, logger="unrelated")  # the optkit tree keeps its own level
    res = ok.solve(_lp(), "highs", verbose=True)
    assert res.is_solved() and res.objective == pytest.approx(1.0, abs=1e-9)
    recs = _optkit_records(caplog)
    assert len(recs) == 1
    (rec,) = recs
    assert rec.name == "optkit.solvers.highs" and rec.levelno == logging.INFO
    assert re.match(r"OPTIMAL: objective 1, verified True, \d+ iterations, [0-9.e-]+ s$", rec.getMessage())


def test_verbose_false_emits_nothing_below_warning(caplog):
    res = ok.solve(_lp(), "highs")
    assert res.is_solved()
    assert _optkit_records(caplog) == []
    assert get_logger().level == logging.NOTSET  # the scope left no level behind


def test_verbose_2_adds_the_kkt_report_at_debug(caplog):
    ok.solve(_lp(), "highs", verbose=2)
    recs = _optkit_records(caplog)
    assert [r.levelno for r in recs][:2] == [logging.INFO, logging.DEBUG]
    assert recs[1].getMessage().startswith("KKT report: {") and "'kkt': 0.0" in recs[1].getMessage()


def test_sketch_newton_progress_goes_to_its_logger_not_stdout(caplog, capsys):
    # min x·x s.t. x1 + x2 = 1: x = (1/2, 1/2), f = 1/2 (exact Newton: one step from any start)
    nlp = ok.NLP([1.0, 0.0], lambda x: float(x @ x), lambda x: 2 * x,
                 lambda x: np.array([x[0] + x[1] - 1.0]), lambda x: np.array([[1.0, 1.0]]),
                 lambda x, y: 2.0 * np.eye(2))
    res = ok.solve(nlp, "exact-newton", verbose=True)
    assert res.objective == pytest.approx(0.5, abs=1e-8)
    recs = [r for r in _optkit_records(caplog) if r.name == "optkit.solvers.exact-newton"]
    assert len(recs) == res.iterations + 1  # one per iteration, then the result line
    assert "'iter': 1" in recs[0].getMessage()
    assert "iter" not in capsys.readouterr().out  # nothing printed


def test_handler_attached_only_when_none_is_configured(monkeypatch, capsys):
    root_logger = logging.getLogger()
    monkeypatch.setattr(root_logger, "handlers", [])  # a bare script: nothing configured
    opt = get_logger()
    assert opt.handlers == []
    with verbose_scope(True):
        assert len(opt.handlers) == 1 and opt.getEffectiveLevel() == logging.INFO
        backend_logger("demo").info("hello %d", 42)
        backend_logger("demo").debug("not shown at INFO")
    assert opt.handlers == [] and opt.level == logging.NOTSET
    err = capsys.readouterr().err
    assert err == "optkit.solvers.demo: hello 42\n"

    mine = logging.Handler()  # the application configured one: optkit adds none
    monkeypatch.setattr(root_logger, "handlers", [mine])
    with verbose_scope(2):
        assert opt.handlers == [] and opt.getEffectiveLevel() == logging.DEBUG
    with verbose_scope(False):
        assert opt.handlers == [] and opt.getEffectiveLevel() == logging.WARNING


def test_a_lower_level_set_by_the_application_stays():
    opt = get_logger()
    old = opt.level
    try:
        opt.setLevel(logging.DEBUG)
        with verbose_scope(True):
            assert opt.level == logging.DEBUG
        assert opt.level == logging.DEBUG
    finally:
        opt.setLevel(old)


def test_logging_doc_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert blocks, "docs/logging.md has no python example"
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {})
