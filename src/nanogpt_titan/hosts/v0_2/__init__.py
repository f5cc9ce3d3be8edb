"""The adapter to torchtitan 0.2: the `nanogpt` TrainSpec, its builders and the CPU adaptation."""
