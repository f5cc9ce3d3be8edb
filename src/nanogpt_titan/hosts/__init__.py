"""Host adapters: one subpackage per torchtitan release, the only code that imports torchtitan.

The core (the model, data, checkpoint formats, optimizer groups and schedule, evaluate, sample,
compare, the command line) is written once and imports no host. An adapter registers the model
with its torchtitan and builds torchtitan's components from the core: `v0_2` for torchtitan
0.2 (TOML configs, a `TrainSpec`), `v0_3` for torchtitan 0.3 (Python configs, a `ModelSpec`).
Each host's entry point is a top-level module, named as that host expects:
`nanogpt_titan.plugin` (0.2's `custom_import`) and `nanogpt_titan.config_registry` (0.3's
`--module nanogpt_titan`).
"""
