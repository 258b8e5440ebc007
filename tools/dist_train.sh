#!/usr/bin/env bash
# Distributed training with torchrun (see dist_launch.sh for the variables).
#   bash tools/dist_train.sh CONFIG NPROC [train.py args...]
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 CONFIG NPROC [train.py args...]" >&2
  exit 2
fi
if ! [[ "$2" =~ ^[1-9][0-9]*$ ]]; then
  echo "error: NPROC (number of processes, one per GPU) must be a positive" \
    "integer, got '$2'" >&2
  echo "usage: $0 CONFIG NPROC [train.py args...]" >&2
  exit 2
fi
CONFIG=$1
NPROC=$2
shift 2
exec bash "$(dirname "$0")/dist_launch.sh" train.py "$NPROC" "$CONFIG" "$@"
