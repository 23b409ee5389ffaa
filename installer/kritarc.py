"""Set or revert one key of Krita's kritarc while leaving every other byte as it was.

Why not configparser: it rewrites the whole file (drops comments, reorders, changes case and
spacing), and kritarc holds all of the user's Krita settings. Here the file is edited as lines:
only the one ``key=value`` line is replaced, inserted or removed.
"""

from __future__ import annotations

from pathlib import Path

ENCODING = "utf-8"
ERRORS = "surrogateescape"  # round-trips any bytes that are not valid UTF-8


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _section_span(lines: list[str], section: str) -> tuple[int, int] | None:
    """(header index, end index exclusive) of the first ``[section]``, or None."""
    header = f"[{section}]"
    for i, line in enumerate(lines):
        if line.strip() == header:
            end = i + 1
            while end < len(lines) and not lines[end].lstrip().startswith("["):
                end += 1
            return i, end
    return None


def _key_index(lines: list[str], span: tuple[int, int], key: str) -> int | None:
    for i in range(span[0] + 1, span[1]):
        name, sep, _ = lines[i].partition("=")
        if sep and name.strip() == key:
            return i
    return None


def get_value(text: str, section: str, key: str) -> str | None:
    """The raw value of ``key`` in ``[section]``, or None if absent."""
    lines = text.splitlines(keepends=True)
    span = _section_span(lines, section)
    if span is None:
        return None
    i = _key_index(lines, span, key)
    if i is None:
        return None
    return lines[i].partition("=")[2].rstrip("\r\n")


def set_value(
    text: str, section: str, key: str, value: str | None, drop_empty_section: bool = False
) -> str:
    """``text`` with ``key`` set to ``value`` (None = remove the key) in ``[section]``.

    ``drop_empty_section``: on removal, also remove ``[section]`` if nothing else is left in it
    (used when the installer itself created the section).
    """
    nl = _newline(text)
    lines = text.splitlines(keepends=True)
    span = _section_span(lines, section)
    entry = f"{key}={value}"
    if span is None:
        if value is None:
            return text
        prefix = text
        if prefix and not prefix.endswith(("\n", "\r")):
            prefix += nl
        if prefix.strip():
            prefix += nl
        return prefix + f"[{section}]{nl}{entry}{nl}"
    i = _key_index(lines, span, key)
    if i is not None:
        ending = lines[i][len(lines[i].rstrip("\r\n")) :]
        if value is None:
            del lines[i]
            return _drop_if_empty(lines, section) if drop_empty_section else "".join(lines)
        lines[i] = entry + ending
        return "".join(lines)
    if value is None:
        return text
    # Insert after the section's last non-blank line (keeps the blank line between sections).
    at = span[1]
    while at > span[0] + 1 and not lines[at - 1].strip():
        at -= 1
    if not lines[at - 1].endswith(("\n", "\r")):
        lines[at - 1] += nl
    lines.insert(at, entry + nl)
    return "".join(lines)


def _drop_if_empty(lines: list[str], section: str) -> str:
    span = _section_span(lines, section)
    if span is not None and not any(ln.strip() for ln in lines[span[0] + 1 : span[1]]):
        start, end = span
        # Also drop the blank line that separated it from the previous section.
        if start > 0 and not lines[start - 1].strip() and end >= len(lines):
            start -= 1
        del lines[start:end]
    return "".join(lines)


def read(path: Path) -> str | None:
    """kritarc's text, or None if the file does not exist."""
    try:
        return path.read_bytes().decode(ENCODING, ERRORS)
    except FileNotFoundError:
        return None


def write(path: Path, text: str) -> None:
    """Replace kritarc atomically (a crash never leaves a half-written settings file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.gpt-image-tmp")
    tmp.write_bytes(text.encode(ENCODING, ERRORS))
    try:
        mode = path.stat().st_mode & 0o7777
        tmp.chmod(mode)
    except FileNotFoundError:
        pass
    tmp.replace(path)
