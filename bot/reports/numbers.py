"""A figure that knows how many decimals its document shows.

Availability is read to three decimals (99,854 % is not 99,85 %), minutes to one,
the rest of the figures to two. The value stays a float (CSV cells, comparisons and
sums read it as one); the renderers ask it for its `digits`.
"""

from __future__ import annotations


class Fixed(float):
    """`Fixed(99.8541, 3)`: 99.854, shown with three decimals."""

    digits: int

    def __new__(cls, value: float, digits: int) -> Fixed:
        obj = super().__new__(cls, round(value, digits))
        obj.digits = digits
        return obj

    def __reduce__(self) -> tuple[type[Fixed], tuple[float, int]]:
        return (Fixed, (float(self), self.digits))


def fixed(value: float | None, digits: int) -> Fixed | None:
    """None (no figure) stays None: the documents show it as "-"."""
    return None if value is None else Fixed(value, digits)
