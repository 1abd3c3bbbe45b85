#!/usr/bin/env bash
# Sets everything up and runs the app on SQLite (data/fleet.db) with the demo fleet.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
.venv/bin/python -m core seed-demo --if-empty
exec .venv/bin/streamlit run app.py "$@"
