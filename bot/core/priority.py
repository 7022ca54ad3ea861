"""Priority from impact × urgency, the standard ITIL matrix that the guideline's
incident-handling priority form asks for (1 Critical … 4 Low)."""

from __future__ import annotations

_MATRIX: dict[tuple[int, int], int] = {
    (1, 1): 1, (1, 2): 2, (1, 3): 3,
    (2, 1): 2, (2, 2): 3, (2, 3): 4,
    (3, 1): 3, (3, 2): 4, (3, 3): 4,
}  # fmt: skip

PRIORITY_NAMES = {1: "kritis", 2: "tinggi", 3: "sedang", 4: "rendah"}


def priority_for(impact: int, urgency: int) -> int:
    """Impact and urgency are 1 (high) … 3 (low)."""
    try:
        return _MATRIX[(int(impact), int(urgency))]
    except KeyError:
        raise ValueError(f"impact and urgency must be 1..3, got {impact}, {urgency}") from None
