"""Text of an uncompressed reportlab PDF, for tests: each shown string decoded by its font.

Small on purpose (no PDF library in the venv): reads the fonts' ToUnicode maps (TrueType
subsets) or Latin-1 (the built-in fonts), and the strings of `Tj`/`TJ` in content streams.
Lines of the page come out in drawing order, one string a line.
"""

from __future__ import annotations

import re

_OBJ = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
_FONT_RES = re.compile(rb"/(F\d+(?:\+\d+)?) (\d+) 0 R")
_TOUNICODE = re.compile(rb"/ToUnicode (\d+) 0 R")
_BFCHAR = re.compile(rb"<([0-9A-Fa-f]+)> <([0-9A-Fa-f]+)>")
_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
_TOKEN = re.compile(rb"/(F\d+(?:\+\d+)?) [\d.]+ Tf|\((?:\\.|[^\\)])*\)")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _objects(pdf: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(2) for m in _OBJ.finditer(pdf)}


def _unescape(raw: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(raw):
        c = raw[i : i + 1]
        if c == b"\\":
            nxt = raw[i + 1 : i + 2]
            octal = re.match(rb"[0-7]{1,3}", raw[i + 1 : i + 4])
            if octal:
                out.append(int(octal.group(0), 8))
                i += 1 + len(octal.group(0))
                continue
            out += _ESCAPES.get(nxt, nxt)
            i += 2
            continue
        out += c
        i += 1
    return bytes(out)


def pdf_text(pdf: bytes) -> str:
    """Every string the PDF shows, decoded, one per line."""
    objects = _objects(pdf)
    maps: dict[bytes, dict[int, str]] = {}
    for body in objects.values():
        for name, ref in _FONT_RES.findall(body):
            font = objects.get(int(ref), b"")
            found = _TOUNICODE.search(font)
            if found is None:
                maps.setdefault(name, {})
                continue
            cmap_obj = objects.get(int(found.group(1)), b"")
            stream = _STREAM.search(cmap_obj)
            table = {
                int(src, 16): chr(int(dst, 16))
                for src, dst in _BFCHAR.findall(stream.group(1) if stream else b"")
            }
            maps[name] = table
    lines: list[str] = []
    for body in objects.values():
        stream = _STREAM.search(body)
        if stream is None or b" Tf" not in stream.group(1):
            continue
        font: dict[int, str] = {}
        for token in _TOKEN.finditer(stream.group(1)):
            if token.group(1) is not None:
                font = maps.get(token.group(1), {})
                continue
            raw = _unescape(token.group(0)[1:-1])
            lines.append(
                "".join(font.get(b, chr(b)) if font else chr(b) for b in raw)
                if font
                else raw.decode("latin-1")
            )
    return "\n".join(lines)
