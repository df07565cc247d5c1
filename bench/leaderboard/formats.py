"""A board as a list of blocks, written as Markdown or as one self-contained HTML page.

Both writers are pure functions of the blocks (no dates, no versions, no paths of the
machine), and the plot's PNG is stripped of its text chunks (matplotlib writes its
version there), so re-rendering unchanged submissions gives identical bytes.

Example:
    >>> blocks = [Block("h1", "Board"), Block("table", headers=("a", "b"), rows=[("1", "x|y")])]
    >>> print(to_markdown(blocks))
    # Board
    <BLANKLINE>
    | a   | b    |
    |-----|------|
    | 1   | x\\|y |
    <BLANKLINE>
"""

from __future__ import annotations

import base64
import html
import re
import struct
from dataclasses import dataclass, field

from tabulate import tabulate

_HEADINGS = {"h1": "#", "h2": "##", "h3": "###"}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
    "th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}"
    "th{background:#f3f3f3}code{background:#f3f3f3;padding:0 .2rem}img{max-width:100%}"
)


@dataclass(frozen=True)
class Block:
    """A heading (``h1``-``h3``), a paragraph (``p``), a table or an image (``img``).

    Paragraph text may use ``code`` spans and **bold**; an image's ``text`` is its alt
    text and ``src`` its file name beside the board.
    """

    kind: str
    text: str = ""
    headers: tuple[str, ...] = ()
    rows: list[tuple[str, ...]] = field(default_factory=list)
    src: str = ""


def to_markdown(blocks: list[Block]) -> str:
    """The board as GitHub-flavoured Markdown."""
    parts = []
    for block in blocks:
        if block.kind in _HEADINGS:
            parts.append(f"{_HEADINGS[block.kind]} {block.text}")
        elif block.kind == "table":
            rows = [[_md_cell(cell) for cell in row] for row in block.rows]
            headers = [_md_cell(h) for h in block.headers]
            parts.append(tabulate(rows, headers, tablefmt="github", disable_numparse=True))
        elif block.kind == "img":
            parts.append(f"![{block.text}]({block.src})")
        else:
            parts.append(block.text)
    return "\n\n".join(parts) + "\n"


def to_html(blocks: list[Block], images: dict[str, bytes], title: str) -> str:
    """One self-contained HTML page; images are embedded as data URIs."""
    body = []
    for block in blocks:
        if block.kind in _HEADINGS:
            body.append(f"<{block.kind}>{_inline(block.text)}</{block.kind}>")
        elif block.kind == "table":
            body.append(_html_table(block))
        elif block.kind == "img":
            data = base64.b64encode(images[block.src]).decode("ascii")
            alt = html.escape(block.text)
            body.append(f'<p><img alt="{alt}" src="data:image/png;base64,{data}"></p>')
        else:
            body.append(f"<p>{_inline(block.text)}</p>")
    head = f'<meta charset="utf-8"><title>{html.escape(title)}</title><style>{_STYLE}</style>'
    return (
        f"<!DOCTYPE html>\n<html>\n<head>{head}</head>\n<body>\n"
        + "\n".join(body)
        + ("\n</body>\n</html>\n")
    )


def strip_png_text(png: bytes) -> bytes:
    """Drop the text and time chunks of a PNG (matplotlib stamps its version there).

    >>> strip_png_text(b"not a png")
    Traceback (most recent call last):
    ...
    ValueError: not a PNG
    """
    signature = b"\x89PNG\r\n\x1a\n"
    if not png.startswith(signature):
        raise ValueError("not a PNG")
    out, pos = [signature], len(signature)
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        end = pos + 12 + length  # length, type, data, crc
        if png[pos + 4 : pos + 8] not in (b"tEXt", b"zTXt", b"iTXt", b"tIME"):
            out.append(png[pos:end])
        pos = end
    return b"".join(out)


def _md_cell(text: str) -> str:
    # A pipe ends a Markdown table cell and a newline ends the row.
    return " ".join(str(text).split()).replace("|", "\\|")


def _inline(text: str) -> str:
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    escaped = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"!?\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', escaped)


def _html_table(block: Block) -> str:
    head = "".join(f"<th>{_inline(h)}</th>" for h in block.headers)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_inline(str(c))}</td>" for c in row) + "</tr>\n"
        for row in block.rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}</tbody>\n</table>"
