"""No float touches an amount: a scan of the money code, and postings that refuse floats.

What it proves, honestly: the ledger and billing packages contain no float literal, no
`float(...)` call, no `FloatField`, and no true division (`/`) — the usual ways a float is
born in Python — except a division inside an f-string, which becomes display text at once
(a tax rate's label, "8.75%"), never an amount. It cannot prove a float never arrives from
outside (an API schema, a caller); that is what `Posting` refusing anything but `int` is
for (tests/ledger/test_posting.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import medspa

SRC = Path(medspa.__file__).parent
MONEY_PACKAGES = ("ledger", "billing")


def money_modules() -> list[Path]:
    return sorted(
        path
        for package in MONEY_PACKAGES
        if (SRC / package).is_dir()
        for path in (SRC / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def float_births(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    in_text = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in in_text:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            found.append((node.lineno, f"float literal {node.value!r}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "float":
                found.append((node.lineno, "float(...)"))
        elif isinstance(node, ast.Attribute) and node.attr == "FloatField":
            found.append((node.lineno, "FloatField"))
        elif isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ast.Div):
            found.append((node.lineno, "true division '/' (use // or divmod)"))
    return found


def test_the_scan_finds_what_it_looks_for() -> None:
    tree = ast.parse(
        "a = float(x)\nb = 0.5\nc = y / 2\nd = models.FloatField()\ne = f'{bp / 100:g}%'\n"
    )
    assert [line for line, _ in float_births(tree)] == [1, 2, 3, 4]


@pytest.mark.parametrize("path", money_modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_money_code_gives_birth_to_no_float(path: Path) -> None:
    births = float_births(ast.parse(path.read_text(), filename=str(path)))
    assert births == [], f"{path.relative_to(SRC)}: {births}"
