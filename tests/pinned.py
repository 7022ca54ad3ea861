"""Texts pinned before a refactor: the files under tests/data/pinned hold what the code
rendered then, so a restructuring that changes a byte fails. Update a file only when the
output is meant to change."""

from __future__ import annotations

import re
from pathlib import Path

PINNED = Path(__file__).parent / "data" / "pinned"
_PNG = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")


def without_images(html: str) -> str:
    """Charts are drawn by matplotlib, whose bytes vary with its version: pin the page
    around them, not the pixels."""
    return _PNG.sub("data:image/png;base64,(chart)", html)


def assert_pinned(name: str, text: str) -> None:
    # bytes, not read_text: CSV lines end in \r\n and must stay so
    pinned = (PINNED / name).read_bytes().decode("utf-8")
    assert text == pinned, f"{name} differs from the pin"
