"""The package's docstrings carry the papers' equations; Python must not eat their LaTeX backslashes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import spikebook

SOURCES = sorted(Path(spikebook.__file__).parent.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_no_string_literal_holds_an_escaped_control_character(path: Path) -> None:
    r"""``"\theta"`` in a non-raw string is a tab followed by ``heta``: write ``r"\theta"`` or ``"\\theta"``."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            bad = sorted({c for c in node.value if c in "\t\b\f\a\v\r"})
            assert not bad, f"{path}:{node.lineno}: control characters {bad} in {node.value[:60]!r}"
