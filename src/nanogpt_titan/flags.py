"""torchtitan's settings on its command line, the same on every host (its parser is tyro's):
`--section.key value`, a boolean as a flag (`--section.key`, `--section.no-key`)."""

from collections.abc import Mapping


def flags(settings: Mapping[str, object]) -> list[str]:
    """`settings` (`section.key` -> value, or a top-level `key`) as command-line overrides."""
    rendered = []
    for name, value in settings.items():
        if isinstance(value, bool):
            section, dot, key = name.rpartition(".")
            rendered.append(f"--{section}{dot}{'' if value else 'no-'}{key}")
        else:
            rendered += [f"--{name}", str(value)]
    return rendered
