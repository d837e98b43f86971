"""The docs' generated blocks cannot drift from the code.

docs/results.md's status tables come from each backend's declared ``STATUS_MAP``; docs/backends.md's
declarations table, conformance exclusions/allowances and case list come from the registry and
from ``optkit.testing.conformance``. ``scripts/gen_status_tables.py`` writes them; these tests fail
when a page differs from what the code declares.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from optkit import registry
from optkit.testing import conformance, status_tables

ROOT = Path(__file__).resolve().parents[1]


def test_generated_blocks_match_the_code():
    stale = [p.relative_to(ROOT).as_posix() for p, text in status_tables.generated_pages(ROOT).items()
             if p.read_text() != text]
    assert not stale, f"{stale} differ from the code: run python scripts/gen_status_tables.py"


def test_every_declared_status_is_in_the_rendered_tables():
    text = status_tables.markdown()
    rendered = status_tables.tables()
    declared = {n: registry.get(n).STATUS_MAP for n in registry.names() if registry.get(n).STATUS_MAP}
    assert set(rendered) == set(declared) and declared, "backends with a status table"
    for name, table in declared.items():
        assert f"#### `{name}`" in text
        assert len(rendered[name]) == len(table)
        for (label, term), value in zip(rendered[name], table.values()):
            assert term == str(value)
            assert f"| `{status_tables._cell(label)}` | {value} |" in text


def test_results_page_holds_the_tables_between_the_markers():
    page = (ROOT / "docs" / "results.md").read_text()
    start, end = page.index(status_tables.START), page.index(status_tables.END)
    block = page[start + len(status_tables.START):end].strip()
    assert block == status_tables.markdown().strip()


def test_backends_page_lists_exclusions_and_cases():
    page = (ROOT / "docs" / "backends.md").read_text()
    for (backend, sel), why in conformance.EXCLUSIONS.items():
        assert f"| `{backend}` | `{sel}` | {why} |" in page
    for case in conformance.CASES():
        assert f"| `{case.name}` |" in page


def test_replace_block_needs_its_markers():
    assert status_tables.replace_block("a <!-- s -->x<!-- e --> b", "<!-- s -->", "<!-- e -->",
                                       "y") == "a <!-- s -->\ny\n<!-- e --> b"
    with pytest.raises(ValueError, match="markers"):
        status_tables.replace_block("no markers", "<!-- s -->", "<!-- e -->", "y")


def test_script_check_mode_reports_no_drift():
    spec = importlib.util.spec_from_file_location("gen_status_tables",
                                                  ROOT / "scripts" / "gen_status_tables.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--check"]) == 0
