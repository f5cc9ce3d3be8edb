"""torchtitan 0.2's entry point, by the name its configs give: `[experimental] custom_import =
"nanogpt_titan.plugin"`. Importing it loads the 0.2 adapter's registration
(`nanogpt_titan.hosts.v0_2.registration`), which registers the `nanogpt` TrainSpec and adapts
torchtitan to machines without CUDA."""

from nanogpt_titan.hosts.v0_2 import registration  # noqa: F401  (it registers when imported)
