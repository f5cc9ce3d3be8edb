"""`nanogpt-titan`: command-line tools around the plugin."""

import argparse
import sys
from pathlib import Path


def _compare(args: argparse.Namespace) -> None:
    from nanogpt_titan.compare import compare

    print(compare(args.nanogpt_log, args.runs, args.output), end="")
    print(f"wrote {args.output} and {args.output.with_suffix('.txt')}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nanogpt-titan", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    compare = commands.add_parser(
        "compare", help="overlay a nanoGPT training log and our runs: a PNG and a text table"
    )
    compare.add_argument("nanogpt_log", type=Path, help="nanoGPT train.py stdout, run with --log_interval=1")
    compare.add_argument("runs", type=Path, nargs="+", help="our runs: dump folders or metrics.jsonl files")
    compare.add_argument("-o", "--output", type=Path, default=Path("comparison.png"), help="PNG to write")
    compare.set_defaults(run=_compare)
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except (OSError, ValueError, KeyError) as error:
        print(f"nanogpt-titan {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0
