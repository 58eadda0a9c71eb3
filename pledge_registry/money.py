"""Amounts of money: stored as whole fen (cents), shown and typed in yuan. No Flask."""

from __future__ import annotations

from decimal import Decimal


def yuan_to_cents(value: Decimal | str | None) -> int | None:
    """128.5 yuan (or '128.5') → 12850 fen; None stays None. The caller has checked that it is
    a finite amount with at most two decimals (the forms do)."""
    if value is None:
        return None
    return int((Decimal(value) * 100).to_integral_value())


def cents_to_yuan(cents: int | None) -> str:
    """12850 → '128.50' (for display)."""
    if cents is None:
        return ""
    return f"{cents // 100}.{cents % 100:02d}"
