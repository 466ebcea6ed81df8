"""Numbers as a student reads them (issue 24, item 5): 0.123, 1234, 100%, 1.64 × 10⁻⁶, 6.08 × 10⁵, 10³⁰; never a
programmer's 1.64e-06, 6.08e+05 or 1e30. Every sentence, equation and tick label a widget writes goes through
here (the tick labels through ``charts.axes``).

Nothing here imports the rest of the package, so any module may use it.
"""
from __future__ import annotations

import math

_SUPERSCRIPT = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")
_PLAIN = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
TIMES = " × "


def power_of_ten(exponent: int) -> str:
    """10ⁿ as a lecture writes it: 1, 10, 10², 10⁻³, 10³⁰."""
    return {0: "1", 1: "10"}.get(exponent, "10" + str(exponent).translate(_SUPERSCRIPT))


def scientific(x: float, digits: int = 3) -> str:
    """``x`` with ``digits`` significant digits times a power of ten: 1.64 × 10⁻⁶, 6.08 × 10⁵, 2 × 10³⁰ (a
    mantissa of 1 is kept: 1.00 × 10⁵ says three digits are exact)."""
    mantissa, exponent = f"{x:.{max(1, digits) - 1}e}".split("e")
    return f"{mantissa}{TIMES}{power_of_ten(int(exponent))}"


def fmt(x: float, digits: int = 3) -> str:
    """A short, readable number: 0.123, 100 and 1234 written out, 4.5 × 10⁻⁷ and 1.2 × 10³¹ where writing
    the digits out would take more than a few of them (design.md, contract 6)."""
    if not math.isfinite(x):
        return "∞" if x > 0 else ("−∞" if x < 0 else "NaN")
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e4:
        short = f"{x:.{digits}g}"
        return f"{x:.0f}" if "e" in short else short
    return scientific(x, max(2, digits))


def value_of(text: str) -> float:
    """The number a :func:`fmt` text names (tests read sentences back with it): "1.64 × 10⁻⁶" → 1.64e-06,
    "10³⁰" → 1e30, "1,234" → 1234."""
    text = text.strip().replace(",", "").replace("−", "-")
    if TIMES.strip() in text:
        mantissa, _, power = text.partition("×")
        return float(mantissa) * value_of(power)
    if text.startswith("10") and len(text) > 2 and text[2] in "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺":
        return 10.0 ** int(text[2:].translate(_PLAIN))
    return float(text)
