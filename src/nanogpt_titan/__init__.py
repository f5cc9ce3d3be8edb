"""nanoGPT on torchtitan.

The core (this package's top-level modules and `model`, `data`, `checkpoint`) imports no
torchtitan; `hosts` adapts it to each torchtitan release. Importing any library module changes
nothing in torchtitan. A host loads the package through its entry point:
`nanogpt_titan.plugin` on torchtitan 0.2 (`[experimental] custom_import`, in every shipped
config), which registers the `nanogpt` TrainSpec and adapts torchtitan to machines without
CUDA; `nanogpt_titan.config_registry` on torchtitan 0.3 (`--module nanogpt_titan`).
"""
