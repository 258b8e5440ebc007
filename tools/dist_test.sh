#!/usr/bin/env bash
# Distributed testing with torchrun (see dist_launch.sh for the variables).
#   bash tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py args...]
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 CONFIG CHECKPOINT NPROC [test.py args...]" >&2
  exit 2
fi
if ! [[ "$3" =~ ^[1-9][0-9]*$ ]]; then
  echo "error: NPROC (number of processes, one per GPU) must be a positive" \
    "integer, got '$3'" >&2
  echo "usage: $0 CONFIG CHECKPOINT NPROC [test.py args...]" >&2
  exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
shift 3
exec bash "$(dirname "$0")/dist_launch.sh" test.py "$NPROC" "$CONFIG" "$CHECKPOINT" "$@"
