#!/usr/bin/env bash
# One-time set-up, safe to re-run: Debian packages for IPOPT (when root), a virtual environment in
# .venv, and optkit installed editable with its extras. Re-installs only when pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
APT_PKGS="coinor-libipopt-dev liblapack-dev libblas-dev gfortran pkg-config glpk-utils coinor-cbc chromium"  # chromium: headless checks of reports and the docs site

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  missing=""
  for p in $APT_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    echo "setup: installing Debian packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
else
  echo "setup: not root (or no apt-get): skipping Debian packages; without IPOPT's library the"
  echo "       'ipopt' backend is reported unavailable"
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.optkit-installed
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  # every extra (docs/install.md), so that the tests run everything; dev: build, ruff, mypy
  extras="fast,hs,pyomo,dask,plot,moo,data,test,mip,dev,docs"
  if pkg-config --exists ipopt 2>/dev/null; then
    extras="$extras,ipopt"   # cyipopt needs IPOPT's library to build
  fi
  .venv/bin/python -m pip install -q -e ".[${extras}]"
  echo "$want" > "$stamp"
fi
