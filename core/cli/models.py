"""``models``: the image models the plug-ins know, with their qualities, size rules,
transparency and prices (the same list the Krita and GIMP model pickers show)."""

from __future__ import annotations

import argparse

from ..errors import EXIT_OK
from ..models import model_table
from ..settings import Settings
from .runtime import add_verbose, say, say_json, with_settings


def add_models_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "models",
        help="list the image models with their qualities, sizes, transparency and prices",
        description="The image models the plug-ins know (and custom_models from settings): "
        "qualities, size rule, transparent background, prices per 1M tokens. No network.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_verbose(parser)
    parser.set_defaults(handler=with_settings(cmd_models, lenient=True))


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    rows = model_table(settings.custom_models, default=settings.model)
    if args.json:
        say_json(args, {"models": rows})
        return EXIT_OK
    for row in rows:
        prices = row["price_per_1m"]
        price = (
            f"${prices['text_input']:g}/${prices['image_input']:g}/${prices['image_output']:g}"
            if prices
            else "no prices"
        )
        clear = "transparent" + (" (preview)" if row["transparent_preview"] else "")
        marks = " [default]" if row["default"] else ""
        say(args, f"{row['name']}{marks} — {row['description']}")
        say(
            args,
            f"    quality {'|'.join(row['qualities'])}; {row['size_text']}; "
            f"{clear if row['transparent'] else 'no transparency'}; "
            f"text in/image in/image out per 1M {price}",
        )
    return EXIT_OK
