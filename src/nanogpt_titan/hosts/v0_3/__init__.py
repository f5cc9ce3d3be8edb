"""The adapter to torchtitan 0.3.0: its batches counted in windows, its torchdata dataloader; the
rest is the Configurable adapter (`nanogpt_titan.hosts.configurable`)."""
