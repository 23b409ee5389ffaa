"""The arguments of ``plug-in-gpt-image-variants`` (plain Python: registration needs no core)."""

from __future__ import annotations

from .arguments import Arg

VARIANTS_PROC = "plug-in-gpt-image-variants"
ACTIONS = ("show", "next", "previous", "keep-one", "keep-all", "refine")
VARIANT_ARGS: tuple[Arg, ...] = (
    Arg(
        "action",
        "choice",
        "_Action",
        "show, next, previous, keep-one, keep-all or refine (the shown variant, with prompt).",
        "next",
        choices=ACTIONS,
        procs=(VARIANTS_PROC,),
    ),
    Arg(
        "variant",
        "int",
        "_Variant",
        "For show: which variant, 1-based over all rounds (0 = the one shown).",
        0,
        0,
        10000,
        procs=(VARIANTS_PROC,),
    ),
    Arg(
        "prompt",
        "string",
        "_Follow-up",
        "For refine: what to change in the shown variant (the original instruction is kept).",
        "",
        procs=(VARIANTS_PROC,),
    ),
)
DOCS = (
    "_Variants…",
    "Flip the active GPT result layer between its variants, keep one or all, or refine one",
    "Works on a layer made by GPT Image Edit…/Generate… (it carries the gpt-image-variants "
    "parasite). show/next/previous swap the layer's pixels in place, one undo step each; "
    "keep-one drops the other variants from the layer (they stay in history); keep-all makes a "
    "layer per variant in a group; refine edits the shown variant again with prompt as the "
    "follow-up, through the same selection, and adds the result as a new round.",
)
