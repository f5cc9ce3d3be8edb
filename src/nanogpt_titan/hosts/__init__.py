"""Host adapters: the only code that imports torchtitan, one subpackage per release.

The core (the model, data, checkpoint formats, optimizer groups and schedule, evaluate, sample,
compare, the command line) is written once and imports no host. An adapter registers the model
with its torchtitan and builds torchtitan's components from the core: `v0_2` for torchtitan
0.2 (TOML configs, a `TrainSpec`), `v0_3` for torchtitan 0.3 (Python configs, a `ModelSpec`).
The modules beside them serve both, where the two releases' APIs agree (metrics, validation,
the Hugging Face adapter, the run-folder checks, the CPU rebinding, the tokenizer). A later
torchtitan is one more subpackage.

Each host's entry point is a top-level module, named as that host expects:
`nanogpt_titan.plugin` (0.2's `custom_import`) and `nanogpt_titan.config_registry` (0.3's
`--module nanogpt_titan`). The functions below are how the core speaks to whichever host is
installed; they import an adapter only when called.
"""

from importlib.metadata import version
from pathlib import Path

TRAIN_CONFIGS = Path(__file__).parents[1] / "train_configs"


def installed_host() -> str:
    """The adapter of the installed torchtitan: "v0_2" or "v0_3"."""
    major, minor = version("torchtitan").split(".")[:2]
    return f"v{major}_{minor}"


def recipe_arguments(recipe: str) -> list[str]:
    """`torchtitan.train`'s arguments that name a shipped recipe (a TOML file of `train_configs/`)
    on the installed torchtitan."""
    if installed_host() == "v0_2":
        return ["--job.config_file", str(TRAIN_CONFIGS / recipe)]
    from nanogpt_titan.hosts.v0_3.configs import RECIPES

    return ["--module", "nanogpt_titan", "--config", next(name for name, toml in RECIPES.items() if toml == recipe)]


def run_train_sh_variables(recipe: str) -> dict[str, str]:
    """`run_train.sh`'s variables that name a shipped recipe on the installed torchtitan."""
    _, name = recipe_arguments(recipe)[-2:]
    return {"CONFIG_FILE" if installed_host() == "v0_2" else "CONFIG": name}


def override_arguments(settings: dict[str, object]) -> list[str]:
    """`settings` (torchtitan 0.2's names, `section.key`) as overrides on the installed torchtitan's
    command line."""
    if installed_host() == "v0_2":
        from nanogpt_titan.nanogpt_config import cli_overrides

        return cli_overrides(settings)
    from nanogpt_titan.hosts.v0_3.configs import cli_arguments

    return cli_arguments(settings)


def training_command(recipe: str, settings: dict[str, object]) -> list[str]:
    """`torchtitan.train`'s arguments on the installed torchtitan for a shipped recipe with
    `settings` over it."""
    return [*recipe_arguments(recipe), *override_arguments(settings)]
