#!/usr/bin/bash
# Train nanoGPT through torchtitan's own entry point, in torchtitan's style, on the installed
# torchtitan (0.2: TOML configs; 0.3: config functions of nanogpt_titan.config_registry):
#   ./run_train.sh                                   # nanoGPT's CPU recipe
#   CONFIG_FILE=<file.toml> NGPU=1 ./run_train.sh --training.steps 100           # torchtitan 0.2
#   MODULE=nanogpt_titan CONFIG=nanogpt_debugmodel ./run_train.sh --training.steps 100   # torchtitan 0.3
# Extra arguments are forwarded to torchtitan as config overrides.
set -euo pipefail

NGPU=${NGPU:-1}
LOG_RANK=${LOG_RANK:-0}
PYTHON=$(command -v python || command -v python3)  # CUDA images often have only python3
TORCHTITAN=$("${PYTHON}" -c "from importlib.metadata import version; print(version('torchtitan'))")
if [[ ${TORCHTITAN} == 0.2.* ]]; then
    CONFIG_DIR=$("${PYTHON}" -c "import importlib.util as u; print(u.find_spec('nanogpt_titan').submodule_search_locations[0])")/train_configs
    CONFIG_FILE=${CONFIG_FILE:-${CONFIG_DIR}/shakespeare_cpu.toml}
    if [[ ! -f ${CONFIG_FILE} ]]; then
        echo "run_train.sh: error: CONFIG_FILE=${CONFIG_FILE} is not a file; name a TOML config, e.g. one of ${CONFIG_DIR}/*.toml" >&2
        exit 2
    fi
    CONFIG_ARGS=(--job.config_file "${CONFIG_FILE}")
else
    CONFIG_ARGS=(--module "${MODULE:-nanogpt_titan}" --config "${CONFIG:-nanogpt_shakespeare_cpu}")
fi

export PYTORCH_ALLOC_CONF="expandable_segments:True"
if [[ ${NGPU} == 1 ]]; then
    # One process needs no launcher, only torchtitan's distributed environment; torchrun would
    # follow a failed run's one-line error with a report of its own.
    export RANK=0 LOCAL_RANK=0 WORLD_SIZE=1 LOCAL_WORLD_SIZE=1 MASTER_ADDR=localhost
    export MASTER_PORT=${MASTER_PORT:-$("${PYTHON}" -c "import socket; s = socket.socket(); s.bind(('localhost', 0)); print(s.getsockname()[1])")}
    exec "${PYTHON}" -m torchtitan.train "${CONFIG_ARGS[@]}" "$@"
fi
torchrun --nproc_per_node="${NGPU}" --rdzv_backend c10d --rdzv_endpoint="localhost:0" \
    --local-ranks-filter "${LOG_RANK}" --role rank --tee 3 \
    -m torchtitan.train "${CONFIG_ARGS[@]}" "$@"
