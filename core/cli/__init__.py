"""``python -m core``: the plug-ins' jobs on files.

The library never prints; this package owns stdout/stderr and exit codes. Every failure is a
``GptImageError`` turned into one line on stderr and its ``exit_code``.

- ``plan``: the dry run (``plan.py``)
- ``generate``, ``edit``, ``estimate``, ``check``, ``improve`` (``jobs.py``)
- ``expand`` (``expand.py``)
- ``history`` (``history.py``)
- ``refine`` (``refine.py``); ``--compare`` on ``generate`` / ``edit`` (``compare.py``)
- ``models`` (``models.py``)
- ``batch`` (``batch.py``, ``batch_report.py``, ``batch_api.py``; engine in ``core/batch/``)
- what they share: ``options.py`` (inputs), ``runtime.py`` (settings, logging, errors), ``console.py``
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from ..errors import EXIT_BAD_INPUT, EXIT_CANCELLED, GptImageError, InputError, InternalError
from .console import write_err

Handler = Callable[[argparse.Namespace], int]

#: Each command, in ``--help`` order → the module and function that add it to the parser. A
#: command's module is imported only when it is the one run (or for ``--help`` and unknown
#: names): ``edit`` has no use for the batch, history or expand code, and every import delays
#: its request.
COMMANDS: dict[str, tuple[str, str]] = {
    "plan": (".plan", "add_plan_command"),
    "generate": (".jobs", "add_generate_command"),
    "edit": (".jobs", "add_edit_command"),
    "expand": (".expand", "add_expand_command"),
    "estimate": (".jobs", "add_estimate_command"),
    "check": (".jobs", "add_check_command"),
    "history": (".history", "add_history_command"),
    "improve": (".jobs", "add_improve_command"),
    "refine": (".refine", "add_refine_command"),
    "models": (".models", "add_models_command"),
    "batch": (".batch", "add_batch_command"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of ``command`` when it is one (the rest of the
    command line is parsed the same either way)."""
    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="OpenAI gpt-image edits, generation and dry runs on image files.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in [command] if command in COMMANDS else COMMANDS:
        module, function = COMMANDS[name]
        getattr(importlib.import_module(module, __name__), function)(commands)
    return parser


#: Options whose value is free text, which may well start with "-" ("-40% saturation").
TEXT_OPTIONS = ("--prompt", "--search")


def keep_text_values(argv: Sequence[str], parser: argparse.ArgumentParser) -> list[str]:
    """``--prompt -red``: argparse takes any word that starts with "-" and has no space for an
    option, so the prompt goes missing and "-red" is an unknown option. Such a word after a text
    option is its value (``--prompt=-red``) unless it names one of the command's own options
    (``--prompt --model x`` still says the prompt is missing)."""
    options = [
        name
        for action in parser._actions  # argparse has no public list of a subcommand's options
        if isinstance(action, argparse._SubParsersAction)
        for sub in action.choices.values()
        for name in sub._option_string_actions
    ]
    longs = [name for name in options if name.startswith("--")]
    shorts = {name for name in options if not name.startswith("--")}

    def names_an_option(word: str) -> bool:
        if word.startswith("--"):
            stem = word.split("=", 1)[0]
            return stem == "--" or any(name.startswith(stem) for name in longs)
        # "-n3" is -n with 3 attached; "-nice" as a prompt beats "-n ice", which fails anyway
        return word[:2] in shorts and (word[2:] == "" or word[2:].isdigit())

    glued: list[str] = []
    words = iter(argv)
    for word in words:
        if word in TEXT_OPTIONS:
            value = next(words, None)
            if value is not None and value.startswith("-") and not names_an_option(value):
                glued.append(f"{word}={value}")
                continue
            glued.append(word)
            if value is not None:
                glued.append(value)
            continue
        glued.append(word)
    return glued


def refuse_undecodable(args: argparse.Namespace) -> None:
    """Text options (prompt, model, search…) that held bytes which are not UTF-8: Python keeps
    them as lone surrogates, which no request, JSON or file can carry. File names may hold any
    bytes and are ``Path``s, so they pass."""
    for name, value in vars(args).items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str) and any("\ud800" <= ch <= "\udfff" for ch in item):
                flag = "--" + name.replace("_", "-")
                raise InputError(
                    f"The {flag} text holds bytes that are not valid UTF-8.",
                    hint="Pass it as UTF-8 text (check the terminal's or script's encoding).",
                )


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(keep_text_values(argv, parser))
    handler: Handler = args.handler
    try:
        refuse_undecodable(args)
        return handler(args)
    except GptImageError as error:
        write_err(f"error: {error}\n")
        return error.exit_code
    except KeyboardInterrupt:
        write_err("cancelled\n")
        return EXIT_CANCELLED
    except Exception as exc:  # a bug outside a settings command (plan, ...): exit 5, say so
        import traceback

        write_err(traceback.format_exc())
        error = InternalError.from_exception(exc, request_sent=False)
        write_err(f"error: {error}\n")
        return error.exit_code


__all__ = ["COMMANDS", "EXIT_BAD_INPUT", "build_parser", "main"]
