#!/usr/bin/env bash
# Makes the peer venv for the screening comparison (bench/screen_bench.py runs
# bench/screen_peer.py with it): nomenklatura's logic-v2 matcher, which pins duckdb<2 and so
# cannot live in the project's own environment. The venv goes under bench/out/ (git-ignored).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${1:-$here/out/peer-venv}"
python3 -m venv "$venv"
"$venv/bin/pip" install -q "nomenklatura==4.17.4"
"$venv/bin/python" -c "import nomenklatura.matching, importlib.metadata as m; print('peer venv ready:', m.version('nomenklatura'))"
