#!/usr/bin/env bash
# The whole GPU check in one command, on a CUDA machine (docs/performance.md, "GPU"):
#
#   NANOGPT_TITAN_DATA=/path/to/input.txt scripts/gpu_check.sh OUTDIR
#
# Run at the repo root. Writes into OUTDIR, each part under its own time limit so that one
# overrun cannot lose the rest:
#   gpu-tests.log, gpu-tests.xml   pytest -m gpu                        (GPU_CHECK_TESTS_TIMEOUT, 100 s)
#   bench.log, bench.json          pytest tests/bench -k mini-gpt       (GPU_CHECK_BENCH_TIMEOUT, 200 s)
#   mini-gpt.log, mini-gpt/metrics.jsonl   mini-gpt.toml, 5001 steps, compiled (GPU_CHECK_RUN_TIMEOUT, 240 s)
#   summary.txt                    versions, then each part's status and wall time, then the numbers
# Seven files, at most one folder down. The limits add up to 540 s (plus at most 10 s each to
# stop): the check ends within 10 minutes. A part that fails or times out does not stop the
# next; the exit status is 0 only if every part passed.
#
# On an offline CUDA machine (python3 and torch installed, nothing of ours) the wheels that
# scripts/gpu_wheels.sh put into .whl/ are installed with `pip --target` and found through
# PYTHONPATH. A .pth is not processed there, so nanogpt_titan.pth (which installs the triton
# guard at interpreter start) does nothing. Not needed: the guard only stands in for
# torchtitan's MoE kernels where triton is missing, and a CUDA build of torch comes with triton.
#
# GPU_CHECK_SMOKE=1: a CPU dry run of the same plumbing (no CUDA needed): debugmodel-sized
# benchmarks and a 3-step mini-gpt run with small batches; the GPU tests skip themselves.
set -uo pipefail

OUTDIR=${1:?usage: NANOGPT_TITAN_DATA=/path/to/input.txt scripts/gpu_check.sh OUTDIR}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SMOKE=${GPU_CHECK_SMOKE:-0}
TESTS_TIMEOUT=${GPU_CHECK_TESTS_TIMEOUT:-100}
BENCH_TIMEOUT=${GPU_CHECK_BENCH_TIMEOUT:-200}
RUN_TIMEOUT=${GPU_CHECK_RUN_TIMEOUT:-240}

die() { echo "gpu_check: $*" >&2; exit 2; }

[[ -f ${NANOGPT_TITAN_DATA:-} ]] || die "NANOGPT_TITAN_DATA must name tiny Shakespeare's input.txt (got '${NANOGPT_TITAN_DATA:-unset}')"
export NANOGPT_TITAN_DATA=$(realpath "$NANOGPT_TITAN_DATA")
mkdir -p "$OUTDIR" && OUTDIR=$(realpath "$OUTDIR")
# Nothing from an earlier check may pass for this one's (a resumed run would even append to metrics.jsonl).
rm -rf "$OUTDIR"/{summary.txt,gpu-tests.log,gpu-tests.xml,bench.log,bench.json,mini-gpt.log,mini-gpt}

if ! python3 -c "import importlib.util as u, sys; sys.exit(u.find_spec('nanogpt_titan') is None)"; then
    compgen -G ".whl/*.whl" >/dev/null || die "nanogpt_titan is not importable and .whl/ has no wheels: run scripts/gpu_wheels.sh where PyPI is reachable"
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || die "installing .whl/*.whl into /tmp/site failed"
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
    # The check is of this working tree: if .whl/ holds another build of it, src/ goes first.
    if ! diff -rq -x __pycache__ src/nanogpt_titan /tmp/site/nanogpt_titan >/dev/null; then
        export PYTHONPATH=$PWD/src:$PYTHONPATH
        WHEEL_NOTE="nanogpt_titan from src/: the wheel in .whl/ differs from the working tree"
    fi
fi
if ! command -v torchrun >/dev/null; then  # run_train.sh launches torchrun
    mkdir -p /tmp/gpu_check_bin
    printf '#!/bin/sh\nexec python3 -m torch.distributed.run "$@"\n' >/tmp/gpu_check_bin/torchrun
    chmod +x /tmp/gpu_check_bin/torchrun
    export PATH=/tmp/gpu_check_bin:$PATH
fi

if [[ $SMOKE == 1 ]]; then
    BENCH_SIZE=debugmodel
    RUN_OVERRIDES=(--training.steps 3 --validation.freq 3 --validation.steps 2 --training.local_batch_size 4
                   --training.global_batch_size 4 --validation.local_batch_size 4)
else
    python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null || die "no CUDA device (GPU_CHECK_SMOKE=1 for a CPU dry run)"
    BENCH_SIZE=mini-gpt
    RUN_OVERRIDES=()
fi

SUMMARY=$OUTDIR/summary.txt
{
    echo "gpu_check $(date -u +%FT%TZ)  smoke=$SMOKE  commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    python3 - <<'EOF'
import importlib.metadata as md, platform, torch
names = ["torch", "triton", "torchtitan", "torchdata", "datasets", "huggingface-hub", "fsspec", "pyarrow", "tyro",
         "typeguard", "typing-extensions", "pytest", "pytest-benchmark", "hypothesis", "transformers", "nanogpt-titan"]
def version(name):
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return "-"
device = torch.cuda.get_device_name() if torch.cuda.is_available() else "no CUDA device"
print(f"python {platform.python_version()}, {device}")
print(", ".join(f"{name} {version(name)}" for name in names))
EOF
    [[ -n ${WHEEL_NOTE:-} ]] && echo "$WHEEL_NOTE"
    echo
} >"$SUMMARY" 2>&1

ALL_PASSED=1

# part NAME LIMIT COMMAND...: run COMMAND under `timeout`, its output in OUTDIR/NAME.log, and
# append its status, wall time and pytest's closing line to the summary as soon as it ends.
# At the limit it gets SIGINT, not SIGTERM: pytest then ends the session as after Ctrl-C and
# still writes the junit XML and the JSON of the benchmarks that finished (the run's
# metrics.jsonl holds every step up to its last logging step); SIGKILL follows 10 s later if need be.
part() {
    local name=$1 limit=$2 start=$SECONDS status detail
    shift 2
    timeout --signal=INT --kill-after=10 "$limit" "$@" >"$OUTDIR/$name.log" 2>&1
    local rc=$?
    detail=$(grep -E '(passed|failed|skipped|error|no tests ran).* in [0-9.]+s' "$OUTDIR/$name.log" | tail -n 1)
    if ((rc == 124 || rc == 137)); then
        status="TIMEOUT after ${limit}s"
    elif ((rc != 0)); then
        status="FAILED (exit $rc)"
    elif [[ $detail == *skipped* && $detail != *passed* ]]; then
        # pytest exits 0 when every test skipped itself. Expected in a CPU dry run; on a GPU
        # machine it means nothing was checked, which is no pass.
        status="SKIPPED"
        [[ $SMOKE == 1 ]] || rc=1
    else
        status="passed"
    fi
    ((rc == 0)) || ALL_PASSED=0
    printf '%-10s %-22s %4ss  %s\n' "$name" "$status" "$((SECONDS - start))" "$detail" >>"$SUMMARY"
}

# Warnings: pyproject's `filterwarnings = error` keeps the CPU suite strict, but here it would
# turn any unfamiliar warning of the machine's other packages (transformers, datasets, hypothesis,
# pytest plugins) into a failure. `-W default` comes after the ini filters, so it wins over them:
# every warning is shown once and listed in the log's warnings summary, none fails a test, and
# real failures stay failures. A test's own `filterwarnings` mark still applies (marks come last);
# `-p no:warnings` would drop those marks and the summary too.
PYTEST=(python3 -m pytest -q -p no:cacheprovider -W default)

part gpu-tests "$TESTS_TIMEOUT" "${PYTEST[@]}" -m gpu --junitxml "$OUTDIR/gpu-tests.xml"
part bench "$BENCH_TIMEOUT" "${PYTEST[@]}" tests/bench -k "$BENCH_SIZE" --benchmark-json "$OUTDIR/bench.json"

CONFIG_DIR=$(python3 -c "import importlib.util as u; print(u.find_spec('nanogpt_titan').submodule_search_locations[0])")/train_configs
part mini-gpt "$RUN_TIMEOUT" env CONFIG_FILE="$CONFIG_DIR/mini-gpt.toml" NGPU=1 ./run_train.sh \
    --job.dump_folder "$OUTDIR/mini-gpt" --checkpoint.no-enable "${RUN_OVERRIDES[@]}"

python3 - "$OUTDIR" >>"$SUMMARY" 2>&1 <<'EOF'
import json, statistics, sys
from pathlib import Path

out = Path(sys.argv[1])
print()
bench = out / "bench.json"
if bench.is_file():
    print("benchmark (per step)                                       ms  tokens/s  MFU %  MFU % of 312 TF  dtype  adamw")
    for b in json.loads(bench.read_text())["benchmarks"]:
        x = b["extra_info"]
        if "ms_per_step" not in x:  # the benchmark the time limit interrupted
            print(f"{b['name']:<55} interrupted")
            continue
        print(f"{b['name']:<55} {x['ms_per_step']:>8} {x['tokens_per_second']:>9.0f} {x['mfu_percent']:>6} "
              f"{x['mfu_percent_vs_312']:>16}  {x['dtype']}  {x.get('adamw', '-')}")
else:
    print("no bench.json")
metrics = out / "mini-gpt" / "metrics.jsonl"
if metrics.is_file():
    records = [json.loads(line) for line in metrics.read_text().splitlines() if line]
    vals = [r for r in records if "val_loss" in r]
    logged = [r for r in records if "time_ms" in r]  # throughput is measured per logging window
    steady = logged[len(logged) // 10:] or logged  # past compile and warm-up
    print(f"mini-gpt: {len(records)} steps recorded, last step {records[-1]['step']}; "
          f"median {statistics.median(r['time_ms'] for r in steady):.1f} ms/step, "
          f"{statistics.median(r['tokens_per_second_per_device'] for r in steady):.0f} tokens/s per device, "
          f"MFU {statistics.median(r['mfu_per_device'] for r in steady):.2f}%"
          + (f"; val_loss {vals[-1]['val_loss']:.4f} at step {vals[-1]['step']}" if vals else ""))
else:
    print("no mini-gpt/metrics.jsonl")
EOF

cat "$SUMMARY"
((ALL_PASSED))
