"""Money is Decimal, quantized here and nowhere else."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")
RATE = Decimal("0.000001")  # prices per GPU-hour keep six places; amounts round to the cent


def to_money(value: Decimal | int | str) -> Decimal:
    """Round an amount to the cent, half to even (banker's rounding, as ledgers do)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)


def to_rate(value: Decimal | int | str | float) -> Decimal:
    """A unit price: parsed from its text (never through binary float arithmetic) and kept to 6 places."""
    text = repr(value) if isinstance(value, float) else value
    return Decimal(text).quantize(RATE, rounding=ROUND_HALF_EVEN)
