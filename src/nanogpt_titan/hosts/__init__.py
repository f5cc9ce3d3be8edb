"""Host adapters: the only code that imports torchtitan.

The core (the model, data, randomness, checkpoint formats, optimizer groups and schedule,
parallelisation, evaluate, sample, compare, the command line) is written once and imports no
host. An adapter translates the core's components into its torchtitan's API:

| host                                 | adapter                                 | entry point                  |
|--------------------------------------|-----------------------------------------|------------------------------|
| torchtitan 0.2 (TOML, `TrainSpec`)   | `v0_2`                                  | `nanogpt_titan.plugin` (`custom_import`) |
| torchtitan 0.3.0 (Configurables)     | `configurable`, with `v0_3`'s batches and dataloader | `nanogpt_titan.config_registry` (`--module nanogpt_titan`) |
| torchtitan main (a source install)   | `configurable`, with `main`'s batches, grain dataloader, folded loss | the same |

The modules beside them serve every adapter (data plan, validation, metrics, the Hugging Face
adapter, the CPU rebinding, the tokenizer). The installed host is
recognised by what its torchtitan has, never by its version string (a source install of main
reports 0.2.2). The functions below are how the core speaks to whichever host is installed;
they import an adapter only when called.
"""

import importlib
import importlib.util
from importlib.metadata import version
from pathlib import Path

from nanogpt_titan.errors import NanoGPTTitanError

TRAIN_CONFIGS = Path(__file__).parents[1] / "train_configs"
# What each release's package has, looked for in this order (files: nothing of torchtitan runs).
HOST_MARKERS = {
    "v0_2": ("protocols/train_spec.py",),
    "main": ("trainer.py", "components/data/loader.py", "components/checkpointer"),
    "v0_3": ("trainer.py", "components/dataloader.py", "components/checkpointer"),
}
SUPPORTED = "0.2.2, 0.3.0, or a source install of main (commit b5bcd76 or its API)"
# The adapter subpackages each host runs on.
ADAPTERS = {"v0_2": ("v0_2",), "v0_3": ("configurable", "v0_3"), "main": ("configurable", "main")}


def installed_host() -> str:
    """The adapter of the installed torchtitan: "v0_2", "v0_3" or "main"."""
    spec = importlib.util.find_spec("torchtitan")
    if spec is None:
        raise NanoGPTTitanError(f"torchtitan is not installed: install {SUPPORTED}, e.g. pip install torchtitan==0.2.2")
    root = Path(next(iter(spec.submodule_search_locations)))
    host = next((host for host, markers in HOST_MARKERS.items() if all((root / m).exists() for m in markers)), None)
    if host is None:
        raise NanoGPTTitanError(
            f"torchtitan {version('torchtitan')} at {root} has the API of none of the supported "
            f"releases: install {SUPPORTED}"
        )
    return host


def trainer_class() -> type:
    """The installed Configurable release's `NanoGPTTrainer` (torchtitan 0.3.0 or main)."""
    host = installed_host()
    if host == "v0_2":
        raise NanoGPTTitanError("torchtitan 0.2 has no Python configs: train with a TOML file (--job.config_file)")
    return importlib.import_module(f"nanogpt_titan.hosts.{host}.trainer").NanoGPTTrainer


def recipe_arguments(recipe: str) -> list[str]:
    """`torchtitan.train`'s arguments that name a shipped recipe (a TOML file of `train_configs/`)
    on the installed torchtitan."""
    if installed_host() == "v0_2":
        return ["--job.config_file", str(TRAIN_CONFIGS / recipe)]
    from nanogpt_titan.hosts.configurable.recipes import RECIPES

    return ["--module", "nanogpt_titan", "--config", next(name for name, toml in RECIPES.items() if toml == recipe)]


def run_train_sh_variables(recipe: str) -> dict[str, str]:
    """`run_train.sh`'s variables that name a shipped recipe on the installed torchtitan."""
    _, name = recipe_arguments(recipe)[-2:]
    return {"CONFIG_FILE" if installed_host() == "v0_2" else "CONFIG": name}


def recipe_config(config_file: str) -> str:
    """On torchtitan's Configurable releases, the config function that is the shipped TOML recipe
    `config_file` (torchtitan 0.2's `CONFIG_FILE=... ./run_train.sh`); another file is refused."""
    from nanogpt_titan.hosts.configurable.recipes import RECIPES

    path, by_file = Path(config_file), {toml: name for name, toml in RECIPES.items()}
    shipped = TRAIN_CONFIGS / path.name
    if path.name not in by_file or not path.is_file() or path.read_bytes() != shipped.read_bytes():
        raise NanoGPTTitanError(
            f"CONFIG_FILE={config_file} is not one of the shipped recipes; torchtitan {version('torchtitan')} takes "
            f"config functions: CONFIG=one of {', '.join(RECIPES)} (nanogpt_titan.config_registry)"
        )
    return by_file[path.name]


def override_arguments(settings: dict[str, object], recipe: str | None = None) -> list[str]:
    """`settings` (torchtitan 0.2's names, `section.key`) as overrides of a shipped `recipe` on the
    installed torchtitan's command line."""
    if installed_host() == "v0_2":
        from nanogpt_titan.flags import flags

        return flags(settings)
    from nanogpt_titan.hosts.configurable.batch_counts import BATCH_COUNTS
    from nanogpt_titan.hosts.configurable.recipes import cli_arguments, toml_settings

    return cli_arguments(settings, BATCH_COUNTS[installed_host()], toml_settings(recipe) if recipe else None)


def training_command(recipe: str, settings: dict[str, object]) -> list[str]:
    """`torchtitan.train`'s arguments on the installed torchtitan for a shipped recipe with
    `settings` over it."""
    return [*recipe_arguments(recipe), *override_arguments(settings, recipe)]


def load_only_command(folder: Path, block_size: int) -> list[str]:
    """The command that validates a converted checkpoint `folder` in torchtitan, load only: one
    step at learning rate 0, with the validation batches of the shipped recipe of the model's
    context (else the CPU recipe's), in a dump folder of its own under the working directory."""
    import tomllib

    recipes = ["shakespeare_cpu.toml", "mini-gpt.toml"]
    context = {recipe: tomllib.loads((TRAIN_CONFIGS / recipe).read_text())["training"]["seq_len"] for recipe in recipes}
    recipe = next((recipe for recipe in recipes if context[recipe] == block_size), recipes[0])
    settings = {
        "model.flavor": str(folder),
        "checkpoint.enable": True,
        "checkpoint.load_only": True,
        "checkpoint.initial_load_path": str(folder),
        "job.dump_folder": str(Path.cwd() / "outputs" / f"validate-{folder.name}"),
        "training.steps": 1,
        "validation.freq": 1,
        "optimizer.lr": 0,
        "training.seq_len": block_size,
        "validation.seq_len": block_size,
    }
    return [
        "torchrun",
        "--standalone",
        "--nproc_per_node=1",
        "-m",
        "torchtitan.train",
        *training_command(recipe, settings),
    ]


def build_trainer(recipe: str, settings: dict[str, object]):
    """The installed torchtitan's own Trainer for a shipped recipe with `settings` (torchtitan
    0.2's names) over it, made in this process from the same arguments, by the same parser, as
    its entry point makes it from `training_command`'s. The process's place in a job (torchrun's
    variables) must be set."""
    from torchtitan.config import ConfigManager

    config = ConfigManager().parse_args(training_command(recipe, settings))
    if installed_host() == "v0_2":
        from torchtitan.train import Trainer

        return Trainer(config)
    return config.build()
