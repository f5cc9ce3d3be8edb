from nanogpt_titan.infra.parallelize import parallelize_nanogpt

__all__ = ["parallelize_nanogpt"]
