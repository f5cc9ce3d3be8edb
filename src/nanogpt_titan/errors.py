"""The error types for everything a user controls: settings, paths, files, checkpoints."""


class NanoGPTTitanError(ValueError):
    """A user's input that cannot work, said in one line that names the value and the fix.

    The command-line tools and the training entry point report it as that one line; any other
    exception is a bug and keeps its traceback.
    """


class CheckpointError(NanoGPTTitanError):
    """A checkpoint that cannot be read as a nanoGPT model, with the reason and the fix."""
