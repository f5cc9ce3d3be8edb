#!/usr/bin/env bash
# Broad mutation testing with mutmut 3 ([tool.mutmut] in pyproject.toml), then the score.
# Usage: scripts/mutation_score.sh [MUTANT_NAME_GLOB...]   e.g. "nanogpt_titan.hosts.v0_2.tokenizer*"
# Resumable: mutmut keeps its results in mutants/ and skips mutants already checked.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check "mutmut>=3,<4"
export HYPOTHESIS_PROFILE=mutation  # 10 examples, no shrinking: see conftest.py
export OMP_NUM_THREADS=1            # mutmut forks per mutant; OpenMP threads do not survive a fork (hangs)
mutmut run "$@" || true             # a non-zero exit only says some mutants survived
mutmut export-cicd-stats >/dev/null
python - <<'PY'
import json
stats = json.load(open("mutants/mutmut-cicd-stats.json"))
checked = sum(stats[key] for key in ("killed", "survived", "timeout", "suspicious", "segfault"))
print(f"mutants: {stats['total']} generated, {checked} checked: {stats['killed']} killed by a failing test, "
      f"{stats['timeout']} timed out, {stats['survived']} survived, {stats['no_tests']} without tests")
if checked:
    print(f"mutation score: {100 * stats['killed'] / checked:.1f}% killed by a failing test "
          "(timeouts not counted as kills)")
PY
mutmut results
