#!/usr/bin/env bash
# Sets everything up (venv, test tools, Debian's Chromium for browser tests) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements-dev.txt
# Debian's Chromium drives the browser tests; Graphviz's dot renders the ecosystem diagram's SVG export;
# nginx fronts the scaled-out cluster's browser tests.
missing=()
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
[ -x "${FLEET_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  { $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null; } \
    || echo "could not install ${missing[*]}; their tests skip unless FLEET_REQUIRE_BROWSER=1 / FLEET_REQUIRE_GRAPHVIZ=1"
fi
.venv/bin/ruff check .
.venv/bin/mypy core pages app.py
.venv/bin/python -m pytest -n 2 --dist loadgroup "$@"
