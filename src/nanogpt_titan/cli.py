"""`nanogpt-titan`: command-line tools around the plugin; this module parses and dispatches.

Results go to stdout; progress, notes and errors to stderr. A failing command prints one
`nanogpt-titan <command>: error: ...` line, exits with status 2 and leaves nothing on disk.
"""

import argparse
import shlex
import sys
from pathlib import Path

from nanogpt_titan.errors import NanoGPTTitanError  # imports nothing: --help stays fast
from nanogpt_titan.launch import Launch  # the same

SRC_HELP = (
    "a run's folder, a DCP folder, a Hugging Face folder (config.json + model.safetensors or pytorch_model.bin), "
    "a nanoGPT ckpt.pt (or its out_dir), or a bare state dict (.pt/.bin/.safetensors)"
)


def _compare(args: argparse.Namespace) -> None:
    from nanogpt_titan.compare import compare

    print(compare(args.paths, args.output), end="")
    print(f"wrote {args.output} and {args.output.with_suffix('.txt')}", file=sys.stderr)


def _read(args: argparse.Namespace):
    from nanogpt_titan.checkpoint import read_reported

    return read_reported(args.src, n_head=args.n_head, trust_pickle=args.trust_pickle)


def _convert(args: argparse.Namespace) -> None:
    from nanogpt_titan.checkpoint import write_dcp
    from nanogpt_titan.hosts import load_only_command
    from nanogpt_titan.safe_write import refuse_existing

    refuse_existing(args.dst)
    checkpoint = _read(args)
    write_dcp(checkpoint, args.dst)
    destination = args.dst.resolve()
    print(f"wrote DCP checkpoint {destination} (with model_args.json)", file=sys.stderr)
    print(
        f"validate it in torchtitan (load only), from any directory:\n"
        f"  {shlex.join(load_only_command(destination, checkpoint.args.block_size))}\n"
        "train from it: the same flavor and initial_load_path, without load_only and the zero learning rate, "
        "in a dump folder of its own"
    )


def _export(args: argparse.Namespace) -> None:
    from nanogpt_titan.checkpoint import AdamWSettings, export
    from nanogpt_titan.safe_write import refuse_existing

    refuse_existing(args.dst)
    adamw = None if args.adamw is None else AdamWSettings(*args.adamw)
    kind = export(_read(args), args.dst, args.dataset, adamw)
    print(f"wrote {kind} {args.dst}", file=sys.stderr)


def _evaluate(args: argparse.Namespace) -> None:
    from nanogpt_titan.evaluate import evaluate_checkpoint

    evaluate_checkpoint(
        lambda: _read(args), args.data, args.device, args.block_size, args.batch_size, args.eval_iters, args.seed
    )


def _sample(args: argparse.Namespace) -> None:
    from nanogpt_titan.nanogpt.sample import Sampling, sample_checkpoint

    settings = ("start", "num_samples", "max_new_tokens", "temperature", "top_k", "seed", "device")
    sampling = Sampling(**{name: getattr(args, name) for name in settings}, device_flag="--device ")
    sample_checkpoint(lambda: _read(args), args.data, sampling)


def _sample_py(args: argparse.Namespace) -> None:
    from nanogpt_titan.nanogpt.sample import sample_py

    sample_py(args.nanogpt_arguments)


def _train(args: argparse.Namespace) -> None:
    from nanogpt_titan.nanogpt.train import train

    arguments = args.nanogpt_arguments
    split = arguments.index("--") if "--" in arguments else len(arguments)
    train(arguments[:split], Launch.from_arguments(args), arguments[split + 1 :])


def _prepare(args: argparse.Namespace) -> None:
    from nanogpt_titan.data.prepare import prepare

    prepare(args.inputs, args.out, args.tokenizer)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return value


def _add_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, help=SRC_HELP)
    parser.add_argument("--n-head", type=_positive_int, help="head count, for sources that do not record it")
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="unpickle a .pt/.bin fully when torch.load(weights_only=True) refuses it (trusted files only)",
    )


def _add_data_and_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        help="the training data: a nanoGPT data folder, or a text file (default: "
        "$NANOGPT_TITAN_DATA, else the downloaded tiny Shakespeare); sample needs none when the "
        "checkpoint records its vocabulary",
    )
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--seed", type=int, default=1337)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nanogpt-titan", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    compare = commands.add_parser(
        "compare", help="overlay nanoGPT training logs and our runs (mean and spread per side): a PNG and a table"
    )
    compare.add_argument(
        "paths",
        type=Path,
        nargs="+",
        help="nanoGPT train.py stdout logs (run with --log_interval=1) and our runs (dump folders or metrics.jsonl)",
    )
    compare.add_argument("-o", "--output", type=Path, default=Path("comparison.png"), help="PNG to write")
    compare.set_defaults(run=_compare)

    convert = commands.add_parser("convert", help="a nanoGPT / Hugging Face checkpoint -> a DCP folder for torchtitan")
    _add_source(convert)
    convert.add_argument("dst", type=Path, help="the DCP folder to create")
    convert.set_defaults(run=_convert)

    export = commands.add_parser(
        "export", help="any checkpoint -> nanoGPT ckpt.pt (DST ends in .pt) or a Hugging Face folder"
    )
    _add_source(export)
    export.add_argument("dst", type=Path, help="a .pt file, or a folder to create")
    export.add_argument(
        "--dataset",
        help="for ckpt.pt: the nanoGPT dataset the model was trained on (nanoGPT's "
        "sample.py finds data/DATASET/meta.pkl by it), e.g. shakespeare_char",
    )
    export.add_argument(
        "--adamw",
        type=float,
        nargs=4,
        metavar=("LR", "BETA1", "BETA2", "WEIGHT_DECAY"),
        help="for ckpt.pt: a fresh AdamW state with these settings, which nanoGPT's "
        "train.py --init_from=resume needs (and adopts), e.g. 1e-3 0.9 0.99 0.1",
    )
    export.set_defaults(run=_export)

    evaluate = commands.add_parser(
        "evaluate", help="validation loss: nanoGPT's random-batch estimate, then the exact value"
    )
    _add_source(evaluate)
    _add_data_and_device(evaluate)
    evaluate.add_argument("--eval-iters", type=_positive_int, default=200, help="random batches of the estimate")
    evaluate.add_argument("--batch-size", type=_positive_int, default=64)
    evaluate.add_argument("--block-size", type=_positive_int, help="window length (default: the model's block_size)")
    evaluate.set_defaults(run=_evaluate)

    sample = commands.add_parser(
        "sample",
        usage="nanogpt-titan sample SRC [options] | nanogpt-titan sample [CONFIG.py ...] [--key=value ...]",
        help="generate text as nanoGPT's sample.py does, from the same seed the same text",
        description="Either a checkpoint and this command's options, or nanoGPT's sample.py command line (config "
        "files and --key=value over sample.py's defaults: --out_dir, --init_from=resume or gpt2*, "
        "--start, --num_samples, --max_new_tokens, --temperature, --top_k, --seed, --device, --dtype, "
        "--compile).",
    )
    _add_source(sample)
    _add_data_and_device(sample)
    sample.add_argument("--start", default="\n", help="the prompt, or FILE:path to read it from a file")
    sample.add_argument("--num-samples", type=_positive_int, default=10)
    sample.add_argument("--max-new-tokens", type=int, default=500)
    sample.add_argument("--temperature", type=float, default=0.8)
    sample.add_argument("--top-k", type=_positive_int, default=200)
    sample.set_defaults(run=_sample)

    train = commands.add_parser(
        "train",
        allow_abbrev=False,
        usage="nanogpt-titan train [torchrun options] [CONFIG.py ...] [--key=value ...] [-- torchtitan overrides]",
        help="run nanoGPT's train.py command line (config files, --key=value) through torchtitan",
        description="nanoGPT's arguments, as its train.py takes them (config files run over train.py's defaults, "
        "then --key=value), run by torchtitan's entry point; the launch options are torchrun's, in "
        "either of its spellings. Arguments after -- are torchtitan's own, added to the translation "
        "(e.g. --parallelism.data_parallel_replicate_degree 2 for HSDP across two nodes).",
    )
    Launch.add_arguments(train, _positive_int)
    train.set_defaults(run=_train)

    prepare = commands.add_parser("prepare", help="text files -> a nanoGPT data folder (train.bin, val.bin, meta.pkl)")
    prepare.add_argument("inputs", type=Path, nargs="+", metavar="INPUT", help="UTF-8 text files, read as one text")
    prepare.add_argument("--out", type=Path, required=True, help="the data folder to create")
    prepare.add_argument(
        "--tokenizer",
        choices=["char", "gpt2"],
        default="char",
        help="char: nanoGPT's shakespeare_char (meta.pkl); gpt2: GPT-2 BPE via tiktoken",
    )
    prepare.set_defaults(run=_prepare)
    return parser


def _is_sample_py(arguments: list[str]) -> bool:
    """sample.py's command line: config files and `--key=value` settings, no checkpoint named."""
    return all(argument.endswith(".py") or (argument.startswith("--") and "=" in argument) for argument in arguments)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = _parser()
    if argv[:1] == ["sample"] and _is_sample_py(argv[1:]):
        args = argparse.Namespace(command="sample", run=_sample_py, nanogpt_arguments=argv[1:])
    else:
        args, nanogpt_arguments = parser.parse_known_args(argv)
        if nanogpt_arguments and args.command != "train":
            parser.error(f"unrecognized arguments: {' '.join(nanogpt_arguments)}")
        args.nanogpt_arguments = nanogpt_arguments
    try:
        args.run(args)
    except (NanoGPTTitanError, OSError) as error:  # anything else is a bug: its traceback stays
        print(f"nanogpt-titan {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.command != "train":  # a run's ranks say where they stopped; every writer leaves nothing behind
            print(f"nanogpt-titan {args.command}: interrupted, nothing written", file=sys.stderr)
        return 130
    return 0
