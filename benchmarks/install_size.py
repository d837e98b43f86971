"""Size of an optkit install: a fresh virtual environment, ``pip install`` of the built wheel with
the given extras, and the size of its site-packages (the sum of the sizes of the files in it, in
MB = 10⁶ bytes, and ``du -sk`` for comparison), with the largest distributions listed.

    python benchmarks/install_size.py                   # base install of this checkout
    python benchmarks/install_size.py --extras hs,fast  # with extras
    python benchmarks/install_size.py --ref 9a67263     # a git commit of this repo (the "before")
    python benchmarks/install_size.py --wheel dist/optkit-0.1.0-py3-none-any.whl

pip may use the machine's package cache; nothing is written outside a temporary folder (kept with
``--keep``). Needs the ``build`` package (the ``dev`` extra). ``tests/test_packaging.py`` uses
:func:`build_dists`, :func:`make_venv`, :func:`install` and :func:`site_packages_size` from here.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str], cwd: Path | None = None, timeout: float = 900) -> str:
    """Run ``cmd``; return stdout; raise with the command's output when it fails."""
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def build_dists(src: Path, out: Path) -> list[Path]:
    """Build optkit's sdist, then its wheel from that sdist (``python -m build``; nothing is
    written into ``src`` but the egg-info), into ``out``; return the built files."""
    out.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "build", "--outdir", str(out), str(src)])
    return sorted(out.glob("optkit-*"))


def make_venv(where: Path) -> Path:
    """A fresh virtual environment at ``where``; return its python."""
    run([sys.executable, "-m", "venv", str(where)])
    return where / "bin" / "python"


def site_packages(python: Path) -> Path:
    out = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    return Path(out.strip())


def site_packages_size(python: Path) -> dict:
    """Bytes in the venv's site-packages: total, ``du`` (disk usage, KiB → bytes) and per
    distribution (files listed in each RECORD, byte-compiled files included)."""
    sp = site_packages(python)
    total = 0
    for dirpath, _, files in os.walk(sp):
        for f in files:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    try:
        du = int(run(["du", "-sk", str(sp)]).split()[0]) * 1024
    except (OSError, RuntimeError):
        du = None
    per: dict[str, int] = {}
    for record in sp.glob("*.dist-info/RECORD"):
        name = record.parent.name.split("-")[0]
        size = 0
        for line in record.read_text().splitlines():
            rel = line.rsplit(",", 2)[0]
            p = (sp / rel).resolve()
            if p.is_file():
                size += p.stat().st_size
        per[name] = size
    return {"site_packages": str(sp), "total": total, "du": du, "per_dist": per}


def install(python: Path, wheel: Path, extras: str = "") -> float:
    """``pip install wheel[extras]`` into the venv; return the seconds it took."""
    spec = f"{wheel}[{extras}]" if extras else str(wheel)
    t = time.perf_counter()
    run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", spec])
    return time.perf_counter() - t


def _source_of(ref: str | None, tmp: Path) -> Path:
    if ref is None:
        return ROOT
    dest = tmp / f"src-{ref}"
    dest.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--extras", default="", help="comma-separated extras (default: none)")
    ap.add_argument("--ref", default=None, help="git commit to build instead of the working tree")
    ap.add_argument("--wheel", type=Path, default=None, help="an already built wheel")
    ap.add_argument("--top", type=int, default=15, help="largest distributions to list")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="optkit-size-"))
    try:
        wheel = args.wheel
        if wheel is None:
            wheels = [w for w in build_dists(_source_of(args.ref, tmp), tmp / "dist")
                      if w.suffix == ".whl"]
            wheel = wheels[0]
        py = make_venv(tmp / "venv")
        secs = install(py, wheel, args.extras)
        size = site_packages_size(py)
    finally:
        if not args.keep:
            subprocess.run(["rm", "-rf", str(tmp)], check=False)
    label = args.ref or "working tree"
    print(f"optkit ({label}) {'[' + args.extras + ']' if args.extras else 'base'}: "
          f"site-packages {size['total'] / 1e6:.0f} MB"
          + (f" (du {size['du'] / 2**20:.0f} MiB)" if size["du"] else "")
          + f", pip install {secs:.0f} s")
    for name, b in sorted(size["per_dist"].items(), key=lambda t: -t[1])[:args.top]:
        print(f"  {b / 1e6:8.1f} MB  {name}")
    if args.keep:
        print(f"kept {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
