#!/usr/bin/env bash
# Sets everything up and runs the app on SQLite (data/fleet.db) with the demo fleet.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
.venv/bin/python -m core seed-demo --if-empty
# serve-app refuses local mode on a network address before listening, then runs `streamlit run app.py`.
exec .venv/bin/python -m core serve-app "$@"
