"""The training step, side by side with nanoGPT's train.py: the CPU recipe of nanoGPT's README
from nanoGPT's own config file, `nanogpt-titan train` against `python train.py`, in adjacent
runs on the same machine.

Each run trains ITERATIONS iterations (and iteration 0) and logs every one (`--log_interval=1`); a run's figure is
the median of the `iter N: ... time X ms` lines after iteration WARM_UP (start-up, the first
evaluation and the allocator's warm-up excluded; both commands print the same line, timed the
same way: wall time from one logged iteration to the next). PAIRS pairs, the order alternating
within each so that neither command always runs on a warmer machine. The target: our step no
slower than nanoGPT's (the median of the pairs' ratios at most MAX_RATIO).

    NANOGPT_DIR=/path/to/nanoGPT pytest tests/bench/test_step_time.py -s

docs/performance.md keeps the measured table.
"""

import re
import shutil
import statistics
import subprocess
import sys

ITERATIONS = 400
WARM_UP = 50
PAIRS = 3
MAX_RATIO = 1.0
ITER_LINE = re.compile(r"iter (\d+): loss [\d.]+, time ([\d.]+)ms")


def median_step_ms(output: str) -> float:
    times = {int(iteration): float(ms) for iteration, ms in ITER_LINE.findall(output)}
    if max(times, default=None) != ITERATIONS:  # train.py's loop ends after iteration max_iters
        raise AssertionError(f"the run logged iterations up to {max(times, default=None)}:\n{output[-2000:]}")
    return statistics.median(ms for iteration, ms in times.items() if iteration > WARM_UP)


def test_cpu_recipe_step_against_nanogpt(nanogpt_checkout, shakespeare, record_property, cpu_recipe_arguments):
    (nanogpt_checkout / "data" / "shakespeare_char").symlink_to(shakespeare.path)
    commands = {
        "ours": [shutil.which("nanogpt-titan"), "train", *cpu_recipe_arguments, f"--max_iters={ITERATIONS}"],
        "nanogpt": [sys.executable, "train.py", *cpu_recipe_arguments, f"--max_iters={ITERATIONS}"],
    }

    def step_ms(name: str, run: int) -> float:
        out_dir = f"--out_dir=out-{name}-{run}"
        done = subprocess.run([*commands[name], out_dir], cwd=nanogpt_checkout, capture_output=True, text=True)
        if done.returncode:
            raise AssertionError(f"{name} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        return median_step_ms(done.stdout + done.stderr)

    pairs = []
    for run in range(PAIRS):
        order = ("ours", "nanogpt") if run % 2 == 0 else ("nanogpt", "ours")
        pairs.append({name: step_ms(name, run) for name in order})
    ratios = [pair["ours"] / pair["nanogpt"] for pair in pairs]
    for pair, ratio in zip(pairs, ratios):
        print(f"ours {pair['ours']:.1f} ms, nanoGPT {pair['nanogpt']:.1f} ms: {ratio:.3f}x")
    record_property("pairs", pairs)
    assert statistics.median(ratios) <= MAX_RATIO, f"our step is {statistics.median(ratios):.3f}x nanoGPT's"
