"""Regenerate the blocks of the docs that come from the code.

* docs/results.md, between <!-- status-tables:start --> and <!-- status-tables:end -->: each
  backend's declared STATUS_MAP (native status -> optkit Termination);
* docs/backends.md, between the conformance-exclusions and conformance-cases markers: the
  conformance suite's declared exclusions/allowances and its list of cases.

    python scripts/gen_status_tables.py          # rewrite the pages
    python scripts/gen_status_tables.py --check  # exit 1 (listing the pages) when they differ

A registered backend that fails to load is an error (the tables would be incomplete) unless
--skip-unloadable is given.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report pages that differ")
    parser.add_argument("--skip-unloadable", action="store_true",
                        help="leave out registered backends that fail to load (default: error)")
    args = parser.parse_args(argv)
    from optkit.testing.status_tables import generated_pages

    stale = []
    for path, text in generated_pages(ROOT, strict=not args.skip_unloadable).items():
        if path.read_text() != text:
            stale.append(path)
            if not args.check:
                path.write_text(text)
    verb = "differ from the code" if args.check else "rewritten"
    for path in stale:
        print(f"{path.relative_to(ROOT)}: {verb}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
