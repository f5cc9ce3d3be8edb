"""nanoGPT on torchtitan.

Importing the package, or any of its library modules (model, checkpoint, datasets, tokenizer,
sample, evaluate, compare), changes nothing in torchtitan. The torchtitan plugin is
`nanogpt_titan.plugin`, which the shipped configs load with
`[experimental] custom_import = "nanogpt_titan.plugin"`: it registers the `nanogpt` TrainSpec
(defined in `nanogpt_titan.train_spec`) and adapts torchtitan to machines without CUDA.
"""
