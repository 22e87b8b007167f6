#!/usr/bin/env bash
# Full pipeline: capture -> extract -> write vectors -> cross-check with tshark.
# Usage: run.sh [RUN_DIR] [VECTOR_DIR]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
RUN=${1:-/tmp/cv-run}
OUT=${2:-$HERE/../../bgp-wire/tests/vectors}
"$HERE/capture.sh" "$RUN"
python3 "$HERE/extract.py" "$RUN" >"$RUN/summary.txt"
python3 "$HERE/make_vectors.py" "$RUN" "$OUT"
python3 "$HERE/crosscheck.py" "$OUT"
