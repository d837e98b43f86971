"""Assemble docs/benchmarks.md from the per-area tables that each benchmark script writes.

Each script writes docs/bench_<area>.md with its latest measured tables and the command that made
them; this script concatenates them (in a fixed order) under one page.

    python benchmarks/collect_docs.py
"""
from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
TITLES = {"backends_modelling": "cvxpy and Pyomo backends against the same models written by hand"}
ORDER = ["overhead", "backends_modelling", "sketch_newton", "bilevel", "pareto", "batch"]
INTRO = """# Benchmarks

Every table here was measured by a script in `benchmarks/`. The script times optkit and its peers
in the same run and prints their ratios, and the command that produced each table is given above
it. The machine has 2 cores and 24 GiB. Other work sometimes ran on it at the same time, so a single
wall time is noisy, but a ratio measured within one run is comparable. Tests never assert wall times.
To run everything quickly: `make bench`, or each script with `--quick`.
"""


def _demote(text: str) -> str:
    """Every Markdown heading one level down (outside code fences): page title → section."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("#"):
            line = "#" + line
        out.append(line)
    return "\n".join(out)


def main() -> None:
    parts = [INTRO]
    names = ORDER + sorted(p.stem[len("bench_"):] for p in DOCS.glob("bench_*.md")
                           if p.stem[len("bench_"):] not in ORDER)
    for name in names:
        path = DOCS / f"bench_{name}.md"
        if path.exists():
            text = path.read_text().strip()
            if not text.startswith("#"):
                text = f"# {TITLES.get(name, name)}\n\n{text}"
            parts.append(_demote(text))
    (DOCS / "benchmarks.md").write_text("\n\n".join(parts) + "\n")
    print(f"wrote {DOCS / 'benchmarks.md'} from {len(parts) - 1} section(s)")


if __name__ == "__main__":
    main()
