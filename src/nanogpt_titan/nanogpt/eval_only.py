"""`eval_only=True`: nanoGPT's `estimate_loss` of the model `init_from` names, at its iteration,
from nanoGPT's own draws, printed as nanoGPT prints it; nothing is written."""

from contextlib import nullcontext

from nanogpt_titan.checkpoint.weights import Checkpoint
from nanogpt_titan.data.folder import DataFolder
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.nanogpt.init_from import pretrained, resumed
from nanogpt_titan.nanogpt.translation import data_folder, model_args
from nanogpt_titan.randomness import DEFAULT_SEED


def _model_to_evaluate(config: dict, data: DataFolder) -> tuple[Checkpoint, object]:
    """The model eval_only evaluates, and the model nanoGPT's constructor draws for before it."""
    from nanogpt_titan.nanogpt_draws import initial_weights

    if config["init_from"] == "resume":
        checkpoint = resumed(config["out_dir"])
        return checkpoint, checkpoint.args
    if config["init_from"] != "scratch":
        return pretrained(config["init_from"], config["block_size"], config["dropout"])
    args = model_args(config)
    args.vocab_size = data.vocabulary.model_size
    weights, _ = initial_weights(args, DEFAULT_SEED)
    return Checkpoint(args, weights, "a model from scratch", vocabulary=data.vocabulary), args


def estimate_loss(config: dict) -> tuple[int, dict[str, float]]:
    """nanoGPT's `estimate_loss` of the model `init_from` names at its iteration, from nanoGPT's
    draws: `torch.manual_seed(1337)`, its constructor's, the first batch, then eval_iters
    batches of each split; in eval mode."""
    import torch

    from nanogpt_titan.evaluate import mean_loss
    from nanogpt_titan.nanogpt_draws import NanoGPTBatches, initial_weights

    device = torch.device(config["device"])
    data = data_folder(config)
    checkpoint, constructed = _model_to_evaluate(config, data)
    data.vocabulary.check_model(
        checkpoint.args.vocab_size,
        checkpoint.vocabulary,
        checkpoint.source,
        "evaluate on the data the model was trained on",
    )
    if config["block_size"] > checkpoint.args.block_size:
        raise NanoGPTTitanError(
            f"block_size={config['block_size']} exceeds the {checkpoint.args.block_size} "
            f"positions of {checkpoint.source}: set --block_size<={checkpoint.args.block_size}"
        )
    torch.set_rng_state(initial_weights(constructed, DEFAULT_SEED)[1])
    batches = NanoGPTBatches(
        data.split("train"),
        data.split("val"),
        config["batch_size"],
        config["block_size"],
        micro_batches=1,
        eval_interval=1,
        eval_iters=config["eval_iters"],
        evaluates=True,
    )
    evaluation = batches.evaluation(checkpoint.step)
    model = checkpoint.build_model(device)
    dtype = getattr(torch, config["dtype"])
    autocast = (
        torch.autocast("cuda", dtype=dtype) if device.type == "cuda" and dtype != torch.float32 else nullcontext()
    )
    return checkpoint.step, {split: mean_loss(model, evaluation[split], autocast) for split in ("train", "val")}
