"""``python -m core``: the plug-ins' jobs on files.

The library never prints; this package owns stdout/stderr and exit codes. Every failure is a
``GptImageError`` turned into one line on stderr and its ``exit_code``.

- ``plan``: the dry run (``plan.py``)
- ``generate``, ``edit``, ``estimate``, ``check``, ``improve`` (``jobs.py``)
- ``history`` (``history.py``)
- ``refine`` (``refine.py``); ``--compare`` on ``generate`` / ``edit`` (``compare.py``)
- what they share: ``options.py`` (inputs), ``runtime.py`` (settings, logging, errors), ``console.py``
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from ..errors import EXIT_BAD_INPUT, EXIT_CANCELLED, GptImageError
from .console import write_err
from .history import add_history_command
from .jobs import (
    add_check_command,
    add_edit_command,
    add_estimate_command,
    add_generate_command,
    add_improve_command,
    output_paths,
)
from .plan import add_plan_command
from .refine import add_refine_command

Handler = Callable[[argparse.Namespace], int]

COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_plan_command,
    add_generate_command,
    add_edit_command,
    add_estimate_command,
    add_check_command,
    add_history_command,
    add_improve_command,
    add_refine_command,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="OpenAI gpt-image edits, generation and dry runs on image files.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in COMMANDS:
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except GptImageError as error:
        write_err(f"error: {error}\n")
        return error.exit_code
    except KeyboardInterrupt:
        write_err("cancelled\n")
        return EXIT_CANCELLED


__all__ = ["COMMANDS", "EXIT_BAD_INPUT", "build_parser", "main", "output_paths"]
