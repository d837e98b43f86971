"""A seeded mutation fuzzer over the shared MPS/LP collection (issue 11, item 7).

Each mutant (``optkit.testing.mps_fuzz``: truncations, byte flips, deleted/duplicated lines and
sections, huge and malformed numbers, encodings, compressed and corrupt archives) is read with a
time limit (HiGHS in a child process that is killed at the deadline) and, when accepted, solved
with the same limit. Every mutant must end in an optkit error (ReadError, DataError, ...) or a
Result, within the limit plus 5 s; anything else fails the test with the seed and the mutation
to reproduce it. Half the mutants are read strictly (the default), half with ``strict=False``,
where HiGHS itself sees the damage.

Environment: ``OPTKIT_FUZZ_SEED`` (default 11), ``OPTKIT_FUZZ_COUNT`` (default 300). Reproduce
one case with ``mutant(files, seed, index)`` from ``optkit.testing.mps_fuzz``.
"""
from __future__ import annotations

import collections
import os

from conftest import MPS_DIR, require_backend

from optkit.testing.mps_fuzz import MUTATIONS, campaign, mutant, run_mutant

SEED = int(os.environ.get("OPTKIT_FUZZ_SEED", "11"))
COUNT = int(os.environ.get("OPTKIT_FUZZ_COUNT", "300"))
TIME_LIMIT = 5.0
OVERRUN = 5.0


def _files() -> list[str]:
    return sorted(str(p) for p in MPS_DIR.iterdir() if p.suffix in (".mps", ".lp"))


def test_mutants_end_cleanly_within_deadline():
    require_backend("highs")
    files = _files()
    failures, kinds = [], collections.Counter()
    for m in campaign(files, SEED, COUNT):
        out = run_mutant(m, time_limit=TIME_LIMIT, overrun=OVERRUN, strict=m.index % 2 == 0)
        kinds[out.kind] += 1
        if out.kind == "failure":
            failures.append(f"OPTKIT_FUZZ_SEED={SEED} index={m.index}: {m.describe()}: "
                            f"{out.message[:300]} ({out.seconds:.1f} s)")
    assert not failures, (f"{len(failures)} of {COUNT} mutants failed (seed {SEED}); reproduce "
                          f"with optkit.testing.mps_fuzz.mutant(files, {SEED}, index):\n"
                          + "\n".join(failures))
    assert kinds["refused"] + kinds["result"] == COUNT
    assert kinds["refused"] > COUNT // 2  # most damage is refused, not solved


def test_campaign_is_reproducible():
    files = _files()
    a = [m.data for m in campaign(files, 5, 20)]
    b = [mutant(files, 5, i).data for i in range(20)]
    assert a == b
    assert {mutant(files, 5, i).kind for i in range(400)} == set(MUTATIONS)


def test_fast_check_never_passes_what_the_line_scan_refuses():
    """The whole-section fast check may only say "clean" where the line scan finds nothing."""
    from optkit.errors import OptkitError
    from optkit.ir.mps_check import fast_clean, scan_mps

    files = [f for f in _files() if f.endswith(".mps")]
    wrong = []
    for m in campaign(files, SEED + 1, 3 * COUNT):
        text = m.data.decode("latin-1")
        if m.kind.startswith("gzip") or not fast_clean(text):
            continue
        try:
            found = scan_mps(m.source, text).findings
        except OptkitError as exc:
            found = [exc]
        if found:
            wrong.append(f"OPTKIT_FUZZ_SEED={SEED + 1} index={m.index}: {m.describe()}: {found[0]}")
    assert not wrong, "\n".join(wrong)
