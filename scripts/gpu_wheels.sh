#!/usr/bin/env bash
# Fill .whl/ (repo root, git-ignored) with every wheel scripts/gpu_check.sh needs on a CUDA
# machine that reaches no package registry. Run it where pip reaches PyPI:
#
#   scripts/gpu_wheels.sh [NAME==VERSION ...]    # extra arguments: more wheels to carry
#
# It also copies tiny Shakespeare's input.txt (NANOGPT_TITAN_DATA, else ../shared/data beside
# the checkout) to .whl/input.txt, so that carrying .whl/ alone brings everything; there,
# NANOGPT_TITAN_DATA=.whl/input.txt.
#
# The machine is expected to have Python 3.12 and a CUDA build of torch with triton, and the
# packages ON_IMAGE lists below (numpy, pandas, pyarrow, huggingface-hub, tokenizers,
# tensorboard, ...), but not torchtitan and the part of its dependency closure listed in
# WHEELS. Versions are those this project is tested with. The check at the end reads every
# carried wheel's Requires-Dist (as on Python 3.12, Linux x86-64) and fails if one names a
# distribution that is neither carried nor in ON_IMAGE.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

WHEELS=(
    torchtitan==0.2.2
    torchdata==0.11.0                        # torchtitan
    datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19                  # torchtitan -> datasets
    tyro==1.0.17 docstring-parser==0.18.0 typeguard==4.6.1             # torchtitan -> tyro
    # Such a machine may have pytest and pytest-benchmark, but pytest-benchmark before 5.3 breaks under
    # pytest 9.2 (AttributeError: 'Function' object has no attribute '_nodeid'): carry a pair
    # tested together.
    pytest==9.2.0 pytest-benchmark==5.3.1
)
# Distributions the carried wheels require that such a machine already has.
# tomli is required by torchtitan but imported only on Python < 3.11; py-cpuinfo2 is what
# pytest-benchmark 5.3 names, while its `cpuinfo` module comes with py-cpuinfo.
ON_IMAGE="torch triton numpy filelock fsspec requests urllib3 pyarrow pandas tqdm xxhash huggingface-hub
    packaging pyyaml typing-extensions tokenizers tensorboard einops pillow pluggy iniconfig pygments
    matplotlib tomli py-cpuinfo2"

rm -rf .whl && mkdir .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl "${WHEELS[@]}" "$@"
python3 -m pip wheel -q --no-deps -w .whl .  # nanogpt-titan itself, from this working tree
TEXT=${NANOGPT_TITAN_DATA:-../shared/data/tinyshakespeare/input.txt}
if [[ -f $TEXT ]]; then
    cp "$TEXT" .whl/input.txt
else
    echo "gpu_wheels: no $TEXT: carry tiny Shakespeare's input.txt to the device some other way" >&2
fi

python3 - "$ON_IMAGE" <<'EOF'
import sys, zipfile
from email.parser import Parser
from pathlib import Path
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

env = {"python_version": "3.12", "python_full_version": "3.12.3", "sys_platform": "linux", "os_name": "posix",
       "platform_system": "Linux", "platform_machine": "x86_64", "implementation_name": "cpython",
       "platform_python_implementation": "CPython", "extra": ""}
wheels = sorted(Path(".whl").glob("*.whl"))
carried = {parse_wheel_filename(w.name)[0] for w in wheels}
if len(carried) != len(wheels):
    sys.exit("gpu_wheels: two versions of one distribution in .whl/")
available = carried | {canonicalize_name(name) for name in sys.argv[1].split()}
missing = set()
for wheel in wheels:
    with zipfile.ZipFile(wheel) as z:
        metadata = next(name for name in z.namelist() if name.endswith(".dist-info/METADATA"))
        requires = Parser().parsestr(z.read(metadata).decode()).get_all("Requires-Dist") or []
    for requirement in map(Requirement, requires):
        if (requirement.marker is None or requirement.marker.evaluate(env)) and canonicalize_name(requirement.name) not in available:
            missing.add(f"{requirement.name} (for {wheel.name})")
if missing:
    sys.exit("gpu_wheels: required, neither carried nor listed as installed: " + ", ".join(sorted(missing)))
EOF

ls -l .whl | awk 'NR > 1 {printf "%10d  %s\n", $5, $9}'
echo "total $(du -cb .whl/* | tail -n 1 | cut -f1) bytes in .whl/ (the device carries 64 MiB at most)"
