#!/usr/bin/bash
# Train nanoGPT through torchtitan's own entry point, in torchtitan's style, on the installed
# torchtitan (0.2: TOML configs; 0.3.0 and main: config functions of nanogpt_titan.config_registry):
#   ./run_train.sh                                   # nanoGPT's CPU recipe
#   CONFIG_FILE=<file.toml> NGPU=1 ./run_train.sh --training.steps 100           # torchtitan 0.2
#   MODULE=nanogpt_titan CONFIG=nanogpt_debugmodel ./run_train.sh --training.steps 100   # 0.3.0, main
#   (there, CONFIG_FILE=<a shipped recipe> runs its config function)
# Extra arguments are forwarded to torchtitan as config overrides.
set -euo pipefail

NGPU=${NGPU:-1}
LOG_RANK=${LOG_RANK:-0}
PYTHON=$(command -v python || command -v python3)  # CUDA images often have only python3
# A function of nanogpt_titan.hosts, called with the arguments after its name; its refusal in one line.
hosts() {
    "${PYTHON}" -c "
import sys
from nanogpt_titan import hosts
from nanogpt_titan.errors import NanoGPTTitanError
try:
    print(getattr(hosts, sys.argv[1])(*sys.argv[2:]))
except NanoGPTTitanError as error:
    sys.exit(f'run_train.sh: error: {error}')" "$@"
}
# The installed torchtitan, recognised by what it has (a source install of main says 0.2.2).
HOST=$(hosts installed_host)
if [[ ${HOST} == v0_2 ]]; then
    CONFIG_DIR=$("${PYTHON}" -c "from nanogpt_titan.hosts import TRAIN_CONFIGS; print(TRAIN_CONFIGS)")
    CONFIG_FILE=${CONFIG_FILE:-${CONFIG_DIR}/shakespeare_cpu.toml}
    if [[ ! -f ${CONFIG_FILE} ]]; then
        echo "run_train.sh: error: CONFIG_FILE=${CONFIG_FILE} is not a file; name a TOML config, e.g. one of ${CONFIG_DIR}/*.toml" >&2
        exit 2
    fi
    CONFIG_ARGS=(--job.config_file "${CONFIG_FILE}")
else
    if [[ -n ${CONFIG_FILE:-} ]]; then  # torchtitan 0.2's form of a shipped recipe: its config function
        CONFIG=$(hosts recipe_config "${CONFIG_FILE}")
    fi
    CONFIG_ARGS=(--module "${MODULE:-nanogpt_titan}" --config "${CONFIG:-nanogpt_shakespeare_cpu}")
fi

export PYTORCH_ALLOC_CONF="expandable_segments:True"
if [[ ${NGPU} == 1 ]]; then
    # One process needs no launcher: the package's entry point makes it a job of one, and a failed
    # run ends in its own one line, without torchrun's report after it.
    exec "${PYTHON}" -m torchtitan.train "${CONFIG_ARGS[@]}" "$@"
fi
torchrun --nproc_per_node="${NGPU}" --rdzv_backend c10d --rdzv_endpoint="localhost:0" \
    --local-ranks-filter "${LOG_RANK}" --role rank --tee 3 \
    -m torchtitan.train "${CONFIG_ARGS[@]}" "$@"
