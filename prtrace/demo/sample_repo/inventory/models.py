"""The item record and money formatting."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    """One stock line. Prices are integer cents: never floats."""

    sku: str
    name: str
    quantity: int
    unit_price_cents: int

    @property
    def value_cents(self) -> int:
        return self.quantity * self.unit_price_cents


def format_cents(cents: int) -> str:
    """Format cents as dollars: 123456 -> '$1,234.56', -5 -> '-$0.05'."""
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}${dollars:,}.{rest:02d}"
