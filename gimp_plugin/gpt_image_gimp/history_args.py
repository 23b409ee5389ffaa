"""Names, menu texts and script arguments of History… and Settings… (plain Python: registering
them needs no third-party package)."""

from __future__ import annotations

from typing import Any

from .arguments import Arg

HISTORY_PROC = "plug-in-gpt-image-history"
SETTINGS_PROC = "plug-in-gpt-image-settings"
#: What a script can ask History… to do with one entry (the window offers reuse and search too).
HISTORY_ACTIONS = ("insert", "delete")
HISTORY_ARGS: tuple[Arg, ...] = (
    Arg(
        "action",
        "choice",
        "_Action",
        "insert: the entry's result again as a result layer, through the selection it was made "
        "for (all its variants kept, the first shown); delete: remove the entry from history.",
        "insert",
        choices=HISTORY_ACTIONS,
        procs=(HISTORY_PROC,),
    ),
    Arg(
        "history-id",
        "string",
        "_History id",
        "The entry's id (python -m core history list shows them).",
        "",
        procs=(HISTORY_PROC,),
    ),
)
HISTORY_DOCS = (
    "_History…",
    "Browse past GPT Image results: insert one again, reuse its prompt, or delete it",
    "Thumbnails of past jobs (shared with Krita and the CLI) with prompt, model, cost and date, "
    "and a search box. Insert puts a result back as one result layer through the selection it "
    "was made for (an expand grows the canvas again); Reuse prompt opens Edit…/Generate…/"
    "Expand… with its prompt and options; Delete removes it from history. Scripts: action "
    "insert or delete with history-id.",
)
SETTINGS_DOCS = (
    "_Settings…",
    "The API key, provider and defaults shared by GIMP, Krita and the command line",
    "API key (masked; Test connection checks it without saving), provider (OpenAI, a "
    "compatible server at a base URL, or Azure OpenAI), default model and quality, partial "
    "previews and the request timeout. Written to the shared settings file only on Save.",
)


def procedure_for_mode(mode: str) -> str:
    """The procedure that makes a job of ``mode`` (job.json's ``mode``) again."""
    from core.pipeline import Mode

    from .arguments import EDIT_PROC, EXPAND_PROC, GENERATE_PROC

    if mode == Mode.GENERATE.value:
        return GENERATE_PROC
    if mode == Mode.EXPAND.value:
        return EXPAND_PROC
    return EDIT_PROC


def reuse_values(data: dict, proc_name: str) -> dict[str, Any]:
    """The procedure arguments that repeat a past job (job.json ``data``): its prompt and every
    option the record stored that ``proc_name`` takes, by the option's GIMP name (core.options)."""
    from core.job_record import record_options
    from core.options import OPTIONS

    from .arguments import args_for

    stored = record_options(data)
    flat = {**stored, **stored.get("blend", {})}
    takes = {arg.name for arg in args_for(proc_name)}
    values: dict[str, Any] = {"prompt": str(data.get("prompt") or "")}
    for opt in OPTIONS:
        if opt.gimp in takes and flat.get(opt.name) is not None and opt.gimp != "references":
            values[opt.gimp] = flat[opt.name]
    return values
