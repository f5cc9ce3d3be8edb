"""`nanogpt-titan`: command-line tools around the plugin.

Results go to stdout; progress, notes and errors to stderr. A failing command prints one
`nanogpt-titan <command>: error: ...` line, exits with status 2 and leaves nothing on disk.
"""

import argparse
import shlex
import sys
from pathlib import Path

from nanogpt_titan.errors import NanoGPTTitanError  # imports nothing: --help stays fast

TRAIN_CONFIGS = Path(__file__).parent / "train_configs"
SRC_HELP = (
    "a DCP folder, a Hugging Face folder (config.json + model.safetensors or pytorch_model.bin), "
    "a nanoGPT ckpt.pt, or a bare state dict (.pt/.bin/.safetensors)"
)


def _compare(args: argparse.Namespace) -> None:
    from nanogpt_titan.compare import compare

    print(compare(args.paths, args.output), end="")
    print(f"wrote {args.output} and {args.output.with_suffix('.txt')}", file=sys.stderr)


def _read(args: argparse.Namespace):
    from nanogpt_titan.checkpoint import read_checkpoint

    checkpoint = read_checkpoint(args.src, n_head=args.n_head, trust_pickle=args.trust_pickle)
    print(f"read {checkpoint.source}: {checkpoint.args}", file=sys.stderr)
    for note in checkpoint.notes:
        print(f"note: {note}", file=sys.stderr)
    return checkpoint


def _recipe_for(block_size: int) -> str:
    """The shipped recipe whose context length is the model's (its validation batches are that
    recipe's, nanoGPT's eval_iters x batch_size), else the CPU recipe."""
    import tomllib

    recipes = ["shakespeare_cpu.toml", "mini-gpt.toml"]
    context = {recipe: tomllib.loads((TRAIN_CONFIGS / recipe).read_text())["training"]["seq_len"] for recipe in recipes}
    return next((recipe for recipe in recipes if context[recipe] == block_size), recipes[0])


def _convert(args: argparse.Namespace) -> None:
    from nanogpt_titan.checkpoint import write_dcp
    from nanogpt_titan.files import refuse_existing
    from nanogpt_titan.hosts import training_command

    refuse_existing(args.dst)
    checkpoint = _read(args)
    write_dcp(checkpoint, args.dst)
    destination, block = args.dst.resolve(), checkpoint.args.block_size
    print(f"wrote DCP checkpoint {destination} (with model_args.json)", file=sys.stderr)
    settings = {
        "model.flavor": str(destination), "checkpoint.enable": True, "checkpoint.load_only": True,
        "checkpoint.initial_load_path": str(destination),
        "job.dump_folder": str(Path.cwd() / "outputs" / f"validate-{destination.name}"),
        "training.steps": 1, "validation.freq": 1, "optimizer.lr": 0, "training.seq_len": block,
        "validation.seq_len": block,
    }
    validate = ["torchrun", "--standalone", "--nproc_per_node=1", "-m", "torchtitan.train",
                *training_command(_recipe_for(block), settings)]
    print(
        f"validate it in torchtitan (load only), from any directory:\n  {shlex.join(validate)}\n"
        "train from it: the same flavor and initial_load_path, without load_only and the zero learning rate, "
        "in a dump folder of its own"
    )


def _export(args: argparse.Namespace) -> None:
    from nanogpt_titan.checkpoint import AdamWSettings, export
    from nanogpt_titan.files import refuse_existing

    refuse_existing(args.dst)
    adamw = None if args.adamw is None else AdamWSettings(*args.adamw)
    kind = export(_read(args), args.dst, args.dataset, adamw)
    print(f"wrote {kind} {args.dst}", file=sys.stderr)


def _data(args: argparse.Namespace, checkpoint):
    """The data folder `--data` names (a nanoGPT data folder, or a text prepared into one;
    default tiny Shakespeare), refused if its vocabulary is not the checkpoint's."""
    from nanogpt_titan.data.text import data_folder

    folder = data_folder(args.data, "--data")
    folder.vocabulary.check_model(checkpoint.args.vocab_size, checkpoint.vocabulary, checkpoint.source,
                                  "pass --data with the data the model was trained on")
    return folder


def _evaluate(args: argparse.Namespace) -> None:
    from nanogpt_titan.evaluate import mean_loss, random_batches, window_batches
    from nanogpt_titan.progress import progress

    device = _device(args.device)  # before the read: a bad device fails fast
    checkpoint = _read(args)
    block_size = args.block_size or checkpoint.args.block_size
    if not 0 < block_size <= checkpoint.args.block_size:
        raise NanoGPTTitanError(f"--block-size {block_size} must be in [1, {checkpoint.args.block_size}] (the model's block_size)")
    tokens = _data(args, checkpoint).split("val")
    model = checkpoint.build_model(device)
    estimate = random_batches(tokens, block_size, args.batch_size, args.eval_iters, args.seed)
    print(f"val loss {mean_loss(model, progress(estimate, args.eval_iters, 'estimate', 'batches')):.4f}")
    windows = window_batches(tokens, block_size, args.batch_size)
    exact = mean_loss(model, progress(windows, len(windows), "exact", "batches"))
    print(f"exact val loss {exact:.4f} ({windows.n_windows} windows of {block_size} tokens)")


def _sample(args: argparse.Namespace) -> None:
    import torch

    from nanogpt_titan.progress import Meter
    from nanogpt_titan.sample import generate

    device = _device(args.device)  # before the read: a bad device fails fast
    checkpoint = _read(args)
    # Without --data, the vocabulary the checkpoint records: sampling needs no data.
    vocabulary = checkpoint.vocabulary if args.data is None and checkpoint.vocabulary else _data(args, checkpoint).vocabulary
    start = Path(args.start[5:]).read_text(encoding="utf-8") if args.start.startswith("FILE:") else args.start
    if not start:
        raise NanoGPTTitanError("--start is empty; give at least one character of context (nanoGPT's default is a newline)")
    model = checkpoint.build_model(device)
    generator = torch.Generator(device=device).manual_seed(args.seed)
    context = torch.tensor([vocabulary.encode(start)], device=device)
    for sample in range(1, args.num_samples + 1):
        tokens = Meter(args.max_new_tokens, f"sample {sample}/{args.num_samples}", "tokens")
        ids = generate(model, context, args.max_new_tokens, args.temperature, args.top_k, generator, tokens.advance)
        print(vocabulary.decode(ids[0].tolist()), flush=True)
        print("---------------", flush=True)


def _train(args: argparse.Namespace) -> None:
    from nanogpt_titan.nanogpt_train import train

    torchrun_options = [f"--{name.replace('_', '-')}={value}" for name, value in vars(args).items()
                        if name in ("node_rank", "rdzv_endpoint", "rdzv_backend", "rdzv_id", "master_addr",
                                    "master_port") and value is not None]
    arguments = args.nanogpt_arguments
    split = arguments.index("--") if "--" in arguments else len(arguments)
    train(arguments[:split], args.nproc_per_node, args.nnodes, torchrun_options, arguments[split + 1 :])


def _prepare(args: argparse.Namespace) -> None:
    from nanogpt_titan.data.prepare import prepare

    prepare(args.inputs, args.out, args.tokenizer)


def _device(name: str):
    """The torch device `--device` names, refused in one line if this machine has none such."""
    import torch

    try:
        device = torch.device(name)
    except RuntimeError:
        raise NanoGPTTitanError(f"--device {name!r} is not a torch device; use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise NanoGPTTitanError(f"--device {name}: this machine has no CUDA device; use --device cpu")
    return device


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return value


def _add_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, help=SRC_HELP)
    parser.add_argument("--n-head", type=_positive_int, help="head count, for sources that do not record it")
    parser.add_argument(
        "--trust-pickle", action="store_true",
        help="unpickle a .pt/.bin fully when torch.load(weights_only=True) refuses it (trusted files only)",
    )


def _add_data_and_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="the training data: a nanoGPT data folder, or a text file (default: "
                        "$NANOGPT_TITAN_DATA, else the downloaded tiny Shakespeare); sample needs none when the "
                        "checkpoint records its vocabulary")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--seed", type=int, default=1337)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nanogpt-titan", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    compare = commands.add_parser(
        "compare", help="overlay nanoGPT training logs and our runs (mean and spread per side): a PNG and a table"
    )
    compare.add_argument(
        "paths", type=Path, nargs="+",
        help="nanoGPT train.py stdout logs (run with --log_interval=1) and our runs (dump folders or metrics.jsonl)",
    )
    compare.add_argument("-o", "--output", type=Path, default=Path("comparison.png"), help="PNG to write")
    compare.set_defaults(run=_compare)

    convert = commands.add_parser("convert", help="a nanoGPT / Hugging Face checkpoint -> a DCP folder for torchtitan")
    _add_source(convert)
    convert.add_argument("dst", type=Path, help="the DCP folder to create")
    convert.set_defaults(run=_convert)

    export = commands.add_parser("export", help="any checkpoint -> nanoGPT ckpt.pt (DST ends in .pt) or a Hugging Face folder")
    _add_source(export)
    export.add_argument("dst", type=Path, help="a .pt file, or a folder to create")
    export.add_argument("--dataset", help="for ckpt.pt: the nanoGPT dataset the model was trained on (nanoGPT's "
                        "sample.py finds data/DATASET/meta.pkl by it), e.g. shakespeare_char")
    export.add_argument("--adamw", type=float, nargs=4, metavar=("LR", "BETA1", "BETA2", "WEIGHT_DECAY"),
                        help="for ckpt.pt: a fresh AdamW state with these settings, which nanoGPT's "
                        "train.py --init_from=resume needs (and adopts), e.g. 1e-3 0.9 0.99 0.1")
    export.set_defaults(run=_export)

    evaluate = commands.add_parser("evaluate", help="validation loss: nanoGPT's random-batch estimate, then the exact value")
    _add_source(evaluate)
    _add_data_and_device(evaluate)
    evaluate.add_argument("--eval-iters", type=_positive_int, default=200, help="random batches of the estimate")
    evaluate.add_argument("--batch-size", type=_positive_int, default=64)
    evaluate.add_argument("--block-size", type=_positive_int, help="window length (default: the model's block_size)")
    evaluate.set_defaults(run=_evaluate)

    sample = commands.add_parser("sample", help="generate text like nanoGPT's sample.py")
    _add_source(sample)
    _add_data_and_device(sample)
    sample.add_argument("--start", default="\n", help="the prompt, or FILE:path to read it from a file")
    sample.add_argument("--num-samples", type=_positive_int, default=10)
    sample.add_argument("--max-new-tokens", type=int, default=500)
    sample.add_argument("--temperature", type=float, default=0.8)
    sample.add_argument("--top-k", type=_positive_int, default=200)
    sample.set_defaults(run=_sample)

    train = commands.add_parser(
        "train", allow_abbrev=False,
        usage="nanogpt-titan train [launch options] [CONFIG.py ...] [--key=value ...] [-- torchtitan overrides]",
        help="run nanoGPT's train.py command line (config files, --key=value) through torchtitan",
        description="nanoGPT's arguments, as its train.py takes them (config files run over train.py's defaults, "
                    "then --key=value), run by torchtitan's entry point; the launch options are torchrun's. "
                    "Arguments after -- are torchtitan's own, added to the translation (e.g. "
                    "--parallelism.data_parallel_replicate_degree 2 for HSDP across two nodes).",
    )
    train.add_argument("--nproc-per-node", type=_positive_int, default=1, help="processes per node (torchrun's)")
    train.add_argument("--nnodes", type=_positive_int, default=1, help="nodes (torchrun's)")
    for option in ("--node-rank", "--rdzv-endpoint", "--rdzv-backend", "--rdzv-id", "--master-addr", "--master-port"):
        train.add_argument(option, help="torchrun's, for runs across nodes")
    train.set_defaults(run=_train)

    prepare = commands.add_parser("prepare", help="text files -> a nanoGPT data folder (train.bin, val.bin, meta.pkl)")
    prepare.add_argument("inputs", type=Path, nargs="+", metavar="INPUT", help="UTF-8 text files, read as one text")
    prepare.add_argument("--out", type=Path, required=True, help="the data folder to create")
    prepare.add_argument("--tokenizer", choices=["char", "gpt2"], default="char",
                         help="char: nanoGPT's shakespeare_char (meta.pkl); gpt2: GPT-2 BPE via tiktoken")
    prepare.set_defaults(run=_prepare)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, nanogpt_arguments = parser.parse_known_args(argv)
    if nanogpt_arguments and args.command != "train":
        parser.error(f"unrecognized arguments: {' '.join(nanogpt_arguments)}")
    args.nanogpt_arguments = nanogpt_arguments
    try:
        args.run(args)
    except (NanoGPTTitanError, OSError) as error:  # anything else is a bug: its traceback stays
        print(f"nanogpt-titan {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # every writer leaves nothing behind when interrupted
        print(f"nanogpt-titan {args.command}: interrupted, nothing written", file=sys.stderr)
        return 130
    return 0
