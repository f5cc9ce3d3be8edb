"""The TrainSpec's validator: torchtitan 0.2's, evaluating the nanoGPT way
(`nanogpt_titan.hosts.validation`)."""

from contextlib import AbstractContextManager

from torchtitan.components.metrics import MetricsProcessor
from torchtitan.components.validate import BaseValidator
from torchtitan.config import JobConfig

from nanogpt_titan.data.datasets import dataset_split
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.v0_2.settings import nanogpt_run, run_data
from nanogpt_titan.hosts.validation import Evaluation, EvaluationSettings, last_validation_step


class NanoGPTValidator(Evaluation, BaseValidator):
    pass


def build_nanogpt_validator(
    job_config: JobConfig,
    tokenizer,
    maybe_enable_amp: AbstractContextManager,
    metrics_processor: MetricsProcessor,
    **kwargs,
) -> NanoGPTValidator:
    """The TrainSpec's validator builder (torchtitan's own would build a c4 dataloader).

    Every data-parallel rank evaluates the same batches: validation reads the same number
    whatever the degree. Tensor parallelism is refused, so the loss-parallel context torchtitan
    passes as `validation_context` never applies.
    """
    validation, training = job_config.validation, job_config.training
    if validation.dataset_path not in (None, training.dataset_path):
        raise NanoGPTTitanError(
            f"validation.dataset_path={validation.dataset_path!r}: the validation split is val.bin of the training "
            "data's folder (the last 10% of a text), so set training.dataset_path only"
        )
    run, data = nanogpt_run(job_config), run_data(job_config)
    validator = NanoGPTValidator(job_config)
    validator.start_evaluation(
        EvaluationSettings(
            val_tokens=data.split(dataset_split(validation.dataset)),
            train_tokens=data.split(dataset_split(training.dataset)),
            seq_len=validation.seq_len,
            batch_size=validation.local_batch_size,
            steps=validation.steps,
            seed=run.randomness.seed,
            last_step=last_validation_step(training.steps, validation.freq),
            autocast=maybe_enable_amp,
        ),
        metrics_processor,
        run.randomness,
    )
    return validator
