#!/usr/bin/env bash
# torchrun launcher shared by dist_train.sh and dist_test.sh:
#   bash tools/dist_launch.sh SCRIPT NPROC [SCRIPT args...]
# NPROC processes on this node (one per GPU with CUDA; CPU processes with
# gloo otherwise). Multi-node: set NNODES, NODE_RANK, MASTER_ADDR, PORT.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 SCRIPT NPROC [SCRIPT args...]" >&2
  exit 2
fi
SCRIPT=$1
NPROC=$2
shift 2
# torchrun answers a bad count with a bare AssertionError: check it here
if ! [[ "$NPROC" =~ ^[1-9][0-9]*$ ]]; then
  echo "error: NPROC (number of processes, one per GPU) must be a positive" \
    "integer, got '$NPROC'" >&2
  echo "usage: $0 SCRIPT NPROC [SCRIPT args...]" >&2
  exit 2
fi
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PYTHON=${PYTHON:-python}
DIR="$(cd "$(dirname "$0")" && pwd)"

PYTHONPATH="$DIR/..${PYTHONPATH:+:$PYTHONPATH}" \
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" --master_port="$PORT" \
    "$DIR/$SCRIPT" "$@" --launcher pytorch
