"""The adapter to torchtitan 0.3: the model as a `BaseModel`, its components as `Configurable`s,
the trainer's configs (`nanogpt_titan.config_registry`), and launching without torchrun."""
